"""Reading a request to `/api/v1` by the operations declared in `openapi`: query parameters and
JSON bodies are checked against the declared schemas (so a request the document allows is never
refused as malformed, and one it forbids never reaches the domain), path ids, body dates; and
the API's own errors with the `code` each error has in the JSON.

Two kinds of 400: `BadRequest` (code `bad_request`) when the request does not conform to the
document, and the domain's `Invalid` (code `invalid`) when it conforms but a rule refuses it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from ..errors import Conflict, Forbidden, Invalid, NotFound, PortalError
from ..openapi import MAX_ID, Operation, resolve

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
