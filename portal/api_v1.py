"""What the REST API `/api/v1` needs besides HTTP: reading query parameters and JSON bodies by
the operations declared in `openapi` (so a request the document allows is never refused as
malformed, and one it forbids never reaches the domain), opaque cursors, the lists the API pages
through, and the JSON shape of requests, grants, reports, tasks, clocks and usage.

Two kinds of 400: `BadRequest` (code `bad_request`) when the request does not conform to the
document, and the domain's `Invalid` (code `invalid`) when it conforms but a rule refuses it.
Who may see or do what is decided by the domain modules; the queries here only narrow the rows
before the domain's own predicate (`data_requests.may_see`) is applied to each. No Flask here.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from . import api_keys, usage
from . import data_requests as dr
from . import error_reports as er
from .calendars import clock_kinds
from .errors import Conflict, Forbidden, Invalid, NotFound, PortalError
from .models import DataRequest, Department, Entry, ErrorReport, Grant, User
from .openapi import DEFAULT_LIMIT, MAX_ID, Operation, resolve
from .vocab import DEPARTMENT_ROLES, Role
from .work import TASK_KINDS, Task
from .workdays import RULES, Calendar, ClockState, due_date

MAX_BODY_BYTES = 1 << 20


class BadRequest(Invalid):
    """The request does not conform to the OpenAPI document: a parameter, the JSON body or a
    field's type. The message names each field, since the messages say only what is wrong."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.message = "；".join(f"{name}：{text}" if name else text for name, text in errors.items())


class Unauthorized(PortalError):
    status = 401


def error_code(error: PortalError) -> str:
    """The `code` of the JSON error for a domain or API error."""
    if isinstance(error, BadRequest):
        return "bad_request"
    for kind, code in ((Invalid, "invalid"), (Unauthorized, "unauthorized"), (Forbidden, "forbidden"), (NotFound, "not_found"), (Conflict, "conflict")):
        if isinstance(error, kind):
            return code
    return STATUS_CODES.get(error.status, "bad_request")


STATUS_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed", 409: "conflict",
    413: "bad_request", 429: "too_many_requests", 500: "internal_error",
}


# -- checking values against the declared schemas -----------------------------------------

TYPE_NAMES = {"string": "字符串", "integer": "整数", "boolean": "布尔值（true 或 false）", "array": "数组", "object": "JSON 对象", "null": "null"}
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
KEYWORDS = frozenset({
    "type", "enum", "maxLength", "pattern", "format", "minimum", "maximum", "items", "maxItems", "properties", "required",
    "additionalProperties", "description", "example", "default", "$ref",
})


def _is(kind: str, value: Any) -> bool:
    if kind == "integer":  # 1.0 is an integer in JSON Schema
        return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, float) and value.is_integer())
    return isinstance(value, {"string": str, "boolean": bool, "array": list, "object": dict, "null": type(None)}[kind])


def _safe_text(value: str) -> bool:
    """No NUL (which no database stores) and no lone surrogate (which is not UTF-8)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check(schema: dict[str, Any], value: Any, name: str = "") -> dict[str, str]:
    """Chinese messages by field for what in `value` does not conform to `schema` (the subset of
    JSON Schema the request schemas use, `KEYWORDS`); empty when it conforms."""
    errors: dict[str, str] = {}
    _check(schema, value, name, errors)
    return errors


def _check(schema: dict[str, Any], value: Any, name: str, errors: dict[str, str]) -> None:
    schema = resolve(schema)
    if unknown := set(schema) - KEYWORDS:
        raise ValueError(f"unsupported schema keywords {sorted(unknown)}")
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(_is(kind, value) for kind in kinds):
            errors[name] = "应为" + "或".join(TYPE_NAMES[kind] for kind in kinds)
            return
    if value is None:
        return
    if "enum" in schema and value not in schema["enum"]:
        errors[name] = "应为以下之一：" + "、".join(str(v) for v in schema["enum"])
    elif isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors[name] = f"不能超过 {schema['maxLength']} 个字符"
        elif "pattern" in schema and not re.search(schema["pattern"], value):
            errors[name] = "格式不正确"
        elif schema.get("format") == "date" and not _date(value):
            errors[name] = "应为 YYYY-MM-DD 格式的日期"
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < schema.get("minimum", value) or value > schema.get("maximum", value):
            errors[name] = f"应在 {schema.get('minimum', '')}–{schema.get('maximum', '')} 之间"
    elif isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors[name] = f"最多 {schema['maxItems']} 项"
        elif "items" in schema:
            for index, item in enumerate(value):
                _check(schema["items"], item, f"{name}[{index}]", errors)
    elif isinstance(value, dict):
        properties = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                errors[_join(name, key)] = "必填"
        for key, item in value.items():
            if key in properties:
                _check(properties[key], item, _join(name, key), errors)
            elif schema.get("additionalProperties") is False:
                errors[_join(name, key) if _safe_text(key) else name] = "不接受该字段"


def unsafe_text(value: Any, name: str = "") -> dict[str, str]:
    """The strings in `value` no database stores: with NUL, or a lone surrogate. JSON allows
    them and so does the document, so they are refused as `Invalid`, not as malformed."""
    if isinstance(value, str):
        return {} if _safe_text(value) else {name: "含有不允许的字符（NUL 或无效的 Unicode 字符）"}
    found: dict[str, str] = {}
    if isinstance(value, list):
        for index, item in enumerate(value):
            found |= unsafe_text(item, f"{name}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            found |= unsafe_text(item, _join(name, key))
    return found


def _join(name: str, key: str) -> str:
    return f"{name}.{key}" if name else key


def _date(text: str) -> date | None:
    if not DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def parse_query(op: Operation, args: Mapping[str, str]) -> dict[str, Any]:
    """The declared query parameters of `op`, converted (integers, booleans, dates) and checked;
    defaults for those left out. Undeclared parameters are ignored. Raises BadRequest."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for param in op.params:
        if param["in"] != "query":
            continue
        name, schema = param["name"], param["schema"]
        raw = args.get(name)
        if raw is None:
            if param["required"]:
                errors[name] = "必填"
            values[name] = schema.get("default")
            continue
        value: Any = raw
        if schema["type"] == "integer":
            value = int(raw) if re.fullmatch(r"-?\d{1,15}", raw) else None
        elif schema["type"] == "boolean":
            value = {"true": True, "false": False}.get(raw)
        if value is None:
            errors[name] = "应为" + TYPE_NAMES[schema["type"]]
            continue
        if found := check(schema, value, name):
            errors.update(found)
            continue
        values[name] = _date(value) if schema.get("format") == "date" else value
    if errors:
        raise BadRequest(errors)
    return values


def parse_body(op: Operation, data: bytes, content_type: str | None, *, declared_length: int | None = None) -> dict[str, Any]:
    """The JSON body of `op`, checked against its schema: a JSON object (an empty body counts as
    `{}`). Raises BadRequest, or Invalid for text no database stores. `declared_length` is the
    Content-Length, checked before the body is read."""
    assert op.body is not None
    if max(len(data), declared_length or 0) > MAX_BODY_BYTES:
        raise BadRequest({"": f"请求体不能超过 {MAX_BODY_BYTES // 1024} KB"})
    if not data.strip() and not declared_length:
        value: Any = {}
    else:
        mimetype = (content_type or "").split(";")[0].strip().lower()
        if mimetype != "application/json" and not mimetype.endswith("+json"):
            raise BadRequest({"": "请求体须为 JSON，Content-Type 为 application/json"})
        try:
            value = json.loads(data) if data.strip() else {}
        except (ValueError, RecursionError):
            raise BadRequest({"": "请求体不是有效的 JSON"}) from None
    if not isinstance(value, dict):
        raise BadRequest({"": "请求体应为 JSON 对象"})
    schema = resolve({"$ref": f"#/components/schemas/{op.body}"})
    if errors := check(schema, value):
        raise BadRequest(errors)
    if errors := unsafe_text(value):
        raise Invalid(errors)
    return {key: _integral(schema["properties"][key], item) for key, item in value.items()}


def _integral(schema: dict[str, Any], value: Any) -> Any:
    """A checked integer field as an int (JSON may spell it 3.0)."""
    return int(value) if isinstance(value, float) and "integer" in schema.get("type", ()) else value


def parse_id(text: str) -> int:
    """A path's id; NotFound for anything that cannot be one."""
    if text.isascii() and text.isdigit() and len(text) <= 10 and 1 <= int(text) <= MAX_ID:
        return int(text)
    raise NotFound("没有找到")


def date_field(values: Mapping[str, Any], name: str) -> date | None:
    """A checked body's date field (None when left out or null)."""
    text = values.get(name)
    return _date(text) if text else None


# -- cursors and pages ---------------------------------------------------------------------


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The id a page continues after (rows with smaller ids); Invalid for a cursor not made here."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if (match := re.fullmatch(r"v1:(\d{1,10})", text)) and 1 <= int(match.group(1)) <= MAX_ID + 1:
        return int(match.group(1))
    raise Invalid({"cursor": "无效的分页游标：请使用上一页返回的 next_cursor"})


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    next_cursor: str | None


def paginate(
    session: Session, query: Select[Any], column: InstrumentedAttribute[int], *, cursor: str | None, limit: int = DEFAULT_LIMIT,
    keep: Callable[[Any], bool] | None = None,
) -> Page:
    """One page of `query`, newest (largest id) first, after `cursor`; rows failing `keep` are
    left out without shortening the page."""
    after = decode_cursor(cursor)
    found: list[Any] = []
    while len(found) <= limit:
        batch = query if after is None else query.where(column < after)
        rows = list(session.scalars(batch.order_by(column.desc()).limit(limit + 1)))
        found.extend(r for r in rows if keep is None or keep(r))
        if len(rows) <= limit:
            break
        after = rows[-1].id
    shown = found[:limit]
    return Page(shown, encode_cursor(shown[-1].id) if len(found) > limit and shown else None)


def requests_query(user: User, *, state: str | None = None, kind: str | None = None) -> Select[Any]:
    """The requests `user` is a party to or supervises, narrowed in SQL; `data_requests.may_see`
    is still applied to each row (`requests_page`)."""
    if user.role in (Role.BUREAU, Role.AUDITOR):
        clause: Any = true()
    elif user.role in (Role.PROVIDER, Role.DEPT_ADMIN) and user.department_id is not None:
        own_entries = select(Entry.id).where(Entry.department_id == user.department_id)
        clause = or_(DataRequest.requester_id == user.id, DataRequest.entry_id.in_(own_entries))
    else:
        clause = DataRequest.requester_id == user.id
    query = select(DataRequest).where(clause)
    if state:
        query = query.where(DataRequest.state == state)
    if kind:
        query = query.where(DataRequest.kind == kind)
    return query


def requests_page(session: Session, user: User, *, cursor: str | None, limit: int, state: str | None = None, kind: str | None = None) -> Page:
    return paginate(session, requests_query(user, state=state, kind=kind), DataRequest.id, cursor=cursor, limit=limit,
                    keep=lambda r: dr.may_see(user, r))


def grants_query(user: User, today: date) -> Select[Any]:
    """The grants in force today to `user` (open requests) or to `user`'s department (share
    requests), as `data_requests.active_grant` counts them."""
    to_user: Any = Grant.grantee_id == user.id
    if user.role in DEPARTMENT_ROLES and user.department_id is not None:
        to_user = or_(to_user, Grant.grantee_department_id == user.department_id)
    return (
        select(Grant).join(DataRequest, Grant.request_id == DataRequest.id)
        .where(to_user, DataRequest.state == "approved", Grant.expires_on >= today)
    )


def reports_query(entry: Entry) -> Select[Any]:
    return select(ErrorReport).where(ErrorReport.entry_id == entry.id)


# -- JSON ----------------------------------------------------------------------------------


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def entry_ref(entry: Entry) -> dict[str, Any]:
    return {"slug": entry.slug, "title": entry.title, "department": entry.department.name}


def clock_json(state: ClockState | None, start: date) -> dict[str, Any] | None:
    if state is None:
        return None
    kind = state.kind
    return {
        "kind": kind.key, "label": kind.label, "article": kind.article, "limit_days": kind.limit_days, "rule": kind.rule,
        "start": start.isoformat(), "due": _iso(state.due.date), "days_left": state.days_left, "paused": state.paused,
        "overdue": state.overdue, "provisional": state.provisional, "summary": state.summary,
    }


def request_clock(calendar: Calendar, item: DataRequest, today: date) -> dict[str, Any] | None:
    state = dr.clock(calendar, item, today)
    if state is None:
        return None
    start = item.accepted_on if state.kind.key != "acceptance" and item.accepted_on else dr.china_day(item.submitted_at)
    return clock_json(state, start)


def request_summary(session: Session, item: DataRequest, calendar: Calendar, today: date) -> dict[str, Any]:
    clock = request_clock(calendar, item, today)
    department = session.get(Department, item.requester_department_id) if item.requester_department_id else None
    return {
        "id": item.id, "kind": item.kind, "kind_label": dr.KINDS[item.kind], "state": item.state, "state_label": dr.STATES[item.state],
        "entry": entry_ref(item.entry), "requester": item.requester.display_name,
        "requester_department": department.name if department else None, "submitted_at": _iso(item.submitted_at),
        "due": clock["due"] if clock else None, "overdue": bool(clock and clock["overdue"]),
    }


def request_detail(session: Session, item: DataRequest, viewer: User, calendar: Calendar, today: date) -> dict[str, Any]:
    return {
        **request_summary(session, item, calendar, today),
        "items": list(item.items), "purpose": item.purpose, "duty": item.duty, "period_from": _iso(item.period_from),
        "period_to": _iso(item.period_to), "accepted_on": _iso(item.accepted_on), "decided_at": _iso(item.decided_at),
        "reason": item.reason, "basis": item.basis, "clock_rule": item.clock_rule, "version": item.version,
        "clock": request_clock(calendar, item, today), "actions": dr.available(viewer, item),
        "events": [
            {"at": _iso(e.at), "actor": e.actor, "action": e.action, "from_state": e.from_state, "to_state": e.to_state, "note": e.note}
            for e in item.events
        ],
        "grant": grant_json(session, item.grant, today) if item.grant else None,
    }


def grant_json(session: Session, grant: Grant, today: date) -> dict[str, Any]:
    request = grant.request
    if grant.grantee_department_id is not None:
        department = session.get(Department, grant.grantee_department_id)
        grantee = department.name if department else ""
    else:
        grantee = request.requester.display_name
    return {
        "code": grant.code, "request_id": grant.request_id, "kind": request.kind, "entry": entry_ref(request.entry),
        "grantee": grantee, "items": list(grant.items), "scope": grant.scope, "purpose": grant.purpose,
        "expires_on": grant.expires_on.isoformat(), "created_at": _iso(grant.created_at),
        "active": request.state == "approved" and grant.expires_on >= today,
    }


def report_json(report: ErrorReport, viewer: User | None, calendar: Calendar, today: date) -> dict[str, Any]:
    """A report as the public sees it; the contact and the answerer's name only for those who
    answer it (the provider department and the Bureau)."""
    record = next((f for f in report.entry.all_files if f.id == report.file_id), None) if report.file_id else None
    found: dict[str, Any] = {
        "id": report.id, "entry": entry_ref(report.entry), "subject": report.subject, "subject_label": er.SUBJECTS[report.subject],
        "state": report.state, "state_label": er.STATES[report.state], "reporter_name": report.reporter_name,
        "file": {"id": record.id, "name": record.title or record.name} if record else None, "location": report.location,
        "description": report.description, "received_at": _iso(report.received_at), "received_on": report.received_on.isoformat(),
        "clock": clock_json(er.clock(calendar, report, today), report.received_on), "answer": report.answer,
        "answered_at": _iso(report.answered_at), "answered_in_time": er.answered_in_time(calendar, report),
        "answering_department": report.entry.department.name, "corrected_version": report.corrected_version,
    }
    if er.may_answer(viewer, report):
        found["contact"] = report.contact
        found["answered_by"] = report.answered_by.display_name if report.answered_by else None
    return found


def task_json(task: Task, *, url: str, api_url: str | None) -> dict[str, Any]:
    clock = task.clock
    return {
        "kind": task.kind, "kind_label": TASK_KINDS[task.kind], "id": task.id, "title": task.title, "state": task.state,
        "waiting_for": task.waiting_for, "entry": task.entry.slug if task.entry else None, "due": _iso(task.due),
        "days_left": clock.days_left if clock else None, "overdue": task.overdue, "paused": bool(clock and clock.paused),
        "provisional": bool(clock and clock.provisional), "flags": list(task.flags), "url": url, "api_url": api_url,
    }


def usage_json(session: Session, user: User, *, today: date, days: int) -> dict[str, Any]:
    """The daily usage of each of `user`'s keys (revoked ones too), the last `days` China days."""
    items = []
    for key in api_keys.keys_of(session, user):
        daily = usage.key_usage(session, key, today=today, days=days)
        items.append({
            "key_id": key.id, "name": key.name, "prefix": key.prefix, "scopes": list(key.scopes), "revoked": key.revoked_at is not None,
            "calls": sum(d.calls for d in daily), "bytes": sum(d.bytes for d in daily),
            "daily": [{"date": d.day.isoformat(), "calls": d.calls, "bytes": d.bytes} for d in daily],
        })
    return {"days": days, "items": items}


def due_json(calendar: Calendar, start: date, days: int, calendar_days: bool) -> dict[str, Any]:
    rule = "calendar_days" if calendar_days else "workdays"
    try:
        due = due_date(calendar, start, days, rule)
    except OverflowError:
        raise Invalid({"start": "到期日超出可计算的日期范围"}) from None
    assert due.date is not None  # no pauses: always a date
    return {"start": start.isoformat(), "days": days, "rule": rule, "rule_label": RULES[rule], "due": due.date.isoformat(),
            "provisional": due.provisional}


def clock_kinds_json(session: Session) -> dict[str, Any]:
    return {"items": [
        {"key": k.key, "label": k.label, "limit_days": k.limit_days, "rule": k.rule, "limit_label": k.limit_label,
         "article": k.article, "starts": k.starts, "basis_text": k.basis_text}
        for k in clock_kinds(session).values()
    ]}
