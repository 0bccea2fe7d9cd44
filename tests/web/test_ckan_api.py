"""The CKAN-compatible Action API over HTTP: CKAN's envelope and status codes, reading with the
visibility and grants of the pages, search parameters, the bulk services, and writing with a
department key through the same authorisation and pipeline as the pages."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal import api_keys, ckan, data_requests
from portal.authz import OPEN_CATALOG, Action, can
from portal.browse import visible_clause
from portal.catalog import create_entry
from portal.models import AuditEvent, Department, Entry, EntryVersion
from portal.pipeline import ingest
from portal.vocab import EntryStatus, OpenType, ShareType

from ..support import NOW, World, entry_fields, login, make_uscc, reviewed

CSV = "station,aqi\r\n明珠广场,64\r\n管委会,80\r\n"


def key_of(session: Session, user: Any, *, write: bool = False) -> str:
    _row, key = api_keys.create_key(session, user, name="测试脚本", scopes=["read", "write"] if write else ["read"], now=NOW)
    session.commit()
    return key


def post(client: FlaskClient, action: str, key: str | None = None, /, **data: Any) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": key} if key else {}
    response = client.post(f"/api/3/action/{action}", json=data, headers=headers)
    assert response.mimetype == "application/json"
    return response.status_code, response.get_json()


def get(client: FlaskClient, action: str, key: str | None = None, /, **params: Any) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": key} if key else {}
    response = client.get(f"/api/3/action/{action}", query_string=params, headers=headers)
    return response.status_code, response.get_json()


def result(client: FlaskClient, action: str, key: str | None = None, /, **data: Any) -> Any:
    status, body = post(client, action, key, **data)
    assert status == 200 and body["success"] is True, body
    return body["result"]


def new_fields(**changes: Any) -> dict[str, Any]:
    """A package_create body with every required catalog field, as a CKAN client sends it."""
    items = [{"name": "station", "title": "监测站点", "data_type": "C", "length": 50}, {"name": "aqi", "title": "空气质量指数", "data_type": "I"}]
    extras = {
        "classification_kind": "theme", "classification_path": "生态环保/大气环境", "classification_code": "2050100",
        "format_class": "电子表格", "share_type": "unconditional", "open_type": "closed", "update_cycle": "daily",
        "security_level": "general", "data_items": json.dumps(items, ensure_ascii=False),
    }
    body = {"title": "经开区噪声监测", "notes": "区内噪声自动监测数据。", "tags": [{"name": "噪声"}, {"name": "环境监测"}],
            "extras": [{"key": k, "value": v} for k, v in extras.items()]}
    body.update(changes)
    return body


@pytest.fixture
def published(session: Session, world: World, app: Flask) -> Entry:
    """A published open entry of 甲局 with one uploaded table."""
    entry = reviewed(session, create_entry(session, department=world.dept_a, fields=entry_fields(title="空气质量小时数据"), actor=None,
                                           now=NOW, status=EntryStatus.PUBLISHED, slug="air-hourly"))
    ingest(session, app.extensions["portal.files"], entry, source=io.BytesIO(CSV.encode()), name="空气质量.csv", actor=None, now=NOW)
    session.commit()
    return entry


# -- the envelope --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/3/action/status_show", "/api/action/status_show"])
def test_both_routes_answer_get_and_post_in_ckans_envelope(client: FlaskClient, world: World, path: str) -> None:
    for response in (client.get(path), client.post(path, json={})):
        assert response.status_code == 200
        body = response.get_json()
        assert body["success"] is True
        assert body["help"] == "http://localhost/api/3/action/help_show?name=status_show"
        assert body["result"]["site_url"] == "http://localhost"


def test_unknown_action_is_a_bad_request(client: FlaskClient, world: World) -> None:
    status, body = post(client, "package_frobnicate")
    assert status == 400 and body["success"] is False
    assert body["error"]["__type"] == "Bad request - Action name not known"
    assert "package_frobnicate" in body["error"]["message"]


def test_requests_that_cannot_be_read_are_bad_requests(client: FlaskClient, world: World) -> None:
    status, body = get(client, "package_create", title="x")
    assert status == 400 and "POST" in body["error"]["message"]
    response = client.post("/api/3/action/package_show", data="{not json", content_type="application/json")
    assert response.status_code == 400 and response.get_json()["error"]["__type"] == "Bad request - JSON Error"
    response = client.post("/api/3/action/package_show", json=["a", "list"])
    assert response.status_code == 400


def test_no_redirects(client: FlaskClient, world: World) -> None:
    for path in ("/api/3/action/package_list/", "/api/action/package_list?limit=5", "/api/3/action/package_list?limit=5"):
        assert client.get(path).status_code not in (301, 302, 303, 307, 308)


def test_refusals_before_the_view_keep_the_envelope(client: FlaskClient, world: World) -> None:
    response = client.get("/api/3/action/package_search", query_string={"q": "a\x00b"})
    assert response.status_code == 400 and response.mimetype == "application/json"
    body = response.get_json()
    assert body["success"] is False and body["error"]["__type"] == "Bad request"
    assert body["help"].endswith("help_show?name=package_search")
    response = client.post("/api/3/action/package_show", json={"id": "a\x00b"})
    assert response.status_code == 400 and response.get_json()["error"]["__type"] == "Bad request - JSON Error"


def test_json_in_a_forms_only_key_as_old_clients_send_it(client: FlaskClient, published: Entry) -> None:
    response = client.post("/api/3/action/package_show", data={json.dumps({"id": "air-hourly"}): ""})
    assert response.status_code == 200 and response.get_json()["result"]["name"] == "air-hourly"
    response = client.post("/api/3/action/package_show", data={"id": "air-hourly"})  # an ordinary form
    assert response.get_json()["result"]["name"] == "air-hourly"


def test_an_unexpected_failure_is_500_without_a_trace(client: FlaskClient, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(call: ckan.Call, data: dict[str, Any]) -> None:
        raise RuntimeError("secret detail /work/main/portal")

    monkeypatch.setitem(ckan.ACTIONS, "status_show", ckan.ActionSpec(broken))
    status, body = post(client, "status_show")
    assert status == 500
    assert body["error"] == {"__type": "Internal Server Error", "message": "Internal Server Error"}
    assert "secret" not in json.dumps(body)


def test_help_show_returns_the_actions_documentation(client: FlaskClient, world: World) -> None:
    assert "fq" in result(client, "help_show", name="package_search")
    status, body = post(client, "help_show", name="no_such_action")
    assert status == 404 and body["error"]["__type"] == "Not Found Error"


# -- reading -------------------------------------------------------------------------------


def test_package_show_carries_ckans_fields_and_the_catalogs_as_extras(client: FlaskClient, published: Entry, world: World) -> None:
    package = result(client, "package_show", id="air-hourly")
    assert package["id"] == ckan.make_id("package", published.id)
    assert package["name"] == "air-hourly" and package["title"] == "空气质量小时数据"
    assert package["state"] == "active" and package["private"] is False and package["type"] == "dataset"
    assert package["organization"]["name"] == world.dept_a.code.lower() and package["organization"]["title"] == "甲局"
    assert package["owner_org"] == package["organization"]["id"]
    assert package["groups"][0]["name"] == "theme-205" and package["groups"][0]["title"] == "生态环保"
    assert package["metadata_created"].startswith("2026-11-25T09:30:00")
    extras = {e["key"]: e["value"] for e in package["extras"]}
    assert extras["share_type"] == "unconditional" and extras["open_type"] == "open" and extras["update_cycle"] == "daily"
    assert extras["resource_code"] == published.resource_code and extras["security_level"] == "general"
    assert [i["name"] for i in json.loads(extras["data_items"])] == ["station", "aqi"]
    assert package["num_resources"] == 1
    resource = package["resources"][0]
    assert resource["package_id"] == package["id"] and resource["format"] == "CSV" and resource["mimetype"] == "text/csv"
    assert resource["hash"].startswith("sha256:") and resource["size"] == len(CSV.encode())
    assert resource["validation_status"] == "success" and resource["row_count"] == 2
    assert resource["url"].startswith("http://localhost/catalog/air-hourly/files/")
    with client.get(resource["url"]) as download:
        assert download.status_code == 200 and download.get_data() == CSV.encode()
    assert result(client, "package_show", id=package["id"])["name"] == "air-hourly"  # by id as well as by name
    assert result(client, "resource_show", id=resource["id"]) == resource


def test_visibility_is_the_pages_own(client: FlaskClient, session: Session, world: World) -> None:
    keys = {name: key_of(session, world.users[name]) for name in ("editor_a", "editor_b", "citizen", "reviewer")}
    keys["anonymous"] = None  # type: ignore[assignment]
    for name, key in keys.items():
        user = world.users.get(name)
        for entry in world.entries:
            status, body = post(client, "package_show", key, id=entry.slug)
            assert (status == 200) == can(user, Action.VIEW_ENTRY, entry), (name, entry.title)
            if status == 404:
                assert body["error"]["__type"] == "Not Found Error"


def test_package_search_and_list_follow_ckans_private_and_state_flags(client: FlaskClient, session: Session, world: World) -> None:
    for name in ("editor_a", "editor_b", "bureau", "citizen"):
        user = world.users[name]
        key = key_of(session, user)
        public = {e.slug for e in world.entries if e.status == EntryStatus.PUBLISHED and e.open_type in OPEN_CATALOG}
        visible = set(session.scalars(select(Entry.slug).where(visible_clause(user))))
        visible_published = {e.slug for e in world.entries if e.slug in visible and e.status == EntryStatus.PUBLISHED}
        found = result(client, "package_search", key, rows=100)
        assert {p["name"] for p in found["results"]} == public and found["count"] == len(public)
        found = result(client, "package_search", key, rows=100, include_private=True)
        assert {p["name"] for p in found["results"]} == visible_published
        found = result(client, "package_search", key, rows=100, include_private=True, include_drafts=True, include_deleted=True)
        assert {p["name"] for p in found["results"]} == visible
        assert set(result(client, "package_list", key, limit=100)) == public
        assert set(result(client, "package_list", key, limit=100, include_private=True)) == visible_published


def test_search_words_filters_facets_and_sorting(client: FlaskClient, sample_catalog: None, session: Session) -> None:
    found = result(client, "package_search", q="空气质量", **{"facet.field": '["organization","share_type","groups","tags"]'})
    assert [p["name"] for p in found["results"]][0] == "air-quality-hourly"
    assert found["facets"]["share_type"]["unconditional"] >= 1
    items = found["search_facets"]["organization"]["items"]
    assert items and all(set(i) == {"name", "display_name", "count"} for i in items)
    environment = session.scalar(select(Department).where(Department.name.like("%生态环境%")))
    assert environment is not None
    org = environment.code.lower()
    only = result(client, "package_search", fq=f"organization:{org}")
    assert {p["organization"]["name"] for p in only["results"]} == {org} and only["count"] >= 1
    assert result(client, "package_search", fq="groups:theme-205")["count"] == only["count"]
    assert result(client, "package_search", fq="tags:空气质量")["results"][0]["name"] == "air-quality-hourly"
    assert result(client, "package_search", fq="res_format:csv")["count"] == result(client, "package_search")["count"]
    assert result(client, "package_search", fq="share_type:有条件共享")["count"] == result(client, "package_search", fq="extras_share_type:conditional")["count"]
    everything = result(client, "package_search", rows=50)["count"]
    assert result(client, "package_search", fq=f"-organization:{org}")["count"] == everything - only["count"]
    by_name = [p["name"] for p in result(client, "package_search", sort="name asc", rows=50)["results"]]
    assert by_name == sorted(by_name)
    newest = result(client, "package_search", fq="metadata_modified:[2000-01-01T00:00:00Z TO *]")
    assert newest["count"] == everything
    assert result(client, "package_search", fq="metadata_modified:[* TO 2000-01-01T00:00:00Z]")["count"] == 0


@pytest.mark.parametrize("params, field", [
    ({"fq": "author:someone"}, "fq"),
    ({"fq": "organization:a*"}, "fq"),
    ({"fq": "share_type:sometimes"}, "fq"),
    ({"fq": "organization:x OR"}, "fq"),
    ({"sort": "popularity desc"}, "sort"),
    ({"rows": "many"}, "rows"),
    ({"start": "-1"}, "start"),
    ({"facet.field": '["author"]'}, "facet.field"),
    ({"include_private": "perhaps"}, "include_private"),
])
def test_search_parameters_it_cannot_honour_are_validation_errors(client: FlaskClient, world: World, params: dict[str, str], field: str) -> None:
    status, body = get(client, "package_search", **params)
    assert status == 409
    assert body["error"]["__type"] == "Validation Error" and isinstance(body["error"][field], list)


def test_paging_past_the_end_is_empty_and_id_order_pages_through_everything(client: FlaskClient, session: Session, world: World) -> None:
    key = key_of(session, world.users["editor_b"])
    seen: list[str] = []
    start = 0
    while True:  # as ckanext-harvest's CKAN harvester pages
        page = result(client, "package_search", key, rows=2, start=start, sort="id asc", include_private=True)
        if not page["results"]:
            break
        seen += [p["id"] for p in page["results"]]
        start += 2
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == page["count"]
    assert result(client, "package_search", key, q="甲局资源", rows=5, start=500)["results"] == []


def test_organizations_groups_and_tags(client: FlaskClient, sample_catalog: None, session: Session) -> None:
    names = result(client, "organization_list")
    codes = set(session.scalars(select(Department.code)))
    assert set(names) == {c.lower() for c in codes}
    orgs = result(client, "organization_list", all_fields=True, sort="package_count")
    assert orgs[0]["package_count"] >= orgs[-1]["package_count"]
    first = orgs[0]
    shown = result(client, "organization_show", id=first["name"].upper(), include_datasets=True)
    assert shown["id"] == first["id"] and len(shown["packages"]) == min(first["package_count"], 10)
    assert {e["key"] for e in shown["extras"]} >= {"uscc", "parent"}
    groups = result(client, "group_list", all_fields=True)
    theme = next(g for g in groups if g["name"] == "theme-205")
    assert theme["title"] == "生态环保"
    group = result(client, "group_show", id="theme-205", include_datasets=True)
    assert group["package_count"] == len(group["packages"]) == theme["package_count"]
    assert result(client, "group_show", id=group["id"])["name"] == "theme-205"
    assert post(client, "group_show", id="theme-999")[0] == 404
    assert "空气质量" in result(client, "tag_list")
    assert result(client, "tag_list", query="空气") == [t for t in result(client, "tag_list") if "空气" in t]


# -- bulk services -------------------------------------------------------------------------


def test_bulk_services_need_a_real_name_or_a_department(client: FlaskClient, session: Session, world: World) -> None:
    citizen, department = key_of(session, world.users["citizen"]), key_of(session, world.users["editor_b"])
    for name, data in [("package_search", {"rows": 101}), ("current_package_list_with_resources", {}), ("package_list", {})]:
        for key in (None, citizen):
            status, body = post(client, name, key, **data)
            assert status == 403 and body["error"]["__type"] == "Authorization Error", (name, key)
            assert "实名认证" in body["error"]["message"]
        assert post(client, name, department, **data)[0] == 200
    assert post(client, "package_search", None, rows=100)[0] == 200
    assert post(client, "package_list", None, limit=100)[0] == 200
    listed = result(client, "current_package_list_with_resources", department, limit=3)
    assert len(listed) == 3 and listed[0]["metadata_modified"] >= listed[-1]["metadata_modified"]


# -- grants --------------------------------------------------------------------------------


def test_a_grantee_gets_the_granted_items_as_csv(client: FlaskClient, session: Session, world: World, app: Flask) -> None:
    entry = world.entry(ShareType.UNCONDITIONAL, OpenType.ON_APPLICATION, EntryStatus.PUBLISHED)
    ingest(session, app.extensions["portal.files"], entry, source=io.BytesIO(CSV.encode()), name="数据.csv", actor=None, now=NOW)
    citizen = world.users["citizen"]
    request = data_requests.submit(session, entry, kind="open", requester=citizen, purpose="学术研究使用", items=["aqi"], now=NOW)
    data_requests.accept(session, request, actor=world.users["admin_a"], now=NOW)
    data_requests.approve(session, request, actor=world.users["admin_a"], now=NOW, expires_on=date.today() + timedelta(days=30))
    session.commit()
    anonymous = result(client, "package_show", id=entry.slug)["resources"][0]
    assert anonymous["downloadable"] is False and anonymous["download_formats"] == {}
    granted = result(client, "package_show", key_of(session, citizen), id=entry.slug)["resources"][0]
    assert granted["downloadable"] is True and granted["url"].endswith("/csv")
    login(client, "citizen")  # the download pages know the signed-in user
    with client.get(granted["url"]) as download:
        assert download.status_code == 200
        assert "station" not in download.get_data(as_text=True).splitlines()[0]


# -- writing -------------------------------------------------------------------------------


def test_writes_need_a_key_with_the_write_scope(client: FlaskClient, session: Session, world: World) -> None:
    assert post(client, "package_create", None, **new_fields())[0] == 403
    assert post(client, "package_create", key_of(session, world.users["editor_a"]), **new_fields())[0] == 403  # read only
    login(client, "editor_a")
    status, body = post(client, "package_create", None, **new_fields())  # a browser session may read only
    assert status == 403 and body["error"]["__type"] == "Authorization Error"
    assert post(client, "package_create", "zk_not-a-key", **new_fields())[0] == 403


def test_editor_creates_a_draft_and_only_the_administrator_publishes(client: FlaskClient, session: Session, world: World) -> None:
    editor, admin = key_of(session, world.users["editor_a"], write=True), key_of(session, world.users["admin_a"], write=True)
    created = result(client, "package_create", editor, **new_fields())
    assert created["state"] == "draft" and created["organization"]["name"] == world.dept_a.code.lower()
    assert {t["name"] for t in created["tags"]} == {"噪声", "环境监测"} and created["notes"] == "区内噪声自动监测数据。"
    status, body = post(client, "package_patch", editor, id=created["id"], state="active")
    assert status == 403
    denied = session.scalars(select(AuditEvent).where(AuditEvent.action == "authz:denied")).all()
    assert denied and denied[-1].actor == "editor_a"
    published = result(client, "package_patch", admin, id=created["name"], state="active")
    assert published["state"] == "active"
    assert post(client, "package_show", None, id=created["name"])[0] == 404  # closed: not in the open catalog
    assert result(client, "package_show", key_of(session, world.users["editor_b"]), id=created["name"])["private"] is True  # shared
    withdrawn = post(client, "package_delete", admin, id=created["id"])
    assert withdrawn == (200, {"help": "http://localhost/api/3/action/help_show?name=package_delete", "success": True, "result": None})
    assert result(client, "package_show", admin, id=created["id"])["state"] == "deleted"


def test_other_departments_cannot_write(client: FlaskClient, session: Session, world: World, published: Entry) -> None:
    other = key_of(session, world.users["editor_b"], write=True)
    status, body = post(client, "package_create", other, **new_fields(owner_org=world.dept_a.code.lower()))
    assert status == 403
    status, body = post(client, "package_patch", other, id=published.slug, title="改名")
    assert status == 403  # visible (shared), not editable
    draft = world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.DRAFT)
    assert post(client, "package_patch", other, id=draft.slug, title="改名")[0] == 404  # not even visible


def test_validation_errors_name_ckans_fields_in_chinese(client: FlaskClient, session: Session, world: World) -> None:
    editor = key_of(session, world.users["editor_a"], write=True)
    status, body = post(client, "package_create", editor, **new_fields(title="", extras=[{"key": "share_type", "value": "none"}]))
    assert status == 409 and body["error"]["__type"] == "Validation Error"
    assert body["error"]["title"] == ["请填写资源名称"]
    assert "legal_basis" in body["error"] and "classification_code" in body["error"]
    status, body = post(client, "package_create", editor, **new_fields(extras=[{"key": "colour", "value": "blue"}]))
    assert status == 409 and "colour" in body["error"]["extras"][0]
    items = json.dumps([{"name": "1bad", "title": "坏字段", "data_type": "C"}])
    status, body = post(client, "package_create", editor, **new_fields(data_items=items))
    assert status == 409 and "data_items" in body["error"]


def test_patch_keeps_the_rest_and_a_shown_dict_updates_to_itself(client: FlaskClient, session: Session, world: World, published: Entry) -> None:
    editor = key_of(session, world.users["editor_a"], write=True)
    versions = session.scalar(select(func.count(EntryVersion.id)).where(EntryVersion.entry_id == published.id))
    shown = result(client, "package_show", editor, id=published.slug)
    assert result(client, "package_update", editor, **shown)["extras"] == shown["extras"]
    assert session.scalar(select(func.count(EntryVersion.id)).where(EntryVersion.entry_id == published.id)) == versions
    patched = result(client, "package_patch", editor, id=published.slug, notes="新的摘要", share_type="conditional", share_condition="仅限履职使用")
    extras = {e["key"]: e["value"] for e in patched["extras"]}
    assert patched["notes"] == "新的摘要" and patched["title"] == shown["title"] and extras["share_type"] == "conditional"
    assert extras["data_items"] == {e["key"]: e["value"] for e in shown["extras"]}["data_items"]
    status, body = post(client, "package_patch", editor, id=published.slug, resources=[])
    assert status == 409 and "resource_create" in body["error"]["resources"][0]


def test_an_open_type_under_review_survives_an_update_round_trip(client: FlaskClient, session: Session, world: World) -> None:
    editor = key_of(session, world.users["editor_a"], write=True)
    created = result(client, "package_create", editor, **new_fields(extras=[*new_fields()["extras"][:-1]]))
    proposed = result(client, "package_patch", editor, id=created["id"], open_type="open")
    extras = {e["key"]: e["value"] for e in proposed["extras"]}
    assert extras["open_type"] == "closed" and extras["open_type_proposed"] == "open"  # in effect only once reviewed
    again = result(client, "package_update", editor, **proposed)
    assert {e["key"]: e["value"] for e in again["extras"]}["open_type_proposed"] == "open"
    assert post(client, "package_show", None, id=created["id"])[0] == 404  # a draft: its department's alone


def test_resources_upload_through_the_pipeline(client: FlaskClient, session: Session, world: World, published: Entry) -> None:
    provider = key_of(session, world.users["provider_a"], write=True)
    headers = {"Authorization": provider}
    response = client.post("/api/3/action/resource_create", headers=headers, content_type="multipart/form-data",
                           data={"package_id": published.slug, "name": "第二季度", "upload": (io.BytesIO(b"station,aqi\n\xe6\x98\x8e,x\n"), "q2.csv")})
    assert response.status_code == 200, response.get_json()
    created = response.get_json()["result"]
    assert created["name"] == "第二季度" and created["file_name"] == "q2.csv"
    assert created["validation_status"] == "failure" and created["validation_errors"] == 1  # "x" is no integer
    assert result(client, "package_show", id=published.slug)["num_resources"] == 1  # the failed table stays with its department
    assert result(client, "package_show", provider, id=published.slug)["num_resources"] == 2
    response = client.post("/api/3/action/resource_update", headers=headers, content_type="multipart/form-data",
                           data={"id": created["id"], "upload": (io.BytesIO(b"station,aqi\n\xe6\x98\x8e,7\n"), "q2.csv")})
    updated = response.get_json()["result"]
    assert updated["id"] == created["id"] and updated["validation_status"] == "success" and updated["hash"] != created["hash"]
    assert result(client, "resource_update", provider, id=created["id"], name="二季度")["name"] == "二季度"
    assert result(client, "resource_delete", provider, id=created["id"]) is None
    assert post(client, "resource_show", provider, id=created["id"])[0] == 404
    assert result(client, "package_show", provider, id=published.slug)["num_resources"] == 1
    status, body = post(client, "resource_create", provider, package_id=published.slug, url="http://example.com/x.csv")
    assert status == 409 and "upload" in body["error"]


def test_an_upload_over_the_limit_is_413_and_keeps_nothing(client: FlaskClient, app: Flask, session: Session, world: World, published: Entry) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1000
    provider = key_of(session, world.users["provider_a"], write=True)
    response = client.post("/api/3/action/resource_create", headers={"Authorization": provider}, content_type="multipart/form-data",
                           data={"package_id": published.slug, "upload": (io.BytesIO(b"a,b\n" * 1000), "big.csv")})
    assert response.status_code == 413
    assert response.get_json()["error"]["__type"] == "Validation Error" and "upload" in response.get_json()["error"]
    assert result(client, "package_show", provider, id=published.slug)["num_resources"] == 1


def test_organizations_are_created_and_renamed_by_the_bureau_only(client: FlaskClient, session: Session, world: World) -> None:
    bureau, editor = key_of(session, world.users["bureau"], write=True), key_of(session, world.users["editor_a"], write=True)
    code = make_uscc(77)
    data = {"name": code.lower(), "title": "丙局", "extras": [{"key": "parent", "value": world.dept_a.code.lower()}]}
    assert post(client, "organization_create", editor, **data)[0] == 403
    created = result(client, "organization_create", bureau, **data)
    assert created["name"] == code.lower() and created["title"] == "丙局"
    assert {e["key"]: e["value"] for e in created["extras"]}["parent"] == world.dept_a.code.lower()
    status, body = post(client, "organization_create", bureau, **data)
    assert status == 409 and "name" in body["error"] and "title" in body["error"]
    status, body = post(client, "organization_create", bureau, name="not-a-code", title="丁局")
    assert status == 409 and "name" in body["error"]
    renamed = result(client, "organization_update", bureau, id=created["id"], title="丙局（新）")
    assert renamed["title"] == "丙局（新）" and renamed["name"] == created["name"]
    actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("department:%"))))
    assert actions == ["department:create", "department:update"]


def test_the_bureau_creates_entries_for_any_department(client: FlaskClient, session: Session, world: World) -> None:
    bureau = key_of(session, world.users["bureau"], write=True)
    created = result(client, "package_create", bureau, **new_fields(owner_org=world.dept_b.code.lower(), name="noise-b"))
    assert created["name"] == "noise-b" and created["organization"]["title"] == "乙局"
    status, body = post(client, "package_create", bureau, **new_fields())  # the Bureau has no department of its own
    assert status == 409 and "owner_org" in body["error"]


def test_provider_may_upload_but_not_edit(client: FlaskClient, session: Session, world: World, published: Entry) -> None:
    provider = key_of(session, world.users["provider_a"], write=True)
    assert post(client, "package_patch", provider, id=published.slug, title="改名")[0] == 403
    assert post(client, "package_delete", provider, id=published.slug)[0] == 403
