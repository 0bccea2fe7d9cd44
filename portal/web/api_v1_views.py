"""The native REST API `/api/v1` over HTTP: requests, grants, error reports, my work, key usage
and the statutory clocks, as JSON; its OpenAPI 3.1 document and a docs page rendered from it.

Each view finds the caller (`api_common.caller`), reads the parameters and body the operation
declares (`api_v1`), calls one domain function and commits. Writes need a key with the write
scope (`api_keys.require_scope`): a browser session may read but not write, so a forged
cross-site request cannot act. Error reports may be filed anonymously, as on the page. Every
error under `/api/v1/` is JSON: `{"error": {"status", "code", "message", "fields"}}`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request, url_for
from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException

from .. import api_keys, browse, supervision, work
from .. import api_v1 as api
from .. import data_requests as dr
from .. import error_reports as er
from .. import openapi
from ..calendars import current_calendar
from ..errors import Forbidden, NotFound, PortalError
from ..models import ErrorReport, Grant, User
from .api_common import caller
from .common import db_session, now
from .work_views import task_url

bp = Blueprint("api_v1", __name__, url_prefix=openapi.PREFIX)

MESSAGES = {
    400: "请求有误", 401: "需要有效的 API 密钥", 403: "无权执行该操作", 404: "没有找到该接口或对象", 405: "不支持该请求方式",
    413: "请求体过大", 429: "请求过于频繁，请稍后再试", 500: "服务器内部错误，请稍后再试",
}
CHALLENGE = 'Bearer realm="api"'  # as `web.quota` answers an unknown key


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(data, ensure_ascii=False), status=status, mimetype="application/json", headers=headers)


def error_body(status: int, message: str, code: str, fields: dict[str, str] | None = None) -> str:
    return json.dumps({"error": {"status": status, "code": code, "message": message, "fields": fields or {}}}, ensure_ascii=False)


def _error(status: int, message: str, code: str, fields: dict[str, str] | None = None) -> Response:
    response = Response(error_body(status, message, code, fields), status=status, mimetype="application/json")
    if status == 401:
        response.headers["WWW-Authenticate"] = CHALLENGE
    return response


@bp.errorhandler(PortalError)
def portal_error(error: PortalError) -> Response:
    return _error(error.status, error.message, api.error_code(error), getattr(error, "errors", None))


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> Response:
    status = error.code or 500
    response = _error(status, MESSAGES.get(status, "请求有误"), api.STATUS_CODES.get(status, "bad_request"))
    for name, value in error.get_headers():
        if name in ("Allow", "Retry-After"):
            response.headers[name] = value
    return response


@bp.errorhandler(Exception)
def unexpected(error: Exception) -> Response:
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return _error(500, MESSAGES[500], "internal_error")


@bp.after_app_request
def json_errors(response: Response) -> Response:
    """Every error under `/api/v1/` in the documented shape, also those answered before any API
    view ran: an unknown path or a method not allowed (pages elsewhere), a control character the
    whole site refuses, an unknown key or a quota (`web.quota`'s own `{"error": ...}`). The
    status, the message and the headers (Allow, Retry-After, X-RateLimit-*) are kept."""
    status = response.status_code
    if status < 400 or not request.path.startswith(openapi.PREFIX + "/") or request.path == f"{openapi.PREFIX}/docs":
        return response
    message = MESSAGES.get(status, "请求有误")
    if response.mimetype == "application/json" and not response.is_streamed:
        try:
            found = json.loads(response.get_data()).get("error")
        except (ValueError, AttributeError):
            found = None
        if isinstance(found, dict):
            if set(found) == {"status", "code", "message", "fields"} and str(found["code"]) in openapi.ERROR_CODES:
                return response
            message = found["message"] if isinstance(found.get("message"), str) else message
    elif response.mimetype != "text/html":
        return response
    response.set_data(error_body(status, message, api.STATUS_CODES.get(status, "bad_request")))
    response.mimetype = "application/json"
    if status == 401:
        response.headers.setdefault("WWW-Authenticate", CHALLENGE)
    if status == 405 and "Allow" not in response.headers:  # the site's error page does not keep it
        adapter = current_app.create_url_adapter(request)
        if adapter is not None:
            response.headers["Allow"] = ", ".join(sorted(adapter.allowed_methods()))
    return response


# -- who is calling ------------------------------------------------------------------------


def _visitor() -> User | None:
    """The caller of a public operation: a key's holder, the signed-in user, or None."""
    found = caller()
    if found.invalid_key:
        raise api.Unauthorized("API 密钥无效或已吊销")
    return found.user


def _identified() -> User:
    """The caller of an operation that needs to know who calls (a key, or a session for reads)."""
    user = _visitor()
    if user is None:
        raise api.Unauthorized("请在 Authorization 或 X-API-Key 请求头中提供 API 密钥")
    return user


def _writer() -> User:
    user = _identified()
    api_keys.require_scope(caller().key, "write")
    return user


def _reporter() -> User | None:
    """Error reports: anonymous like the page, or under any key; not with a session alone."""
    user = _visitor()
    if user is not None and caller().key is None:
        raise Forbidden("浏览器会话在 API 中只能读取：请在网页上提交，或使用 API 密钥")
    return user


def _query(op_id: str) -> dict[str, Any]:
    return api.parse_query(openapi.BY_ID[op_id], request.args)


def _body(op_id: str) -> dict[str, Any]:
    op, length = openapi.BY_ID[op_id], request.content_length
    data = b"" if length and length > api.MAX_BODY_BYTES else request.get_data(cache=True)
    return api.parse_body(op, data, request.content_type, declared_length=length)


def _page(page: api.Page, render: Any) -> Response:
    return _json({"items": [render(row) for row in page.rows], "next_cursor": page.next_cursor})


def _entry(slug: str, user: User | None) -> Any:
    if not openapi.SLUG_PATTERN.fullmatch(slug):
        raise NotFound("没有找到该数据资源，或您无权查看")
    return browse.get_entry(db_session(), slug, user)


def _today() -> Any:
    return dr.china_day(now())


# -- requests and grants -------------------------------------------------------------------


def _request_response(item: Any, user: User, status: int = 200) -> Response:
    db = db_session()
    body = api.request_detail(db, item, user, current_calendar(db), _today())
    headers = {"Location": url_for("api_v1.get_request", id=item.id)} if status == 201 else None
    return _json(body, status, headers)


@bp.get("/requests")
def list_requests() -> Response:
    user = _identified()
    args = _query("list_requests")
    db = db_session()
    calendar, today = current_calendar(db), _today()
    page = api.requests_page(db, user, cursor=args["cursor"], limit=args["limit"], state=args["state"], kind=args["kind"])
    return _page(page, lambda item: api.request_summary(db, item, calendar, today))


@bp.post("/requests")
def create_request() -> Response:
    user = _writer()
    values = _body("create_request")
    db = db_session()
    entry = _entry(values["entry"], user)
    made = dr.submit(
        db, entry, kind=values["kind"], requester=user, purpose=values["purpose"], duty=values.get("duty", ""),
        items=values.get("items"), period_from=api.date_field(values, "period_from"), period_to=api.date_field(values, "period_to"),
        now=now(),
    )
    db.commit()
    return _request_response(made, user, 201)


@bp.get("/requests/<id>")
def get_request(id: str) -> Response:  # noqa: A002 - the path parameter's name
    user = _identified()
    return _request_response(dr.get_request(db_session(), api.parse_id(id), user), user)


@bp.post("/requests/<id>/<action>")
def request_action(id: str, action: str) -> Response:  # noqa: A002
    if action not in dr.TRANSITIONS:
        raise NotFound("没有该办理操作")
    user = _writer()
    values = _body(f"request_{action}")
    db = db_session()
    item = dr.get_request(db, api.parse_id(id), user)
    moment, note = now(), values.get("note", "")
    grant = {"expires_on": api.date_field(values, "expires_on"), "items": values.get("items"), "scope": values.get("scope", "")}
    steps = {
        "accept": lambda: dr.accept(db, item, actor=user, now=moment),
        "return": lambda: dr.return_incomplete(db, item, actor=user, now=moment, note=note),
        "clarify": lambda: dr.ask_clarification(db, item, actor=user, now=moment, question=note),
        "reply": lambda: dr.reply(db, item, actor=user, now=moment, answer=note),
        "approve": lambda: dr.approve(db, item, actor=user, now=moment, purpose=values.get("purpose", ""), **grant),
        "refuse": lambda: dr.refuse(db, item, actor=user, now=moment, reason=values["reason"], basis=values["basis"]),
        "escalate": lambda: dr.escalate(db, item, actor=user, now=moment, note=note),
        "uphold": lambda: dr.coordinate(db, item, actor=user, now=moment, uphold=True, note=note),
        "order": lambda: dr.coordinate(db, item, actor=user, now=moment, uphold=False, note=note, purpose=values.get("purpose", ""), **grant),
    }
    steps[action]()  # type: ignore[no-untyped-call]
    db.commit()
    return _request_response(item, user)


@bp.get("/grants")
def list_grants() -> Response:
    user = _identified()
    args = _query("list_grants")
    db = db_session()
    today = _today()
    page = api.paginate(db, api.grants_query(user, today), Grant.id, cursor=args["cursor"], limit=args["limit"])
    return _page(page, lambda grant: api.grant_json(db, grant, today))


# -- error reports -------------------------------------------------------------------------


def _report_response(report: Any, user: User | None, status: int = 200) -> Response:
    headers = {"Location": url_for("api_v1.get_report", id=report.id)} if status == 201 else None
    return _json(api.report_json(report, user, current_calendar(db_session()), _today()), status, headers)


@bp.get("/entries/<slug>/reports")
def list_entry_reports(slug: str) -> Response:
    user = _visitor()
    entry = _entry(slug, user)
    args = _query("list_entry_reports")
    db = db_session()
    calendar, today = current_calendar(db), _today()
    page = api.paginate(db, api.reports_query(entry), ErrorReport.id, cursor=args["cursor"], limit=args["limit"])
    return _page(page, lambda report: api.report_json(report, user, calendar, today))


@bp.post("/entries/<slug>/reports")
def create_report(slug: str) -> Response:
    user = _reporter()
    values = _body("create_report")
    db = db_session()
    entry = _entry(slug, user)
    report = er.submit(
        db, entry, reporter=user, subject=values["subject"], description=values["description"],
        reporter_name=values.get("reporter_name", ""), contact=values.get("contact", ""), file_id=values.get("file_id"),
        location=values.get("location", ""), now=now(),
    )
    db.commit()
    return _report_response(report, user, 201)


@bp.get("/reports/<id>")
def get_report(id: str) -> Response:  # noqa: A002
    user = _visitor()
    return _report_response(er.get_report(db_session(), api.parse_id(id), user), user)


@bp.post("/reports/<id>/answer")
def answer_report(id: str) -> Response:  # noqa: A002
    user = _writer()
    values = _body("answer_report")
    db = db_session()
    report = er.get_report(db, api.parse_id(id), user)
    er.answer(db, report, actor=user, now=now(), outcome=values["outcome"], text=values["answer"],
              corrected_version=values.get("corrected_version"))
    db.commit()
    return _report_response(report, user)


# -- my work, usage, clocks ----------------------------------------------------------------

API_ENDPOINTS = {"share": "api_v1.get_request", "open": "api_v1.get_request", "report": "api_v1.get_report"}


@bp.get("/work")
def my_work() -> Response:
    user = _identified()
    db = db_session()
    tasks = work.work_for(user, work.all_tasks(db, current_calendar(db), _today()))
    return _json({"items": [
        api.task_json(t, url=task_url(t.kind, t.id), api_url=url_for(API_ENDPOINTS[t.kind], id=t.id) if t.kind in API_ENDPOINTS else None)
        for t in tasks
    ]})


@bp.get("/usage")
def my_usage() -> Response:
    user = _identified()
    args = _query("my_usage")
    return _json(api.usage_json(db_session(), user, today=_today(), days=args["days"]))


@bp.get("/supervision")
def supervision_figures() -> Response:
    user = _identified()
    args, today = _query("supervision"), _today()
    year = min(args.get("year") or today.year, today.year)
    db = db_session()
    records = supervision.department_records(db, user, current_calendar(db), year=year, today=today)
    return _json({"year": year, "today": today.isoformat(), "items": [api.supervision_json(r) for r in records]})


@bp.get("/calendar/due")
def due_date() -> Response:
    _visitor()
    args = _query("due_date")
    return _json(api.due_json(current_calendar(db_session()), args["start"], args["days"], args["calendar_days"]))


@bp.get("/clocks")
def clock_kinds() -> Response:
    _visitor()
    return _json(api.clock_kinds_json(db_session()))


# -- the document --------------------------------------------------------------------------


@bp.get("/openapi.json")
def document() -> Response:
    return _json(openapi.document())


@bp.get("/docs")
def docs() -> str:
    return render_template(
        "api/docs.html", doc=openapi.document(), operations=openapi.OPERATIONS, access_labels=openapi.ACCESS_LABELS,
        error_responses=openapi.ERROR_RESPONSES, fields=openapi.fields, type_label=openapi.type_label,
        constraints=openapi.constraints, resolve=openapi.resolve, example=_example, type_links=_type_links, curl=_curl,
    )


def _example(schema: dict[str, Any]) -> str:
    """A schema's example as indented JSON, or empty."""
    found = openapi.resolve(schema).get("example")
    return json.dumps(found, ensure_ascii=False, indent=2) if found is not None else ""


def _type_links(label: str) -> Markup:
    """A type label with each component schema's name linked to its description below."""
    parts = re.split(r"([A-Za-z]+)", label)
    return Markup("").join(
        Markup('<a href="#schema-{0}">{0}</a>').format(part) if part in openapi.SCHEMAS else escape(part) for part in parts
    )


def _curl(op: openapi.Operation) -> str:
    """A curl command calling `op` with the examples of the document."""
    path = op.path
    for param in op.params:
        if param["in"] == "path":
            path = path.replace("{" + param["name"] + "}", str(param["example"]))
    line = ["curl"]
    if op.method != "get":
        line.append(f"-X {op.method.upper()}")
    if op.access != openapi.PUBLIC:
        line.append('-H "X-API-Key: zk_您的密钥"')
    if op.body and (example := _example({"$ref": f"#/components/schemas/{op.body}"})):
        compact = json.dumps(json.loads(example), ensure_ascii=False)
        line.append("-H \"Content-Type: application/json\" -d '" + compact + "'")
    return " ".join([*line, request.host_url.rstrip("/") + path])
