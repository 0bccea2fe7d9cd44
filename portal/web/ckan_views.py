"""The CKAN-compatible Action API over HTTP: `/api/3/action/<name>` and `/api/action/<name>`.

GET for the actions without side effects (arguments in the query string), POST for all (a JSON
body, a form, a form whose only key is JSON as old clients send it, or multipart with an
`upload` file). Every answer is CKAN's envelope, `help` (the help_show URL of the action),
`success`, and `result` or an `error` with CKAN's `__type`, under CKAN's status codes: 400 for
a request that cannot be read or an unknown action, 403 Authorization Error, 404 Not Found
Error, 409 Validation Error (CKAN's own code for it), 413 for a file over the upload limit,
500 Internal Server Error without a trace. Never a redirect. The actions are `portal.ckan`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, request, url_for
from flask.globals import request_ctx
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from .. import api_keys, ckan
from ..audit import record_apart
from ..errors import Conflict, Forbidden, Invalid, NotFound, PortalError
from ..models import Department, Entry, EntryFile
from .api_common import caller
from .common import db_session, file_store, now, request_facts
from .quota import require_bulk

bp = Blueprint("ckan", __name__)

ERROR_TYPES = {400: "Bad request", 403: "Authorization Error", 404: "Not Found Error", 409: "Validation Error", 413: "Validation Error",
               429: "Too Many Requests", 500: "Internal Server Error"}


class Links:
    """`ckan.Links` for this request: absolute URLs of the portal's pages and downloads."""

    def __init__(self) -> None:
        self.site = request.host_url.rstrip("/")
        self._url = _external_urls()

    def entry(self, entry: Entry) -> str:
        return self._url("catalog.entry_page", {"slug": entry.slug})

    def download(self, record: EntryFile) -> str:
        return self._url("resources.download", {"slug": record.entry.slug, "file_id": record.id, "name": record.name})

    def download_as(self, record: EntryFile, fmt: str) -> str:
        return self._url("resources.download_as", {"slug": record.entry.slug, "file_id": record.id, "fmt": fmt})

    def department(self, department: Department) -> str:
        return self._url("catalog.department_page", {"department_id": department.id})


def _external_urls() -> Callable[[str, dict[str, Any]], str]:
    """``url_for(endpoint, _external=True, **values)`` for this request. A package dict holds
    several addresses, so without URL defaults to add (the one thing `url_for` does besides)
    they are built by the request's URL adapter directly, as `url_for` builds them."""
    if any(current_app.url_default_functions.values()):
        return lambda endpoint, values: url_for(endpoint, _external=True, **values)
    build = request_ctx.url_adapter.build  # type: ignore[union-attr]
    return lambda endpoint, values: build(endpoint, values, force_external=True)


def _answer(envelope: dict[str, Any], status: int = 200) -> Response:
    body = json.dumps(envelope, ensure_ascii=False)
    return Response(body, status=status, content_type="application/json;charset=utf-8")


def _error(envelope: dict[str, Any], status: int, error: dict[str, Any]) -> Response:
    return _answer(dict(envelope, success=False, error=error), status)


def _message(status: int, message: str) -> dict[str, Any]:
    prefix = {403: "Access denied: ", 404: "Not found: "}.get(status, "")
    return {"__type": ERROR_TYPES.get(status, "Bad request"), "message": prefix + message}


def _mixed(values: MultiDict[str, Any]) -> dict[str, Any]:
    """A value per key, or the list of them when a key is repeated (as CKAN reads parameters)."""
    return {key: items[0] if len(items) == 1 else items for key, items in values.to_dict(flat=False).items()}


def _request_data(side_effect_free: bool) -> dict[str, Any]:
    """The action's data dict, read as CKAN reads it; ValueError when it cannot be."""
    if request.method == "GET" and not side_effect_free:
        raise ValueError("该操作会修改数据，请使用 POST 方法（Invalid request. Please use POST method for your request）")
    data: Any = {}
    if request.method == "POST" and request.form:
        keys = list(request.form.keys())
        if len(keys) == 1 and request.form[keys[0]] in ("1", ""):  # JSON sent as a form's only key
            try:
                data = json.loads(keys[0])
            except ValueError as error:
                raise ValueError(f"JSON 解析失败：{error}") from None
        else:
            data = _mixed(request.form)
    elif request.args and side_effect_free:
        data = _mixed(request.args)
    elif request.mimetype != "multipart/form-data" and (body := request.get_data()):
        try:
            data = json.loads(body.decode("utf-8"))
        except ValueError as error:
            raise ValueError(f"JSON 解析失败：{error}") from None
    if not isinstance(data, dict):
        raise ValueError("请求数据应为 JSON 对象（字典）")
    if _holds_nul(data):  # as the pages refuse it (`refuse_control_characters`): no database stores it
        raise ValueError("请求中含有不允许的控制字符（NUL）")
    for field, upload in request.files.items():
        data[field] = ckan.Upload(name=upload.filename or field, stream=upload.stream)
    return data


def _envelope(logic_function: str) -> dict[str, Any]:
    return {"help": url_for("ckan.action", ver=3, logic_function="help_show", name=logic_function, _external=True)}


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


@bp.route("/api/action/<logic_function>", methods=["GET", "POST"])
@bp.route("/api/<int(min=3, max=3):ver>/action/<logic_function>", methods=["GET", "POST"])
def action(logic_function: str, ver: int = 3) -> Response:
    envelope = _envelope(logic_function)
    spec = ckan.ACTIONS.get(logic_function)
    if spec is None:
        message = f"Bad request - Action name not known: {logic_function}"
        return _error(envelope, 400, {"__type": "Bad request - Action name not known", "message": message})
    try:
        data = _request_data(side_effect_free=not spec.write)
    except RequestEntityTooLarge:
        return _too_large(envelope)
    except ValueError as error:
        return _error(envelope, 400, {"__type": "Bad request - JSON Error", "message": f"Bad request - JSON Error: {error}"})
    who = caller()
    if who.invalid_key:
        return _error(envelope, 403, _message(403, "API密钥无效、已吊销或格式不正确"))
    db = db_session()
    call = ckan.Call(
        session=db, user=who.user, now=now(), links=Links(), search=current_app.extensions["portal.search"],
        store=file_store(), max_upload_bytes=current_app.config.get("MAX_CONTENT_LENGTH"),
    )
    try:
        if spec.write:
            api_keys.require_scope(who.key, "write")
        if ckan.needs_bulk(logic_function, data):
            require_bulk()
        result = ckan.call_action(call, logic_function, data)
        if spec.write:
            db.commit()
    except ckan.Denied as denied:
        db.rollback()
        record_apart(
            current_app.extensions["portal.sessions"], action="authz:denied", actor=who.user, now=now(), target=denied.target,
            details={"action": denied.action, "path": request.path}, facts=request_facts(),
        )
        status = 404 if denied.hide else 403
        return _error(envelope, status, _message(status, denied.message))
    except Invalid as invalid:
        db.rollback()
        if invalid.status == 413:
            return _too_large(envelope)
        errors: dict[str, Any] = {key: [message] for key, message in ckan.ckan_errors(invalid.errors).items()}
        return _error(envelope, 409, {**errors, "__type": "Validation Error"})
    except RequestEntityTooLarge:
        db.rollback()
        return _too_large(envelope)
    except (NotFound, Forbidden) as error:
        db.rollback()
        return _error(envelope, error.status, _message(error.status, error.message))
    except Conflict as conflict:
        db.rollback()
        return _error(envelope, 409, {"__type": "Validation Error", "message": conflict.message})
    except PortalError as error:
        db.rollback()
        return _error(envelope, error.status, _message(error.status, error.message))
    except Exception:
        db.rollback()
        current_app.logger.exception("CKAN action %s failed", logic_function)
        return _error(envelope, 500, {"__type": "Internal Server Error", "message": "Internal Server Error"})
    return _answer(dict(envelope, success=True, result=result))


def _too_large(envelope: dict[str, Any]) -> Response:
    limit = (current_app.config.get("MAX_CONTENT_LENGTH") or 0) >> 20
    message = f"上传内容超过大小上限（{limit} MB），没有保存任何内容。"
    return _error(envelope, 413, {"__type": "Validation Error", "upload": [message]})


# Refusals made before the view (the upload limit while the app reads the body, a request the
# app refuses as a page) still answer in the envelope.
PAGE_ERRORS = {400: "请求有误，请检查请求内容（例如其中不能含有 NUL 控制字符）", 405: "不支持该请求方式，请使用 GET 或 POST"}


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_error: RequestEntityTooLarge) -> Response:
    return _too_large(_envelope((request.view_args or {}).get("logic_function", "")))


@bp.after_request
def envelope_page_errors(response: Response) -> Response:
    if response.status_code >= 400 and response.mimetype == "text/html":
        status = response.status_code
        message = PAGE_ERRORS.get(status, "请求未能完成")
        return _error(_envelope((request.view_args or {}).get("logic_function", "")), status, _message(status, message))
    return response
