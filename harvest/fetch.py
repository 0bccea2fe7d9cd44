"""The only module of `harvest` that makes HTTP requests (standard library only).

A connect and read timeout and an overall deadline per response (a trickling server is cut off);
a byte cap on the body *after* decompression, inflated in bounded steps (a gzip bomb is refused
without being inflated); retries with exponential backoff on connection errors, timeouts, 408,
429 and 5xx (Retry-After honoured up to a ceiling); redirects followed by hand. No request to a
loopback, private, link-local, shared, multicast, reserved or unspecified address: at every
redirect and attempt the host is resolved once, every address checked (IPv4 inside IPv6 too)
and the connection made to the checked address (no DNS rebinding; Host, SNI and the certificate
use the URL's host); unless `allow_private` (a source the Bureau allowed) or the address lies in
`allowed_networks` (the tests' loopback). Cloud metadata addresses are refused even then. Only
http and https; no proxy. Errors are `FetchError`, a Chinese message naming the URL's host
(never its userinfo or query); bodies are never logged.
"""

from __future__ import annotations

import base64
import email.utils
import functools
import ipaddress
import json
import logging
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.client import HTTPConnection, HTTPException, HTTPResponse
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, quote, unquote, urljoin, urlsplit, urlunsplit

log = logging.getLogger(__name__)

MB = 1 << 20
CHUNK = 64 * 1024
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# AWS/Huawei/Baidu and others, AWS ECS, Tencent Cloud, Alibaba Cloud, AWS over IPv6.
METADATA = frozenset(map(ipaddress.ip_address, ("169.254.169.254", "169.254.170.2", "169.254.0.23", "100.100.100.200", "fd00:ec2::254")))
SHARED = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
REDIRECTS = frozenset({301, 302, 303, 307, 308})
SECRET_WORDS = ("key", "token", "secret", "pass", "sig", "auth", "credential", "session")
_SAFE = "/%:@!$&'()*+,;=-._~?"
_system_context = functools.cache(ssl.create_default_context)  # the system's CAs, hostnames checked


class FetchError(Exception):
    """A fetch that failed for good: `kind` is one of "blocked" (a forbidden address or
    scheme), "timeout", "too-large", "http" (a status that is not 2xx after retries, or too many
    redirects; `status` set), "network", "invalid" (a body that is not what was asked, e.g. not
    JSON, or a malformed URL). `url` is redacted (`redact_url`)."""

    def __init__(self, kind: str, message: str, *, url: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.kind, self.message, self.url, self.status = kind, message, url, status


class _Retry(Exception):
    """A transient failure: `error` is raised when no attempt is left."""

    def __init__(self, error: FetchError, reason: str, after: float | None = None) -> None:
        super().__init__(error.message)
        self.error, self.reason, self.after = error, reason, after


@dataclass
class Fetched:
    url: str  # the final URL after redirects
    status: int
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    content: bytes = b""

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


def redact_url(url: str) -> str:
    """`url` without userinfo or fragment, secret-looking query values masked: fit for messages."""
    try:
        parts = urlsplit(url)
        pairs = (p.partition("=") for p in parts.query.split("&") if p)
        query = "&".join(k + "=***" if any(w in unquote(k).lower() for w in SECRET_WORDS) else k + s + v for k, s, v in pairs)
        return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, query, ""))
    except ValueError:
        return ""


def _size(n: int) -> str:
    return f"{round(n / MB, 1):g} MB" if n >= MB else f"{round(n / 1024, 1):g} KB" if n >= 1024 else f"{n} 字节"


def _embedded(ip: IPAddress) -> list[IPAddress]:
    """`ip` and the IPv4 addresses it carries (mapped, 6to4, Teredo, NAT64)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return [ip]
    if ip.ipv4_mapped:
        return [ip.ipv4_mapped]
    found: list[IPAddress] = [ip, *([ip.sixtofour] if ip.sixtofour else []), *(ip.teredo or ())]
    return found + [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)] if ip in NAT64 else found


def _is_public(ip: IPAddress) -> bool:
    return ip.is_global and not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                                 or ip.is_reserved or ip.is_unspecified or ip in SHARED)


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (delta-seconds or an HTTP date), None when absent or unreadable."""
    value = (value or "").strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


@dataclass
class Fetcher:
    allow_private: bool = False  # the Bureau allowed the source: any address but cloud metadata
    timeout: float = 30.0  # seconds, connect and each read
    max_bytes: int = 50 * MB  # per response body, after decompression
    retries: int = 3  # further attempts after the first
    backoff: float = 0.5  # seconds; doubled at each retry
    max_redirects: int = 5
    user_agent: str = "zone-portal-harvester/1.0"
    allowed_networks: tuple[Network, ...] = ()  # allowed although not public (e.g. 127.0.0.0/8 in tests)
    total_timeout: float | None = None  # seconds for one response, headers to last byte; default 4 × timeout
    retry_after_ceiling: float = 30.0  # seconds: the longest wait between attempts
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False)  # default: system CAs, hostname checked
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def get(self, url: str, *, accept: str = "*/*", max_bytes: int | None = None) -> Fetched:
        """GET `url`; a 2xx response with its (decompressed) body, else FetchError."""
        body = bytearray()

        def collect(chunks: Iterator[bytes]) -> None:
            body.clear()
            for chunk in chunks:
                body.extend(chunk)

        fetched = self._request(url, accept, self.max_bytes if max_bytes is None else max_bytes, collect)
        fetched.content = bytes(body)
        return fetched

    def get_json(self, url: str, *, max_bytes: int | None = None) -> Any:
        """GET `url` and parse its body as JSON (FetchError "invalid" when it is not)."""
        fetched = self.get(url, accept="application/json, */*;q=0.1", max_bytes=max_bytes)
        try:
            return json.loads(fetched.content.decode("utf-8-sig"))
        except (ValueError, RecursionError):
            host = urlsplit(fetched.url).hostname
            raise FetchError("invalid", f"{host} 返回的内容不是有效的 JSON", url=redact_url(fetched.url), status=fetched.status) from None

    def download(self, url: str, dest: Path, *, max_bytes: int | None = None) -> Fetched:
        """Stream `url` into the file `dest` (created or truncated) without holding it in
        memory; the returned `Fetched` has an empty `content`. A body over the cap is refused
        and `dest` removed (as after any failure)."""

        def write(chunks: Iterator[bytes]) -> None:
            with open(dest, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)

        try:
            return self._request(url, "*/*", self.max_bytes if max_bytes is None else max_bytes, write)
        except BaseException:
            Path(dest).unlink(missing_ok=True)
            raise

    # -- the request: redirects, retries, one attempt ------------------------------------------

    def _request(self, url: str, accept: str, cap: int, consume: Callable[[Iterator[bytes]], None]) -> Fetched:
        current = url
        for _hop in range(self.max_redirects + 1):
            parts = self._parse(current)
            status, headers, location = self._with_retries(current, parts, accept, cap, consume)
            if location is None:
                return Fetched(current, status, headers)
            current = urljoin(current, location)
        raise FetchError("http", f"{parts.hostname} 重定向次数过多（超过 {self.max_redirects} 次）", url=redact_url(current), status=status)

    def _parse(self, url: str) -> SplitResult:
        try:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https"):
                raise FetchError("blocked", f"不支持的地址协议：{parts.scheme or '（无）'}（只允许 http 和 https）", url=redact_url(url))
            if parts.hostname and (parts.port or 0) >= 0:  # .port raises ValueError when not a port
                return parts
        except ValueError:
            pass
        raise FetchError("invalid", f"地址无效：{redact_url(url)}", url=redact_url(url))

    def _with_retries(self, url: str, parts: SplitResult, accept: str, cap: int,
                      consume: Callable[[Iterator[bytes]], None]) -> tuple[int, dict[str, str], str | None]:
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                return self._attempt(url, parts, accept, cap, consume)
            except _Retry as retry:
                if attempt >= self.retries:
                    raise retry.error from None
                wait = min(max(delay, retry.after or 0.0), self.retry_after_ceiling)
                log.info("retrying %s after %s (attempt %d of %d) in %.1f s", parts.hostname, retry.reason, attempt + 2, self.retries + 1, wait)
                self.sleep(wait)
                delay *= 2
        raise AssertionError("unreachable")

    def _resolve(self, host: str, port: int, url: str) -> list[str]:
        """The addresses of `host`, every one checked; FetchError "blocked" if any is forbidden."""
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            error = FetchError("network", f"无法访问 {host}：域名无法解析", url=redact_url(url))
            raise (_Retry(error, "dns") if exc.errno == socket.EAI_AGAIN else error) from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for text in addresses:
            ip = ipaddress.ip_address(text)
            shown = text if text == host.strip("[]") else f"{host}（{text}）"
            if any(a in METADATA for a in _embedded(ip)):
                raise FetchError("blocked", f"不允许访问云元数据地址：{shown}", url=redact_url(url))
            if not self.allow_private and not all(_is_public(a) or any(a in n for n in self.allowed_networks) for a in _embedded(ip)):
                raise FetchError("blocked", f"不允许访问内网或本机地址：{shown}（来源未被允许访问内网）", url=redact_url(url))
        return addresses

    def _fail(self, exc: BaseException, host: str, url: str, expired: threading.Event) -> FetchError | _Retry:
        """The FetchError (final) or _Retry (transient) for a network-level exception."""
        if expired.is_set():
            limit = self.total_timeout or 4 * self.timeout
            return FetchError("timeout", f"无法访问 {host}：超过总时限（{limit:g} 秒）", url=redact_url(url))
        if isinstance(exc, TimeoutError):
            return _Retry(FetchError("timeout", f"无法访问 {host}：连接超时（{self.timeout:g} 秒）", url=redact_url(url)), "timeout")
        if isinstance(exc, ssl.SSLCertVerificationError):
            return FetchError("network", f"无法访问 {host}：证书验证失败", url=redact_url(url))
        reason = "连接被拒绝" if isinstance(exc, ConnectionRefusedError) else "连接中断" if isinstance(exc, (HTTPException, ConnectionError)) else "网络错误"
        return _Retry(FetchError("network", f"无法访问 {host}：{reason}", url=redact_url(url)), reason)

    def _attempt(self, url: str, parts: SplitResult, accept: str, cap: int,
                 consume: Callable[[Iterator[bytes]], None]) -> tuple[int, dict[str, str], str | None]:
        host = str(parts.hostname)
        try:
            ascii_host = host if ":" in host else host.encode("idna").decode("ascii")
        except UnicodeError:
            raise FetchError("invalid", f"地址无效：{redact_url(url)}", url=redact_url(url)) from None
        https = parts.scheme == "https"
        port = parts.port or (443 if https else 80)
        addresses = self._resolve(ascii_host, port, url)
        limit = self.total_timeout or 4 * self.timeout
        deadline = time.monotonic() + limit
        expired = threading.Event()
        holder: list[socket.socket] = []
        timer: threading.Timer | None = None
        conn: HTTPConnection | None = None
        response: HTTPResponse | None = None
        try:
            try:
                sock = self._connect(addresses, port, deadline)
                holder.append(sock)
                timer = threading.Timer(max(0.0, deadline - time.monotonic()), _expire, (holder, expired))
                timer.daemon = True
                timer.start()
                if https:
                    context = self.ssl_context or _system_context()
                    holder[0] = sock = context.wrap_socket(sock, server_hostname=ascii_host)
                conn = HTTPConnection(ascii_host, port, timeout=self.timeout)
                conn.sock = sock
                target = quote(parts.path or "/", safe=_SAFE) + (f"?{quote(parts.query, safe=_SAFE)}" if parts.query else "")
                conn.request("GET", target, headers=self._headers(parts, ascii_host, accept))
                response = conn.getresponse()
            except (OSError, HTTPException) as exc:
                raise self._fail(exc, host, url, expired) from None
            return self._response(response, url, host, cap, consume, expired)
        finally:
            if timer is not None:
                timer.cancel()
            for closable in (response, conn):
                if closable is not None:
                    closable.close()  # the response holds the socket once the connection let it go
            for open_sock in holder:
                open_sock.close()

    def _connect(self, addresses: list[str], port: int, deadline: float) -> socket.socket:
        """A connection to the first checked address that answers (no name resolved here)."""
        for address in addresses:
            try:
                sock = socket.create_connection((address, port), timeout=max(0.01, min(self.timeout, deadline - time.monotonic())))
            except OSError:
                if address == addresses[-1]:
                    raise
                continue
            sock.settimeout(self.timeout)
            return sock
        raise OSError("no address")

    def _headers(self, parts: SplitResult, ascii_host: str, accept: str) -> dict[str, str]:
        netloc = f"[{ascii_host}]" if ":" in ascii_host else ascii_host
        headers = {"Host": netloc + (f":{parts.port}" if parts.port else ""), "User-Agent": self.user_agent, "Accept": accept,
                   "Accept-Encoding": "gzip, deflate", "Connection": "close"}
        if parts.username is not None:
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        return headers

    def _response(self, response: HTTPResponse, url: str, host: str, cap: int,
                  consume: Callable[[Iterator[bytes]], None], expired: threading.Event) -> tuple[int, dict[str, str], str | None]:
        status, headers = response.status, {}
        for name, value in response.getheaders():
            headers[name.lower()] = f"{headers[name.lower()]}, {value}" if name.lower() in headers else value
        error = FetchError("http", f"{host} 返回 HTTP {status}", url=redact_url(url), status=status)
        if status in REDIRECTS:
            if not headers.get("location"):
                raise error
            return status, headers, headers["location"]
        if status in (408, 429) or 500 <= status <= 599:
            raise _Retry(error, f"HTTP {status}", _retry_after(headers.get("retry-after")))
        if not 200 <= status <= 299:
            raise error
        length = headers.get("content-length", "").strip()
        if length.isdigit() and int(length) > cap:
            raise FetchError("too-large", f"{host} 的响应超过大小上限 {_size(cap)}", url=redact_url(url), status=status)
        encoding = headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("identity", "", "gzip", "x-gzip", "deflate"):
            raise FetchError("invalid", f"{host} 使用了不支持的压缩格式：{encoding}", url=redact_url(url), status=status)
        consume(self._body(response, url, host, cap, encoding, expired))
        return status, headers, None

    def _body(self, response: HTTPResponse, url: str, host: str, cap: int, encoding: str,
              expired: threading.Event) -> Iterator[bytes]:
        """The decoded body in chunks, inflated at most CHUNK bytes at a time; FetchError when over `cap`."""
        wbits = {"gzip": 31, "x-gzip": 31, "deflate": 15}.get(encoding)
        inflate = zlib.decompressobj(wbits) if wbits else None
        total, started = 0, False
        while True:
            try:
                if expired.is_set():
                    raise TimeoutError
                data = response.read1(CHUNK)
            except (OSError, HTTPException) as exc:
                raise self._fail(exc, host, url, expired) from None
            if expired.is_set() or (not data and response.length):  # cut off by the deadline, or short
                raise self._fail(ConnectionError(), host, url, expired)
            if not data:
                break
            while data:
                if inflate is None:
                    piece, data = data, b""
                else:
                    try:
                        piece = inflate.decompress(data, CHUNK)
                    except zlib.error:
                        if started or wbits != 15:
                            raise FetchError("invalid", f"{host} 返回的压缩数据无效", url=redact_url(url)) from None
                        wbits, inflate = -15, zlib.decompressobj(-15)  # a raw deflate stream
                        continue
                    started, data = True, inflate.unconsumed_tail
                    if inflate.eof and inflate.unused_data[:2] == b"\x1f\x8b" and wbits == 31:  # another gzip member
                        data, inflate = inflate.unused_data, zlib.decompressobj(31)
                total += len(piece)
                if total > cap:
                    raise FetchError("too-large", f"{host} 的响应超过大小上限 {_size(cap)}", url=redact_url(url))
                if piece:
                    yield piece
        if inflate is not None and not inflate.eof:
            raise FetchError("invalid", f"{host} 返回的压缩数据不完整", url=redact_url(url))


def _expire(holder: list[socket.socket], expired: threading.Event) -> None:
    """The deadline passed: wake up whatever read is waiting on the socket."""
    expired.set()
    for sock in holder:
        try:
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass
