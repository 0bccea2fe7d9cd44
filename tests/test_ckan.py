"""The catalog in CKAN's words (`portal.ckan`), without HTTP: identifiers, the filter and sort
syntax, the bulk rule, error keys, both search paths agreeing, package dicts and resource ids."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from portal import ckan
from portal.ckan import Clause, make_id, needs_bulk, parse_fq, parse_sort, read_id
from portal.errors import Invalid, NotFound
from portal.models import Department, Entry, EntryFile
from portal.pipeline import ingest
from portal.vocab import EntryStatus, OpenType, ShareType

from .support import NOW, World


class Links:
    site = "http://portal.test"

    def entry(self, entry: Entry) -> str:
        return f"{self.site}/catalog/{entry.slug}"

    def download(self, record: EntryFile) -> str:
        return f"{self.site}/files/{record.id}"

    def download_as(self, record: EntryFile, fmt: str) -> str:
        return f"{self.site}/files/{record.id}/{fmt}"

    def department(self, department: Department) -> str:
        return f"{self.site}/departments/{department.id}"


def call_as(session: Session, app: Flask, user: Any = None) -> ckan.Call:
    return ckan.Call(session=session, user=user, now=NOW, links=Links(), search=app.extensions["portal.search"],
                     store=app.extensions["portal.files"])


# -- pure ----------------------------------------------------------------------------------


def test_ids_are_uuids_that_carry_the_number_and_sort_as_it_does() -> None:
    import uuid

    ids = [make_id("package", n) for n in (1, 9, 10, 255, 4096, 10**9)]
    assert all(uuid.UUID(i).version == 8 for i in ids)
    assert [read_id("package", i) for i in ids] == [1, 9, 10, 255, 4096, 10**9]
    assert ids == sorted(ids)
    assert read_id("resource", ids[0]) is None  # a package id names no resource
    assert read_id("package", "air-quality-hourly") is None and read_id("package", None) is None


@pytest.mark.parametrize("text, expected", [
    ("", []),
    ("organization:abc", [[Clause(False, "organization", ("abc",))]]),
    ("+organization:abc -tags:空气", [[Clause(False, "organization", ("abc",))], [Clause(True, "tags", ("空气",))]]),
    ("organization:a OR organization:b groups:theme-205", [
        [Clause(False, "organization", ("a",)), Clause(False, "organization", ("b",))], [Clause(False, "groups", ("theme-205",))]]),
    ('tags:"air quality" AND state:(active OR draft)', [
        [Clause(False, "tags", ("air quality",))], [Clause(False, "state", ("active", "draft"))]]),
    ("metadata_modified:[2026-01-01T00:00:00.123456Z TO *]", [
        [Clause(False, "metadata_modified", (), ("2026-01-01T00:00:00.123456Z", "*", True, True))]]),
    (r"metadata_modified:{2026-01-01T00\:00\:00Z TO NOW]", [
        [Clause(False, "metadata_modified", (), ("2026-01-01T00:00:00Z", "NOW", False, True))]]),
    ("*:*", [[Clause(False, "*")]]),
])
def test_parse_fq(text: str, expected: list[list[Clause]]) -> None:
    assert parse_fq(text) == expected


@pytest.mark.parametrize("text", ["OR organization:a", "organization:a OR", "just words", "tags:空*", "state:(a AND b)", "metadata_modified:[2026]"])
def test_parse_fq_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(Invalid) as refused:
        parse_fq(text)
    assert "fq" in refused.value.errors


def test_parse_sort() -> None:
    assert parse_sort("") == [("score", True), ("metadata_modified", True)]
    assert parse_sort("id asc") == [("id", False)]
    assert parse_sort("title_string desc, name") == [("title_string", True), ("name", False)]
    with pytest.raises(Invalid):
        parse_sort("popularity desc")
    with pytest.raises(Invalid):
        parse_sort("name upwards")


@pytest.mark.parametrize("action, data, bulk", [
    ("package_search", {}, False),
    ("package_search", {"rows": "100"}, False),
    ("package_search", {"rows": 101}, True),
    ("package_search", {"rows": "5000"}, True),
    ("package_search", {"rows": "many"}, False),  # the action reports the bad value
    ("package_list", {}, True),
    ("package_list", {"limit": 100}, False),
    ("package_list", {"limit": 101}, True),
    ("current_package_list_with_resources", {"limit": 1}, True),
    ("package_show", {"id": "x"}, False),
])
def test_needs_bulk(action: str, data: dict[str, Any], bulk: bool) -> None:
    assert needs_bulk(action, data) is bulk


def test_errors_use_ckans_keys() -> None:
    errors = {"abstract": "a", "keywords": "k", "items.2": "第2个", "items.3": "第3个", "slug": "s", "legal_basis": "l", "file": "f", "fq": "q"}
    assert ckan.ckan_errors(errors) == {
        "notes": "a", "tags": "k", "data_items": "第2个；第3个", "name": "s", "legal_basis": "l", "upload": "f", "fq": "q",
    }


def test_every_action_is_documented() -> None:
    for name, spec in ckan.ACTIONS.items():
        assert spec.help and ":param" in spec.help or name == "status_show", name


# -- with the catalog ----------------------------------------------------------------------


QUERIES = [
    {"q": "甲局资源"},
    {"q": "甲局资源", "fq": "share_type:conditional"},
    {"q": "资源 -none", "facet.field": '["organization", "share_type", "open_type"]'},
    {"q": "甲局", "rows": 4, "start": 4, "include_private": True, "facet.field": '["update_cycle"]'},
    {"q": "甲局资源", "sort": "title_string asc", "rows": 5},
    {"q": "甲局资源", "fq": "organization:{org}", "include_private": True, "include_drafts": True, "include_deleted": True},
]


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("who", [None, "editor_b", "reviewer", "bureau"])
def test_the_index_path_and_the_database_path_agree(session: Session, app: Flask, world: World, query: dict[str, Any],
                                                     who: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    query = {k: v.format(org=world.dept_a.code.lower()) if isinstance(v, str) else v for k, v in query.items()}
    call = call_as(session, app, world.users.get(who or ""))
    fast = ckan.package_search(call, dict(query))
    monkeypatch.setattr(ckan.search, "_search_index", lambda *args: None)  # where package_search looks it up
    slow = ckan.package_search(call, dict(query))
    assert fast["count"] == slow["count"]
    assert [p["name"] for p in fast["results"]] == [p["name"] for p in slow["results"]]
    assert fast["facets"] == slow["facets"]


def test_package_state_and_privacy(session: Session, app: Flask, world: World) -> None:
    call = call_as(session, app, world.users["bureau"])
    for entry in world.entries:
        package = ckan.package_show(call, {"id": entry.slug})
        assert package["state"] == {EntryStatus.PUBLISHED: "active", EntryStatus.DRAFT: "draft", EntryStatus.WITHDRAWN: "deleted"}[entry.status]
        public = entry.status == EntryStatus.PUBLISHED and entry.open_type in (OpenType.OPEN, OpenType.ON_APPLICATION)
        assert package["private"] is not public


def test_a_resource_keeps_its_id_across_revisions_and_leaves_on_delete(session: Session, app: Flask, world: World) -> None:
    entry = world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.PUBLISHED)
    store = app.extensions["portal.files"]
    first = ingest(session, store, entry, source=io.BytesIO(b"station,aqi\nA,1\n"), name="a.csv", actor=None, now=NOW)
    session.commit()
    call = call_as(session, app, world.users["provider_a"])
    resource_id = ckan.package_show(call, {"id": entry.slug})["resources"][0]["id"]
    assert resource_id == make_id("resource", first.id)
    second = ingest(session, store, entry, source=io.BytesIO(b"station,aqi\nA,2\n"), name="a.csv", actor=None, now=NOW)
    session.commit()
    assert second.id != first.id
    shown = ckan.resource_show(call, {"id": resource_id})
    assert shown["id"] == resource_id and shown["last_modified"] >= shown["created"]
    assert ckan.resource_show(call, {"id": make_id("resource", second.id)})["id"] == resource_id  # any revision finds it
    ckan.resource_delete(call, {"id": resource_id})
    session.commit()
    with pytest.raises(NotFound):
        ckan.resource_show(call, {"id": resource_id})
    assert ckan.package_show(call, {"id": entry.slug})["resources"] == []


def test_words_of_fielded_q_are_searched_and_filters_moved(session: Session, app: Flask, world: World) -> None:
    call = call_as(session, app)
    moved = ckan.package_search(call, {"q": "title:甲局资源 share_type:conditional"})
    direct = ckan.package_search(call, {"q": "甲局资源", "fq": "share_type:conditional"})
    assert moved["count"] == direct["count"] > 0


def test_active_grants_agree_with_data_requests(session: Session, app: Flask, world: World) -> None:
    from datetime import date, timedelta

    from portal import data_requests
    from portal.authz import Action, can

    until = date.today() + timedelta(days=30)
    opened = world.entry(ShareType.UNCONDITIONAL, OpenType.ON_APPLICATION, EntryStatus.PUBLISHED)
    shared = world.entry(ShareType.CONDITIONAL, OpenType.CLOSED, EntryStatus.PUBLISHED)
    for entry, requester, kind in ((opened, "citizen", "open"), (shared, "editor_b", "share")):
        request = data_requests.submit(session, entry, kind=kind, requester=world.users[requester], purpose="履职与研究使用",
                                       duty="市场监管职责", now=NOW)
        data_requests.accept(session, request, actor=world.users["admin_a"], now=NOW)
        data_requests.approve(session, request, actor=world.users["admin_a"], now=NOW, expires_on=until)
    session.commit()
    found = 0
    for name, user in world.users.items():
        grants = ckan.active_grants(call_as(session, app, user), world.entries)
        for entry in world.entries:
            expected = None if can(user, Action.DOWNLOAD, entry) else data_requests.active_grant(session, user, entry, data_requests.china_day(NOW))
            assert grants.get(entry.id) is expected, (name, entry.title)
            found += expected is not None
    assert found == 1 + 3  # the citizen; and every staff member of 乙局 under the share grant
