"""Quotas over HTTP (Art. 23): which requests count, who they count for, 429 with Retry-After,
the X-RateLimit-* headers, the bytes sent, and the bulk services of `require_bulk`.

Counted: every request to the APIs (`/api/...`, except OPTIONS), the linked-data catalog dumps
(`/catalog.jsonld`, `/catalog.ttl`, `/catalog/<slug>.jsonld|.ttl`), the change feed
(`/catalog/changes.json`) and the data downloads
(original files, derived formats, `package.zip`, `datapackage.json`); HTML pages are not.
Limits count per account (`user:<id>`: the owner of the key presented, else the signed-in
user), else per client address (`ip:<addr>`, an IPv6 address by its /64):
`request.remote_addr`, so behind a reverse proxy ProxyFix must be configured or every visitor
is the proxy. A call with a key is also counted on the key's own usage row (`key:<id>`). A key presented but
unknown or revoked is refused (401; 403 "Authorization Error" in CKAN's envelope), never taken
for anonymous.

Before the view, the store counts the call (`QuotaStore.hit`); a download of known size also
reserves its bytes, so a file larger than what is left of the day is refused before a byte is
sent, and a whole-resource export above the tier's `max_export_bytes` is a bulk service (403)
outside `BULK_TIERS`. After the response, the bytes actually sent are counted: Content-Length
(or the size of a file), or for a streamed body what passed through, once the server has
closed the response (after the request's own session is gone).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any, Callable

from flask import Flask, Response, current_app, g, jsonify, request
from flask_babel import gettext

from .. import browse
from ..errors import Forbidden, PortalError
from ..models import EntryFile
from ..quota_tiers import BULK_TIERS, Limits, tier_limits, tier_of
from ..quotas import Decision, QuotaStore, open_store
from ..vocab import N_
from .api_common import Caller, caller
from .common import db_session, file_store, now

log = logging.getLogger(__name__)

BULK_MESSAGE = N_("批量或持续获取数据的服务仅向通过实名认证的用户提供，请先完成实名认证（第二十三条）")
INVALID_KEY_MESSAGE = N_("API密钥无效或已被吊销，请检查请求头 Authorization 或 X-API-Key")
TOO_MANY = {
    "minute": N_("调用过于频繁：已达到每分钟的调用次数上限，请在 %(seconds)s 秒后重试"),
    "day": N_("已达到今日的调用次数上限，请明天再试，或完成实名认证以获得更高的配额"),
    "bytes": N_("今日可下载的数据量已用完或不足以完成本次下载，请明天再试，或完成实名认证以获得更高的配额"),
}
CKAN_ACTION = re.compile(r"^/api/(?:3/)?action/([A-Za-z0-9_]*)")
LINKED_DATA = re.compile(r"^/catalog(?:/[^/]+)?\.(?:jsonld|ttl)$|^/catalog/changes\.json$")  # dumps, the change feed
DOWNLOADS = frozenset({"resources.download", "resources.download_as", "resources.package", "resources.datapackage"})
LIMITS_TTL = 10.0  # seconds a process keeps the tiers' numbers before reading them again
COMPLAIN_EVERY = 60.0  # seconds between two log lines about a failing store


def require_bulk() -> None:
    """Bulk and continuous services (full catalog dumps, large whole-resource exports, the change
    feed) are for real-name verified users and departments only (Art. 23)."""
    if tier_of(db_session(), caller().user) not in BULK_TIERS:
        raise Forbidden(BULK_MESSAGE)


class QuotaState:
    """Per app: the store and the tiers' numbers, read again every `LIMITS_TTL` seconds."""

    def __init__(self, store: QuotaStore) -> None:
        self.store = store
        self._limits: dict[str, Limits] | None = None
        self._read_at = 0.0
        self._complained_at = -COMPLAIN_EVERY
        self._lock = threading.Lock()

    def limits(self) -> dict[str, Limits]:
        if self._limits is None or time.monotonic() - self._read_at > LIMITS_TTL:
            self._limits, self._read_at = tier_limits(db_session()), time.monotonic()
        return self._limits

    def forget_limits(self) -> None:
        self._limits = None

    def complain(self, what: str) -> None:
        """Log a failing store, at most once a minute (every counted request would otherwise)."""
        with self._lock:
            if time.monotonic() - self._complained_at < COMPLAIN_EVERY:
                return
            self._complained_at = time.monotonic()
        log.exception("quota store failed (%s); requests go through uncounted", what)


@dataclass
class Counted:
    subject: str
    tier: str
    decision: Decision
    reserved: int  # bytes counted before the view (a download of known size)
    usage: str | None = None  # the key's usage row


def init_app(app: Flask) -> None:
    app.extensions["portal.quota"] = QuotaState(open_store(app.config, app.extensions["portal.engine"]))
    app.before_request(check_quota)
    app.after_request(finish_quota)


def state() -> QuotaState:
    return current_app.extensions["portal.quota"]


def forget_limits() -> None:
    """After the Bureau saved new numbers: this process reads them at once (others within
    `LIMITS_TTL` seconds)."""
    state().forget_limits()


def counted_kind() -> str | None:
    """"api", "linked-data" or "download" for a request that counts against the quota."""
    path, method = request.path, request.method
    if path.startswith("/api/"):
        return None if method == "OPTIONS" else "api"
    if method not in ("GET", "HEAD"):
        return None
    if LINKED_DATA.match(path):
        return "linked-data"
    if request.endpoint in DOWNLOADS:
        return "download"
    return None


def usage_of(who: Caller) -> str | None:
    """The key's own usage row, for a call made with a key."""
    return f"key:{who.key.id}" if who.key is not None else None


def subject_of(who: Caller) -> str:
    """Who the limits count for: the account (a key counts for its owner), else the address."""
    if who.user is not None:
        return f"user:{who.user.id}"
    address = request.remote_addr or "unknown"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return f"ip:{address[:60]}"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return f"ip:{parsed.ipv4_mapped}"
        return f"ip:{ipaddress.ip_network(f'{parsed}/64', strict=False)}"  # one host holds a whole /64
    return f"ip:{parsed}"


def export_size(who: Caller) -> int:
    """The size of the download asked for, known before it is built: an original's size; for a
    derived format (CSV, JSON, XLSX) the normalised table's size as an estimate; for a package
    the sum of its files. 0 when unknown (the view then answers what it answers)."""
    args = request.view_args or {}
    if request.endpoint == "resources.datapackage":
        return 0
    try:
        entry = browse.get_entry(db_session(), args.get("slug", ""), who.user)
    except PortalError:
        return 0
    if request.endpoint == "resources.package":
        return sum(_estimate(record, original=not record.tabular) for record in entry.files)
    record = next((f for f in entry.all_files if f.id == args.get("file_id")), None)
    if record is None:
        return 0
    return _estimate(record, original=request.endpoint == "resources.download")


def _estimate(record: EntryFile, *, original: bool) -> int:
    if original or not record.normalised_sha256:
        return int(record.size or 0)
    try:
        return file_store().path(record.normalised_sha256).stat().st_size
    except OSError:
        return int(record.size or 0)


def check_quota() -> Response | None:
    kind = counted_kind()
    if kind is None:
        return None
    who = caller()
    if who.invalid_key:
        return error_response(401, gettext(INVALID_KEY_MESSAGE))
    tier = tier_of(db_session(), who.user)
    quota = state()
    limits = quota.limits()[tier]  # the tiers' numbers, read again every LIMITS_TTL seconds
    usage = usage_of(who)
    bulk_check = kind == "download" and tier not in BULK_TIERS and bool(limits.max_export_bytes)
    if limits.unlimited and usage is None and not bulk_check:
        return None  # nothing to limit, no usage to keep, no export to weigh: not even counted, nothing else to work out
    size = export_size(who) if kind == "download" else 0
    if bulk_check and size > limits.max_export_bytes:
        return error_response(403, gettext(BULK_MESSAGE))
    if limits.unlimited and usage is None:
        return None
    subject, moment = subject_of(who), now()
    try:
        decision = quota.store.hit(subject, limits, moment, reserve=size, usage=usage)
    except Exception:
        quota.complain("hit")
        return None
    g.quota = Counted(subject, tier, decision, size if decision.allowed else 0, usage)
    if not decision.allowed:
        return error_response(429, gettext(TOO_MANY[decision.reason], seconds=decision.retry_after))
    return None


def finish_quota(response: Response) -> Response:
    counted: Counted | None = g.pop("quota", None)
    if counted is None:
        return response
    decision = counted.decision
    if decision.allowed:
        sent = _body_size(response)
        if sent is not None and _over_remaining(decision, sent - counted.reserved) and response.status_code == 200:
            refused = replace(decision, allowed=False, reason="bytes", retry_after=decision.day_reset_seconds)
            _account(state().store, counted.subject, -counted.reserved, usage=counted.usage)
            response = error_response(429, gettext(TOO_MANY[refused.reason]))
            rate_headers(response, refused, counted.tier)
            return response
        store, subject, reserved, usage = state().store, counted.subject, counted.reserved, counted.usage
        if sent is None:
            body = response.response = CountingBody(response.response)
            response.call_on_close(lambda: _account(store, subject, body.sent - reserved, usage=usage, sync=True))
        else:
            decision = replace(decision, bytes_remaining=max(0, decision.bytes_remaining - (sent - reserved)))
            response.call_on_close(lambda: _account(store, subject, sent - reserved, usage=usage, sync=True))
    rate_headers(response, decision, counted.tier)
    return response


def _over_remaining(decision: Decision, extra: int) -> bool:
    return bool(decision.bytes_limit) and extra > 0 and extra > decision.bytes_remaining


def _body_size(response: Response) -> int | None:
    """Bytes the body will take, None for a streamed body of unknown length."""
    if request.method == "HEAD" or response.status_code in (204, 304) or 100 <= response.status_code < 200:
        return 0
    if response.content_length is not None:
        return response.content_length
    if response.is_sequence:
        return sum(len(chunk) for chunk in response.iter_encoded())
    return None


def _account(store: QuotaStore, subject: str, amount: int, *, usage: str | None = None, sync: bool = False) -> None:
    """Count `amount` bytes (after the response: no request context, never raises)."""
    moment = now()
    try:
        store.add_bytes(subject, amount, moment, usage=usage)
        if sync:
            store.sync(moment)
    except Exception:
        log.exception("quota store failed to add %s bytes of %s", amount, subject)


class CountingBody:
    """A streamed body that counts the bytes passing through it."""

    def __init__(self, inner: Iterable[bytes | str]) -> None:
        self.inner = inner
        self.sent = 0

    def __iter__(self) -> Iterator[bytes | str]:
        for chunk in self.inner:
            self.sent += len(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
            yield chunk

    def close(self) -> None:
        close: Callable[[], Any] | None = getattr(self.inner, "close", None)
        if close is not None:
            close()


def rate_headers(response: Response, decision: Decision, tier: str) -> None:
    """X-RateLimit-Limit/-Remaining/-Reset describe the minute window (seconds to its end), or
    the day when the tier has no minute limit; the -Day and -Bytes-Day headers the China day."""
    headers = response.headers
    headers["X-Quota-Tier"] = tier
    if decision.limit:
        headers["X-RateLimit-Limit"] = str(decision.limit)
        headers["X-RateLimit-Remaining"] = str(decision.remaining)
        headers["X-RateLimit-Reset"] = str(decision.reset_seconds)
    elif decision.day_limit:
        headers["X-RateLimit-Limit"] = str(decision.day_limit)
        headers["X-RateLimit-Remaining"] = str(decision.day_remaining)
        headers["X-RateLimit-Reset"] = str(decision.day_reset_seconds)
    if decision.day_limit:
        headers["X-RateLimit-Limit-Day"] = str(decision.day_limit)
        headers["X-RateLimit-Remaining-Day"] = str(decision.day_remaining)
        headers["X-RateLimit-Reset-Day"] = str(decision.day_reset_seconds)
    if decision.bytes_limit:
        headers["X-RateLimit-Limit-Bytes-Day"] = str(decision.bytes_limit)
        headers["X-RateLimit-Remaining-Bytes-Day"] = str(decision.bytes_remaining)
    if not decision.allowed:
        headers["Retry-After"] = str(decision.retry_after)


ERROR_CODES = {401: "unauthorized", 403: "forbidden", 429: "too_many_requests"}  # as /api/v1 documents them


def error_response(status: int, message: str) -> Response:
    """A refusal in the shape of what was asked: CKAN's envelope on its Action API,
    {"error": {"status", "code", "message", "fields"}} on the other APIs (the shape /api/v1
    documents), the error page for downloads and dumps."""
    path = request.path
    if action := CKAN_ACTION.match(path):
        body = {
            "help": f"{request.host_url}api/3/action/help_show?name={action.group(1)}",
            "success": False,
            "error": {"__type": "Rate Limit Error" if status == 429 else "Authorization Error", "message": message},
        }
        response = jsonify(body)
        response.status_code = 429 if status == 429 else 403  # CKAN answers Authorization Error with 403
    elif path.startswith("/api/"):
        response = jsonify({"error": {"status": status, "code": ERROR_CODES[status], "message": message, "fields": {}}})
        response.status_code = status
    else:
        from . import _error_page  # here: the package imports this module

        text, _status = _error_page(status, message)
        response = current_app.make_response((text, status))
    if status == 401 and not CKAN_ACTION.match(path):
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    response.headers["Cache-Control"] = "no-store"
    return response

