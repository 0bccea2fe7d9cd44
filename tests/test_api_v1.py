"""The REST API's declaration and what is read by it: checking values against the declared
schemas, query parameters, JSON bodies, cursors, the requests query against the domain's
visibility rule, and the document itself."""

from __future__ import annotations

from datetime import date
from typing import Any

import jsonschema
import pytest
from sqlalchemy.orm import Session

from portal import api_v1 as api
from portal import data_requests as dr
from portal import openapi
from portal.errors import Invalid
from portal.models import DataRequest, User
from portal.vocab import EntryStatus, OpenType, ShareType
from portal.workdays import CLOCK_KINDS, Calendar

from .support import NOW, World

NAME = {"type": "string", "maxLength": 5}


@pytest.mark.parametrize("schema, value, errors", [
    (NAME, "abc", {}),
    (NAME, "abcdef", {"": "不能超过 5 个字符"}),
    (NAME, 5, {"": "应为字符串"}),
    (NAME, "a\x00", {}),  # conforms; refused by `unsafe_text`
    ({"type": ["string", "null"], "format": "date"}, None, {}),
    ({"type": ["string", "null"], "format": "date"}, "2026-02-30", {"": "应为 YYYY-MM-DD 格式的日期"}),
    ({"type": "string", "format": "date"}, "20261125", {"": "应为 YYYY-MM-DD 格式的日期"}),
    ({"type": "integer", "minimum": 1, "maximum": 9}, True, {"": "应为整数"}),
    ({"type": "integer", "minimum": 1, "maximum": 9}, 1.0, {}),  # an integer in JSON Schema
    ({"type": "integer", "minimum": 1, "maximum": 9}, 1.5, {"": "应为整数"}),
    ({"type": "integer", "minimum": 1, "maximum": 9}, 9.0 + 1, {"": "应在 1–9 之间"}),
    ({"type": "integer", "minimum": 1, "maximum": 9}, 10, {"": "应在 1–9 之间"}),
    ({"type": "string", "enum": ["a", "b"]}, "c", {"": "应为以下之一：a、b"}),
    ({"type": "array", "items": NAME, "maxItems": 2}, ["ok", 3], {"[1]": "应为字符串"}),
    ({"type": "array", "items": NAME, "maxItems": 2}, ["a", "b", "c"], {"": "最多 2 项"}),
    (
        {"type": "object", "additionalProperties": False, "required": ["a"], "properties": {"a": NAME, "b": {"type": "array", "items": NAME}}},
        {"b": ["toolong"], "c": 1},
        {"a": "必填", "b[0]": "不能超过 5 个字符", "c": "不接受该字段"},
    ),
])
def test_check(schema: dict[str, Any], value: Any, errors: dict[str, str]) -> None:
    assert api.check(schema, value) == errors


def test_every_keyword_of_the_request_schemas_is_checked() -> None:
    def walk(schema: Any) -> None:
        if isinstance(schema, dict):
            assert "$ref" in schema or set(schema) <= api.KEYWORDS, schema
            for key, value in schema.items():
                if key in ("properties",):
                    for item in value.values():
                        walk(item)
                elif key == "items":
                    walk(value)

    for op in openapi.OPERATIONS:
        for param in op.params:
            walk(param["schema"])
        if op.body:
            walk(openapi.SCHEMAS[op.body])


def test_query_parameters_are_converted_checked_and_defaulted() -> None:
    due = openapi.BY_ID["due_date"]
    assert api.parse_query(due, {"start": "2026-09-28", "days": "10", "x": "ignored"}) == {
        "start": date(2026, 9, 28), "days": 10, "calendar_days": False,
    }
    assert api.parse_query(due, {"start": "2026-09-28", "days": "0", "calendar_days": "true"})["calendar_days"] is True
    with pytest.raises(api.BadRequest) as caught:
        api.parse_query(due, {"days": "ten", "calendar_days": "1"})
    assert caught.value.errors == {"start": "必填", "days": "应为整数", "calendar_days": "应为布尔值（true 或 false）"}
    listing = openapi.BY_ID["list_requests"]
    assert api.parse_query(listing, {}) == {"cursor": None, "limit": openapi.DEFAULT_LIMIT, "state": None, "kind": None}
    for args in ({"limit": "0"}, {"limit": "101"}, {"limit": "9" * 40}, {"state": ""}, {"state": "done"}, {"cursor": "a b"}):
        with pytest.raises(api.BadRequest):
            api.parse_query(listing, args)


def test_bodies_are_json_objects_that_conform() -> None:
    accept, approve = openapi.BY_ID["request_accept"], openapi.BY_ID["request_approve"]
    assert api.parse_body(accept, b"", None) == {}
    assert api.parse_body(approve, b'{"expires_on": "2099-12-31"}', "application/json; charset=utf-8") == {"expires_on": "2099-12-31"}
    answer = api.parse_body(openapi.BY_ID["answer_report"], b'{"outcome": "corrected", "answer": "ok", "corrected_version": 3.0}', "application/json")
    assert answer["corrected_version"] == 3 and isinstance(answer["corrected_version"], int)
    cases = [
        (b'{"expires_on": "2099-12-31"}', "text/plain", {"": "请求体须为 JSON，Content-Type 为 application/json"}),
        (b"{", "application/json", {"": "请求体不是有效的 JSON"}),
        (b"[" * 100_000, "application/json", {"": "请求体不是有效的 JSON"}),
        (b"[]", "application/json", {"": "请求体应为 JSON 对象"}),
        (b"", "application/x-www-form-urlencoded", {"": "请求体须为 JSON，Content-Type 为 application/json"}),  # a form, already parsed
        (b'{"items": "station"}', "application/json", {"expires_on": "必填", "items": "应为数组"}),
        (b'{"expires_on": "2099-12-31", "grant": 1}', "application/json", {"grant": "不接受该字段"}),
    ]
    for data, content_type, errors in cases:
        with pytest.raises(api.BadRequest) as caught:
            api.parse_body(approve, data, content_type, declared_length=len(data) or 9)
        assert caught.value.errors == errors
    with pytest.raises(api.BadRequest) as caught:
        api.parse_body(approve, b"", "application/json", declared_length=api.MAX_BODY_BYTES + 1)
    assert caught.value.errors == {"": "请求体不能超过 1024 KB"}


def test_text_no_database_stores_is_refused_as_invalid() -> None:
    nul = "含有不允许的字符（NUL 或无效的 Unicode 字符）"
    assert api.unsafe_text({"a": "ok", "b": ["x", "\ud800"], "c": {"d": "a\x00"}, "e": 1}) == {"b[1]": nul, "c.d": nul}
    with pytest.raises(Invalid) as caught:
        api.parse_body(openapi.BY_ID["request_reply"], b'{"note": "\\u0000"}', "application/json")
    assert not isinstance(caught.value, api.BadRequest) and caught.value.errors == {"note": nul}


@pytest.mark.parametrize("text", ["5", "4294967296", "0", "-1", "abc", "999999999999", "1.5"])
def test_ids_that_cannot_be_ids_are_not_found(text: str) -> None:
    if text == "5":
        assert api.parse_id(text) == 5
    else:
        with pytest.raises(api.NotFound):
            api.parse_id(text)


def test_cursors_round_trip_and_strangers_are_invalid_not_malformed() -> None:
    assert api.decode_cursor(api.encode_cursor(42)) == 42
    assert api.decode_cursor(None) is None
    for stranger in ("abc", "djE6", "eHh4", "djE6LTE", api.encode_cursor(0)):
        with pytest.raises(Invalid) as caught:
            api.decode_cursor(stranger)
        assert not isinstance(caught.value, api.BadRequest) and "cursor" in caught.value.errors


def test_a_due_date_beyond_the_calendar_is_invalid() -> None:
    assert api.due_json(Calendar(), date(2026, 9, 28), 10, False)["due"] == "2026-10-16"
    with pytest.raises(Invalid):
        api.due_json(Calendar(), date(9999, 12, 1), 366, True)


def test_the_document_declares_every_operation_with_its_answers() -> None:
    doc = openapi.document()
    assert doc["openapi"] == "3.1.0"
    assert set(doc["components"]["securitySchemes"]) == {"ApiKeyAuthorization", "ApiKeyHeader"}
    assert {s["name"] for s in doc["components"]["securitySchemes"].values()} == {"Authorization", "X-API-Key"}
    ids = [op.id for op in openapi.OPERATIONS]
    assert len(ids) == len(set(ids))
    assert {f"request_{action}" for action in dr.TRANSITIONS} <= set(ids)
    for op in openapi.OPERATIONS:
        responses = doc["paths"][op.path][op.method]["responses"]
        assert {"401", "429", str(op.status)} <= set(responses)
        assert ("403" in responses) == (op.access in (openapi.WRITE, openapi.REPORTER, openapi.STAFF))
        assert ("400" in responses) == bool(op.params or op.body)
        assert all(param.get("example") is not None for param in op.params if param["in"] == "path")
    assert set(api.STATUS_CODES.values()) <= set(openapi.ERROR_CODES)
    assert set(openapi.CLOCK["properties"]["kind"]["enum"]) == set(CLOCK_KINDS)


def test_the_document_is_valid_json_schema_and_its_examples_conform() -> None:
    doc = openapi.document()
    for name, schema in openapi.SCHEMAS.items():
        resolved = {**schema, "components": doc["components"]}
        jsonschema.Draft202012Validator.check_schema(resolved)
        if "example" in schema:
            jsonschema.Draft202012Validator(resolved).validate(schema["example"])
            if name in {op.body for op in openapi.OPERATIONS}:
                assert api.check(schema, schema["example"]) == {}


def test_the_requests_query_keeps_every_request_the_domain_shows(session: Session, world: World) -> None:
    shared = world.entry(ShareType.CONDITIONAL, OpenType.CLOSED, EntryStatus.PUBLISHED)
    on_application = world.entry(ShareType.CONDITIONAL, OpenType.ON_APPLICATION, EntryStatus.PUBLISHED)
    users = world.users
    for name in ("editor_b", "provider_b", "admin_b"):
        dr.submit(session, shared, kind="share", requester=users[name], purpose="核验辖区数据", duty="履职依据", now=NOW)
    dr.submit(session, on_application, kind="open", requester=users["citizen"], purpose="学术研究使用", now=NOW)
    session.commit()
    every = list(session.query(DataRequest))
    user: User
    for user in users.values():
        listed = set(session.scalars(api.requests_query(user)))
        visible = {r for r in every if dr.may_see(user, r)}
        assert visible <= listed, user.username
        page = api.requests_page(session, user, cursor=None, limit=100)
        assert set(page.rows) == visible and page.next_cursor is None
