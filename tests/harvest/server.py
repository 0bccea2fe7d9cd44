"""A small local HTTP server for the harvest tests: the edge of the world. Routes map a path
(with its query string, or without it as a fallback) to a recorded payload or a behaviour:
a status, a slow answer, a huge or gzip-compressed body, a redirect.

    with PayloadServer() as server:
        server.route("/api/3/action/package_search?rows=2&start=0", json_body({...}))
        server.route("/boom", Reply(status=500))
        url = server.url("/boom")
"""

from __future__ import annotations

import gzip
import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    stream: Callable[[], Iterator[bytes]] | None = None  # a body of unknown length, written chunk by chunk


def json_body(data: Any, *, status: int = 200) -> Reply:
    return Reply(status, json.dumps(data, ensure_ascii=False).encode("utf-8"), {"Content-Type": "application/json; charset=utf-8"})


def file_body(path: Path, content_type: str = "application/octet-stream") -> Reply:
    return Reply(200, path.read_bytes(), {"Content-Type": content_type})


def gzipped(reply: Reply) -> Reply:
    return Reply(reply.status, gzip.compress(reply.body), {**reply.headers, "Content-Encoding": "gzip"}, reply.delay)


def redirect(location: str, status: int = 302) -> Reply:
    return Reply(status, b"", {"Location": location})


class PayloadServer:
    """Serves `routes` on 127.0.0.1 at a free port in a thread; records every request path (and
    its headers in `request_headers`). With `ssl_context` (a server-side context) it speaks
    HTTPS."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Reply | Callable[[str], Reply]] = {}
        self.requests: list[str] = []
        self.request_headers: list[dict[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                outer.requests.append(self.path)
                outer.request_headers.append(dict(self.headers.items()))
                route = outer.routes.get(self.path) or outer.routes.get(self.path.split("?")[0])
                reply = (route(self.path) if callable(route) else route) if route is not None else Reply(404, b"not found")
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    if reply.stream is not None:
                        self.send_header("Connection", "close")
                        self.end_headers()
                        for chunk in reply.stream():
                            self.wfile.write(chunk)
                        self.close_connection = True
                        return
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up (a timeout, a byte cap)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.scheme = "http"
        if ssl_context is not None:
            self.httpd.socket = ssl_context.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def route(self, path: str, reply: Reply | Callable[[str], Reply]) -> None:
        self.routes[path] = reply

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def url(self, path: str = "/") -> str:
        return f"{self.scheme}://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def __enter__(self) -> PayloadServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class FolderServer:
    """Serves the files of `folder` on 127.0.0.1 at a free port in a thread, exactly as
    `python -m http.server` does (directory listings included); records every request path.

        with FolderServer(tmp_path / "datasets") as server:
            url = server.url("/bus-lines-stops/datapackage.json")
    """

    def __init__(self, folder: Path) -> None:
        self.requests: list[str] = []
        outer = self

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                outer.requests.append(self.path)
                super().do_GET()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(folder)))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def __enter__(self) -> FolderServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# -- a CKAN site from recorded payloads ------------------------------------------------------

PAYLOADS = Path(__file__).parent / "payloads"


def load_payload(relative: str, site: str) -> Any:
    """A recorded JSON payload with "{site}" replaced by the server's address."""
    return json.loads((PAYLOADS / relative).read_text(encoding="utf-8").replace("{site}", site))


class CkanSite:
    """CKAN's Action API over recorded packages (`payloads/ckan/packages.json`), served by a
    `PayloadServer` at `/api/3/action/`: `package_search` pages as CKAN does (`rows`, `start`,
    `sort=id asc`, `fq=metadata_modified:[... TO *]`), `status_show`, and the packages' files.
    Tests change `packages` (edit, remove, add back) between jobs, and can make a page fail
    (`fail_start`: the offset answered 500), ignore `start` (`ignore_start`: every page is the
    first) or answer CKAN's error envelope (`error`)."""

    def __init__(self, server: PayloadServer, *, prefix: str = "/api/3/action/") -> None:
        self.server, self.prefix = server, prefix
        self.site = server.url("").rstrip("/")
        self.packages: list[dict[str, Any]] = load_payload("ckan/packages.json", self.site)
        self.fail_start: int | None = None
        self.ignore_start = False
        self.error: dict[str, Any] | None = None
        server.route(prefix + "package_search", self._search)
        server.route(prefix + "status_show", json_body(load_payload("ckan/status_show.json", self.site)))
        parking = (PAYLOADS / "ckan" / "files" / "parking-spaces.csv").read_bytes()
        server.route("/dataset/parking-spaces/resource/c2e1f0a9/download/parking-spaces.csv",
                     Reply(200, parking, {"Content-Type": "text/csv; charset=utf-8"}))

    def package(self, name: str) -> dict[str, Any]:
        return next(p for p in self.packages if p["name"] == name)

    def remove(self, name: str) -> dict[str, Any]:
        package = self.package(name)
        self.packages.remove(package)
        return package

    def searches(self) -> list[dict[str, str]]:
        """The query parameters of every package_search request so far."""
        from urllib.parse import parse_qsl, urlsplit

        return [dict(parse_qsl(urlsplit(p).query)) for p in self.server.requests if urlsplit(p).path == self.prefix + "package_search"]

    def _search(self, path: str) -> Reply:
        import re
        from urllib.parse import parse_qsl, urlsplit

        if self.error is not None:
            return json_body(self.error)
        params = dict(parse_qsl(urlsplit(path).query))
        rows, start = int(params.get("rows", 10)), int(params.get("start", 0))
        if self.fail_start is not None and start == self.fail_start:
            return Reply(500, b"Internal Server Error")
        found = sorted(self.packages, key=lambda p: str(p.get("id") or ""))
        if match := re.fullmatch(r"metadata_modified:\[(\S+) TO \*\]", params.get("fq", "")):
            since = match.group(1).rstrip("Z")
            found = [p for p in found if str(p.get("metadata_modified") or "") >= since]
        if self.ignore_start:
            start = 0
        page = found[start:start + rows]
        return json_body({
            "help": f"{self.site}/api/3/action/help_show?name=package_search",
            "success": True,
            "result": {"count": len(found), "facets": {}, "results": page, "sort": params.get("sort", "score desc, metadata_modified desc"), "search_facets": {}},
        })


class Clock:
    """A job's clock that tests move: `clock()` is now, `advance(days=8)` moves it on."""

    def __init__(self, now: Any) -> None:
        self.now = now

    def __call__(self) -> Any:
        return self.now

    def advance(self, **delta: float) -> None:
        from datetime import timedelta

        self.now = self.now + timedelta(**delta)
