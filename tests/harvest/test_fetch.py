"""`harvest.fetch` against the local server: retries, timeouts, byte caps after decompression,
and the address checks (no real DNS: outside names are answered by a patched getaddrinfo)."""

from __future__ import annotations

import base64
import datetime
import ipaddress
import logging
import socket
import ssl
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harvest import fetch
from harvest.fetch import MB, FetchError, Fetcher, redact_url

from .server import PayloadServer, Reply, gzipped, json_body, redirect

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)


@pytest.fixture(scope="module")
def shared_server() -> Iterator[PayloadServer]:
    with PayloadServer() as payload_server:  # one for the module: stopping one takes half a second
        yield payload_server


@pytest.fixture
def server(shared_server: PayloadServer) -> PayloadServer:
    shared_server.routes.clear()
    shared_server.requests.clear()
    shared_server.request_headers.clear()
    return shared_server


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every address the fetcher connects to."""
    seen: list[tuple[str, int]] = []
    real = socket.create_connection

    def spy(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        seen.append(address)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(fetch.socket, "create_connection", spy)
    return seen


def resolve(monkeypatch: pytest.MonkeyPatch, names: dict[str, list[str]]) -> list[str]:
    """Answer getaddrinfo for `names` (each call pops the next answer when several are given as
    "a|b"); literal addresses go to the real function. Returns the names looked up."""
    looked_up: list[str] = []
    real = socket.getaddrinfo

    def fake(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in names:
            return real(host, port, *args, **kwargs)
        looked_up.append(host)
        answers = names[host].pop(0).split("|") if len(names[host]) > 1 else names[host][0].split("|")
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in answers]

    monkeypatch.setattr(fetch.socket, "getaddrinfo", fake)
    return looked_up


def local(sleeps: list[float], **kwargs: Any) -> Fetcher:
    """A fetcher allowed loopback only, as the tests' sources are; sleeps recorded, not slept."""
    return Fetcher(**{"allowed_networks": LOOPBACK, "timeout": 2.0, "backoff": 0.25, "sleep": sleeps.append, **kwargs})


def gzip_bomb(size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31, 9, zlib.Z_RLE)  # as small, and faster
    zeros = bytes(MB)
    return b"".join(compressor.compress(zeros) for _ in range(size // MB)) + compressor.flush()


# -- fetching -----------------------------------------------------------------------------------


def test_json_with_chinese_content(server: PayloadServer, sleeps: list[float]) -> None:
    data = {"result": {"title": "经开区企业名录", "tags": ["工业", "统计"]}}
    server.route("/api/3/action/package_show?id=1", json_body(data))
    assert local(sleeps).get_json(server.url("/api/3/action/package_show?id=1")) == data
    fetched = local(sleeps).get(server.url("/api/3/action/package_show?id=1"))
    assert fetched.status == 200 and fetched.content_type == "application/json"
    assert fetched.url == server.url("/api/3/action/package_show?id=1")
    headers = server.request_headers[-1]
    assert headers["Host"] == f"127.0.0.1:{server.port}" and headers["User-Agent"] == "zone-portal-harvester/1.0"
    assert "gzip" in headers["Accept-Encoding"]


def test_gzip_and_bom_json(server: PayloadServer, sleeps: list[float]) -> None:
    server.route("/gz", gzipped(json_body({"名称": "道路"})))
    server.route("/bom", Reply(200, "\ufeff[1, 2]".encode("utf-8")))
    server.route("/html", Reply(200, "<html>维护中</html>".encode("utf-8")))
    assert local(sleeps).get_json(server.url("/gz")) == {"名称": "道路"}
    assert local(sleeps).get_json(server.url("/bom")) == [1, 2]
    with pytest.raises(FetchError) as caught:
        local(sleeps).get_json(server.url("/html"))
    assert caught.value.kind == "invalid" and caught.value.message == "127.0.0.1 返回的内容不是有效的 JSON"


def test_500_is_retried_with_backoff_then_fails(server: PayloadServer, sleeps: list[float], caplog: pytest.LogCaptureFixture) -> None:
    server.route("/boom", Reply(status=500, body=b"internal secret stack"))
    caplog.set_level(logging.INFO, logger="harvest.fetch")
    with pytest.raises(FetchError) as caught:
        local(sleeps, retries=2).get(server.url("/boom"))
    assert (caught.value.kind, caught.value.status, caught.value.message) == ("http", 500, "127.0.0.1 返回 HTTP 500")
    assert len(server.requests) == 3 and sleeps == [0.25, 0.5]
    lines = [r.getMessage() for r in caplog.records if r.name == "harvest.fetch"]
    assert len(lines) == 2 and all("127.0.0.1" in line and "HTTP 500" in line for line in lines)
    assert "secret" not in caplog.text


def test_503_twice_then_200(server: PayloadServer, sleeps: list[float]) -> None:
    replies = [Reply(503), Reply(503, headers={"Retry-After": "2"}), json_body({"ok": True})]
    server.route("/flaky", lambda path: replies.pop(0))
    assert local(sleeps).get_json(server.url("/flaky")) == {"ok": True}
    assert len(server.requests) == 3 and sleeps == [0.25, 2.0]  # the backoff, then Retry-After


def test_retry_after_has_a_ceiling_and_4xx_is_not_retried(server: PayloadServer, sleeps: list[float]) -> None:
    server.route("/busy", Reply(429, headers={"Retry-After": "3600"}))
    server.route("/gone", Reply(404))
    with pytest.raises(FetchError) as caught:
        local(sleeps, retries=1).get(server.url("/busy"))
    assert caught.value.status == 429 and sleeps == [30.0]
    with pytest.raises(FetchError) as caught:
        local(sleeps).get(server.url("/gone"))
    assert caught.value.status == 404 and server.requests.count("/gone") == 1


def test_slow_server_times_out(server: PayloadServer, sleeps: list[float]) -> None:
    server.route("/slow", Reply(200, b"late", delay=1.5))
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        local(sleeps, timeout=0.5, retries=1).get(server.url("/slow"))
    assert caught.value.kind == "timeout" and caught.value.message == "无法访问 127.0.0.1：连接超时（0.5 秒）"
    assert len(server.requests) == 2 and time.monotonic() - started < 1.4


def test_trickling_server_is_cut_off_by_the_deadline(server: PayloadServer, sleeps: list[float]) -> None:
    def trickle() -> Iterator[bytes]:
        for _ in range(100):
            yield b"x"
            time.sleep(0.1)

    server.route("/trickle", Reply(200, stream=trickle))
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        local(sleeps, timeout=0.5, total_timeout=1.0).get(server.url("/trickle"))
    assert caught.value.kind == "timeout" and "总时限（1 秒）" in caught.value.message
    assert len(server.requests) == 1 and time.monotonic() - started < 2.0  # not retried


def test_body_over_the_cap(server: PayloadServer, sleeps: list[float]) -> None:
    def endless() -> Iterator[bytes]:
        for _ in range(1000):  # 64 MB if it were all read
            yield bytes(64 * 1024)

    server.route("/big", Reply(200, bytes(5000)))
    server.route("/stream", Reply(200, stream=endless))
    with pytest.raises(FetchError) as caught:
        local(sleeps).get(server.url("/big"), max_bytes=4000)
    assert caught.value.kind == "too-large" and caught.value.message == "127.0.0.1 的响应超过大小上限 3.9 KB"
    assert len(local(sleeps).get(server.url("/big"), max_bytes=5000).content) == 5000
    with pytest.raises(FetchError) as caught:
        local(sleeps, max_bytes=MB).get(server.url("/stream"))
    assert caught.value.kind == "too-large" and caught.value.message.endswith("大小上限 1 MB")
    assert server.requests.count("/stream") == 1  # never retried


def test_gzip_bomb_is_refused_without_inflating_it(server: PayloadServer, sleeps: list[float]) -> None:
    bomb = gzip_bomb(100 * MB)
    assert len(bomb) < 150 * 1024
    server.route("/bomb", Reply(200, bomb, {"Content-Encoding": "gzip", "Content-Type": "application/json"}))
    tracemalloc.start()
    try:
        with pytest.raises(FetchError) as caught:
            local(sleeps, max_bytes=MB).get(server.url("/bomb"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert caught.value.kind == "too-large" and peak < 8 * MB
    server.route("/small", Reply(200, gzip_bomb(2 * MB), {"Content-Encoding": "gzip"}))
    assert local(sleeps, max_bytes=2 * MB).get(server.url("/small")).content == bytes(2 * MB)


# -- addresses, schemes, redirects ------------------------------------------------------------


def test_redirects_are_followed(server: PayloadServer, sleeps: list[float]) -> None:
    server.route("/old", redirect("/new?page=2", 301))
    server.route("/new", json_body([1]))
    fetched = local(sleeps).get(server.url("/old"))
    assert fetched.content == b"[1]" and fetched.url == server.url("/new?page=2")


@pytest.mark.parametrize("target", ["http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/", "http://[::ffff:10.0.0.1]/",
                                    "http://100.100.100.200/latest/meta-data/", "http://[fd00:ec2::254]/", "http://192.168.1.1:8080/"])
def test_redirect_to_a_private_address_is_refused_without_connecting(server: PayloadServer, sleeps: list[float],
                                                                     connects: list[tuple[str, int]], target: str) -> None:
    server.route("/go", redirect(target))
    with pytest.raises(FetchError) as caught:
        local(sleeps).get(server.url("/go"))
    assert caught.value.kind == "blocked" and server.requests == ["/go"]
    assert connects == [("127.0.0.1", server.port)]
    assert "云元数据" in caught.value.message or caught.value.message.endswith("（来源未被允许访问内网）")


def test_the_bureau_allows_private_addresses_but_never_metadata(server: PayloadServer, sleeps: list[float],
                                                                connects: list[tuple[str, int]]) -> None:
    server.route("/x", json_body({"内网": True}))
    assert Fetcher(allow_private=True).get_json(server.url("/x")) == {"内网": True}
    with pytest.raises(FetchError) as caught:
        Fetcher(allow_private=True).get("http://169.254.169.254/latest/meta-data/")
    assert caught.value.kind == "blocked" and caught.value.message == "不允许访问云元数据地址：169.254.169.254"
    assert connects == [("127.0.0.1", server.port)]


@pytest.mark.parametrize("url", ["http://localhost/", "http://[::1]/", "http://0.0.0.0/", "http://2130706433/",
                                 "http://[::ffff:127.0.0.1]/", "http://10.1.2.3/", "http://172.16.0.1/", "http://100.64.0.1/",
                                 "http://[fe80::1]/", "http://[fc00::1]/", "http://224.0.0.1/", "http://240.0.0.1/"])
def test_a_plain_fetcher_refuses_local_and_private_addresses(url: str, connects: list[tuple[str, int]]) -> None:
    with pytest.raises(FetchError) as caught:
        Fetcher().get(url)
    assert caught.value.kind == "blocked" and "不允许访问内网或本机地址" in caught.value.message and connects == []


def test_a_plain_fetcher_refuses_the_local_server(server: PayloadServer) -> None:
    server.route("/", json_body({}))
    with pytest.raises(FetchError) as caught:
        Fetcher().get(server.url("/"))
    assert caught.value.message == "不允许访问内网或本机地址：127.0.0.1（来源未被允许访问内网）" and server.requests == []
    with pytest.raises(FetchError) as caught:
        Fetcher().get("http://2130706433/")
    assert caught.value.message == "不允许访问内网或本机地址：2130706433（127.0.0.1）（来源未被允许访问内网）"


def test_hostnames_are_resolved_once_and_every_address_checked(server: PayloadServer, sleeps: list[float], monkeypatch: pytest.MonkeyPatch,
                                                               connects: list[tuple[str, int]]) -> None:
    looked_up = resolve(monkeypatch, {"intranet.example": ["127.0.0.1"], "mixed.example": ["93.184.216.34|10.0.0.1"],
                                      "rebind.example": ["127.0.0.1", "10.0.0.1"]})
    with pytest.raises(FetchError) as caught:
        Fetcher().get("http://intranet.example/")
    assert caught.value.message == "不允许访问内网或本机地址：intranet.example（127.0.0.1）（来源未被允许访问内网）"
    with pytest.raises(FetchError) as caught:
        Fetcher().get("http://mixed.example/")
    assert caught.value.kind == "blocked" and "10.0.0.1" in caught.value.message and connects == []
    server.route("/catalog", json_body({"ok": 1}))
    assert local(sleeps).get_json(f"http://rebind.example:{server.port}/catalog") == {"ok": 1}  # the checked address is used
    assert looked_up.count("rebind.example") == 1 and connects == [("127.0.0.1", server.port)]
    assert server.request_headers[-1]["Host"] == f"rebind.example:{server.port}"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/data.csv", "gopher://example.org/", "//example.org/x"])
def test_only_http_and_https(url: str) -> None:
    with pytest.raises(FetchError) as caught:
        Fetcher(allow_private=True).get(url)
    assert caught.value.kind == "blocked" and "只允许 http 和 https" in caught.value.message


def test_redirect_loops_and_other_schemes(server: PayloadServer, sleeps: list[float]) -> None:
    server.route("/loop", redirect("/loop"))
    server.route("/ftp", redirect("ftp://example.org/x"))
    with pytest.raises(FetchError) as caught:
        local(sleeps, max_redirects=3).get(server.url("/loop"))
    assert (caught.value.kind, caught.value.status) == ("http", 302) and "重定向次数过多（超过 3 次）" in caught.value.message
    assert server.requests == ["/loop"] * 4
    with pytest.raises(FetchError) as caught:
        local(sleeps).get(server.url("/ftp"))
    assert caught.value.kind == "blocked"


def test_credentials_are_sent_but_never_shown(server: PayloadServer, sleeps: list[float], caplog: pytest.LogCaptureFixture) -> None:
    server.route("/private", Reply(503))
    caplog.set_level(logging.DEBUG, logger="harvest.fetch")
    url = f"http://harvester:s3cret@127.0.0.1:{server.port}/private?api_key=TOPSECRET&page=2"
    with pytest.raises(FetchError) as caught:
        local(sleeps, retries=1).get(url)
    error = caught.value
    assert error.url == f"http://127.0.0.1:{server.port}/private?api_key=***&page=2" == redact_url(url)
    assert server.request_headers[0]["Authorization"] == "Basic " + base64.b64encode(b"harvester:s3cret").decode()
    for text in (error.message, error.url, str(error), caplog.text):
        assert "s3cret" not in text and "TOPSECRET" not in text


def test_connection_refused(sleeps: list[float]) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(FetchError) as caught:
        local(sleeps, retries=1).get(f"http://127.0.0.1:{port}/")
    assert caught.value.kind == "network" and caught.value.message == "无法访问 127.0.0.1：连接被拒绝" and len(sleeps) == 1


# -- download -----------------------------------------------------------------------------------


def test_download_streams_to_a_file_and_removes_it_when_too_large(server: PayloadServer, sleeps: list[float], tmp_path: Path) -> None:
    body = "序号,企业名称\n1,合肥某科技有限公司\n".encode("utf-8") * 1000
    server.route("/data.csv", gzipped(Reply(200, body, {"Content-Type": "text/csv"})))
    dest = tmp_path / "data.csv"
    fetched = local(sleeps).download(server.url("/data.csv"), dest)
    assert dest.read_bytes() == body and fetched.content == b"" and fetched.content_type == "text/csv"
    with pytest.raises(FetchError) as caught:
        local(sleeps).download(server.url("/data.csv"), dest, max_bytes=len(body) - 1)
    assert caught.value.kind == "too-large" and not dest.exists()


# -- https --------------------------------------------------------------------------------------


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a certificate for catalog.example it signed: (ca.pem, cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "catalog.example")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("catalog.example")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return paths


def test_https_checks_the_certificate_against_the_hostname(tmp_path: Path, sleeps: list[float], monkeypatch: pytest.MonkeyPatch,
                                                           connects: list[tuple[str, int]]) -> None:
    ca, cert, key = _certificates(tmp_path)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    names: list[str | None] = []
    server_context.sni_callback = lambda sock, name, context: names.append(name)  # type: ignore[assignment,func-returns-value]
    resolve(monkeypatch, {"catalog.example": ["127.0.0.1"], "other.example": ["127.0.0.1"]})
    with PayloadServer(ssl_context=server_context) as server:
        server.route("/catalog.jsonld", json_body({"@type": "dcat:Catalog"}))
        fetcher = local(sleeps, ssl_context=ssl.create_default_context(cafile=str(ca)))
        assert fetcher.get_json(f"https://catalog.example:{server.port}/catalog.jsonld") == {"@type": "dcat:Catalog"}
        assert names == ["catalog.example"] and server.request_headers[-1]["Host"] == f"catalog.example:{server.port}"
        with pytest.raises(FetchError) as caught:
            fetcher.get(f"https://other.example:{server.port}/catalog.jsonld")
        assert caught.value.kind == "network" and caught.value.message == "无法访问 other.example：证书验证失败"
        with pytest.raises(FetchError) as caught:
            local(sleeps).get(f"https://catalog.example:{server.port}/catalog.jsonld")  # the system CAs do not know this one
        assert caught.value.message == "无法访问 catalog.example：证书验证失败"
    assert sleeps == [] and set(connects) == {("127.0.0.1", server.port)}
