"""Finding the packages of a `datapackage` source: what its URL answers, read through the
`Fetcher` (only http and https; the fetcher's address rules apply), turned into `Candidate`s,
the descriptor URLs that `datapackage` then reads one by one.

The source URL is one of (decided by what it answers, not by its name):
- a package: a JSON object (a descriptor, e.g. `.../datapackage.json`);
- an index: a JSON list of package URLs, or an object `{"packages": [...]}` of them; each
  relative to the index, a URL ending in `/` meaning `<folder>/datapackage.json`;
- a directory listing: an HTML page (what `python -m http.server`, nginx `autoindex` or
  Apache print for a folder): its links to a `.../datapackage.json` (wherever it is), and its
  links to direct subfolders, each looked up as `<subfolder>/datapackage.json`; a subfolder
  without one (404) is skipped. One level deep: links to the parent, to other folders or
  hosts, and sort links (`?C=N;O=D`) are ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from .fetch import Fetcher, FetchError

ACCEPT = "application/json, text/html;q=0.8, */*;q=0.1"
DESCRIPTOR = "datapackage.json"
MAX_DESCRIPTOR_BYTES = 5 << 20  # a descriptor, an index or a directory page
MAX_PACKAGES = 5000


@dataclass
class Candidate:
    """A package of the source: its descriptor's URL, the descriptor when already read, and
    whether it is only a guess (a subfolder of a listing, which may hold no package)."""

    url: str
    descriptor: Any = None
    probe: bool = False


def listing(url: str, fetcher: Fetcher) -> list[Candidate]:
    """The packages of the source at `url` (see the module's docstring for the formats)."""
    fetched = fetcher.get(url, accept=ACCEPT, max_bytes=MAX_DESCRIPTOR_BYTES)
    base, site = fetched.url, host(fetched.url)
    body = fetched.content
    if fetched.content_type in ("text/html", "application/xhtml+xml") or body.lstrip()[:1] == b"<":
        charset = fetched.headers.get("content-type", "").partition("charset=")[2].strip(" \"'") or "utf-8"
        try:
            text = body.decode(charset, errors="replace")
        except LookupError:
            text = body.decode("utf-8", errors="replace")
        candidates = _from_links(base, _links(text))
        if not candidates:
            raise FetchError("invalid", f"{site} 的目录页中没有找到数据包（datapackage.json 或子目录）", url=base)
        return _capped(candidates, base)
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (ValueError, RecursionError):
        raise FetchError("invalid", f"{site} 返回的内容既不是数据包描述（JSON），也不是目录页（HTML）", url=base) from None
    entries = data.get("packages") if isinstance(data, dict) and "resources" not in data else data
    if isinstance(data, dict) and not isinstance(entries, list):
        return [Candidate(base, data)]  # a descriptor (perhaps a broken one: the package says so)
    if not isinstance(entries, list):
        raise FetchError("invalid", f"{site} 返回的 JSON 既不是数据包描述，也不是数据包地址的列表", url=base)
    candidates = []
    for entry in entries:
        target = (entry.get("url") or entry.get("path")) if isinstance(entry, dict) else entry
        if isinstance(target, str) and target.strip():
            absolute = urldefrag(urljoin(base, target.strip()))[0]
            candidates.append(Candidate(absolute + DESCRIPTOR if absolute.endswith("/") else absolute))
    if entries and not candidates:
        raise FetchError("invalid", f"{site} 的数据包列表中没有可用的地址（应为字符串或含 url 的对象）", url=base)
    return _capped(candidates, base)


def _capped(candidates: list[Candidate], base: str) -> list[Candidate]:
    unique = list({c.url: c for c in candidates if urlsplit(c.url).scheme in ("http", "https")}.values())
    if len(unique) > MAX_PACKAGES:
        raise FetchError("invalid", f"{host(base)} 列出的数据包超过 {MAX_PACKAGES} 个，请分成几个来源", url=base)
    return unique


class _LinkParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.links += [value for name, value in attrs if name == "href" and value]


def _links(html: str) -> list[str]:
    parser = _LinkParser()
    parser.feed(html)
    parser.close()
    return parser.links


def _from_links(base: str, links: list[str]) -> list[Candidate]:
    """A listing's packages: links to a datapackage.json, and to direct subfolders (probed)."""
    folder = base if urlsplit(base).path.endswith("/") else urljoin(base, ".")
    found = []
    for href in links:
        target = urldefrag(urljoin(base, href.strip()))[0]
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https"):
            continue
        if parts.path.endswith("/" + DESCRIPTOR):
            found.append(Candidate(target))
        elif not parts.query and target.startswith(folder) and target.endswith("/") and target[len(folder):].count("/") == 1:
            found.append(Candidate(target + DESCRIPTOR, probe=True))
    return found


def host(url: str) -> str:
    """The URL's host name, for messages."""
    return urlsplit(url).hostname or url
