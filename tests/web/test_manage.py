"""Departments compiling their catalog over HTTP, with authorization checked on the server."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Entry, EntryVersion
from portal.vocab import EntryStatus, OpenType, ShareType

from ..support import World, csrf_token, login

FORM = {
    "title": "经开区重点污染源在线监测数据",
    "abstract": "重点排污单位废气排放在线监测小时均值。",
    "keywords": "污染源、在线监测",
    "classification_kind": "theme",
    "classification_path": "生态环保/污染源",
    "classification_code": "2050200",
    "format_class": "spreadsheet",
    "format_type": "CSV",
    "update_cycle": "daily",
    "share_type": "unconditional",
    "open_type": "open",
    "security_level": "general",
    "items-1-title": "排污单位名称",
    "items-1-name": "company",
    "items-1-data_type": "C",
    "items-1-length": "100",
    "items-2-title": "二氧化硫排放浓度",
    "items-2-name": "so2",
    "items-2-data_type": "N",
    "items-3-title": "",
    "items-3-name": "",
    "items-3-data_type": "C",
}


def post(client: FlaskClient, url: str, data: dict, page: str = "/") -> object:
    return client.post(url, data={**data, "csrf_token": csrf_token(client, page)})


def test_editor_creates_an_entry_through_the_form(client: FlaskClient, world: World, session: Session) -> None:
    login(client, "editor_a")
    assert client.get("/manage/entries/new").status_code == 200
    response = post(client, "/manage/entries/new", {**FORM, "department": world.dept_a.id})
    assert response.status_code == 302
    entry = session.scalar(select(Entry).where(Entry.title == FORM["title"]))
    assert entry is not None
    assert entry.resource_code == "2050200/000001" and entry.status == EntryStatus.DRAFT
    assert [i.name for i in entry.items] == ["company", "so2"] and entry.items[0].length == 100
    assert entry.department_id == world.dept_a.id
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已创建草稿" in page and "二氧化硫排放浓度" in page


def test_editor_cannot_create_in_another_department(client: FlaskClient, world: World, session: Session) -> None:
    login(client, "editor_a")
    response = post(client, "/manage/entries/new", {**FORM, "department": world.dept_b.id})
    assert response.status_code == 400 and "请选择提供方部门" in response.get_data(as_text=True)
    assert session.scalar(select(Entry).where(Entry.title == FORM["title"])) is None


def test_invalid_input_keeps_what_was_typed_and_explains_in_chinese(client: FlaskClient, world: World) -> None:
    login(client, "editor_a")
    response = post(client, "/manage/entries/new", {**FORM, "department": world.dept_a.id, "share_type": "none", "personal_information": "on"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "必须填写法律、法规、规章" in page and "含个人信息的信息资源不能无条件开放" in page
    assert FORM["title"] in page and 'value="二氧化硫排放浓度"' in page


@pytest.mark.parametrize("user, status", [(None, 302), ("citizen", 403), ("provider_a", 403), ("auditor", 403), ("reviewer", 403)])
def test_who_may_not_open_the_new_entry_form(client: FlaskClient, world: World, user: str | None, status: int) -> None:
    if user:
        login(client, user)
    assert client.get("/manage/entries/new").status_code == status


def test_edit_is_versioned_and_shown_in_history(client: FlaskClient, world: World, session: Session) -> None:
    entry = world.entries[0]
    start = entry.version
    login(client, "editor_a")
    form = client.get(f"/catalog/{entry.slug}/edit").get_data(as_text=True)
    assert entry.title in form
    data = {**FORM, "title": "改过的名称", "share_type": entry.share_type.value, "open_type": entry.open_type.value,
            "security_level": entry.security_level.value, "classification_code": entry.classification_code,
            "share_condition": entry.share_condition, "open_condition": entry.open_condition, "legal_basis": entry.legal_basis}
    response = post(client, f"/catalog/{entry.slug}/edit", data)
    assert response.status_code == 302
    history = client.get(f"/catalog/{entry.slug}/history").get_data(as_text=True)
    assert "改过的名称" in history and entry.title in history and "editor_a" in history
    assert session.scalar(select(EntryVersion).where(EntryVersion.entry_id == entry.id, EntryVersion.number == start + 1)) is not None
    # saving the same values again is not a new version
    post(client, f"/catalog/{entry.slug}/edit", data)
    session.expire_all()
    assert session.get(Entry, entry.id).version == start + 1  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "user, status",
    [("editor_b", 404), ("admin_b", 404), ("provider_a", 403), ("citizen", 404), ("reviewer", 404)],
)
def test_others_cannot_edit_a_draft(client: FlaskClient, world: World, user: str, status: int) -> None:
    draft = world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.DRAFT)
    login(client, user)
    assert client.get(f"/catalog/{draft.slug}/edit").status_code == status
    response = post(client, f"/catalog/{draft.slug}/edit", {**FORM})
    assert response.status_code == status


def test_other_department_can_see_but_not_edit_a_published_entry(client: FlaskClient, world: World) -> None:
    entry = world.entry(ShareType.CONDITIONAL, OpenType.CLOSED, EntryStatus.PUBLISHED)
    login(client, "editor_b")
    page = client.get(f"/catalog/{entry.slug}").get_data(as_text=True)
    assert entry.title in page and "编辑" not in page.split("<main", 1)[1].split("资源信息")[0]
    assert client.get(f"/catalog/{entry.slug}/edit").status_code == 403
    assert post(client, f"/catalog/{entry.slug}/publish", {}).status_code == 403
    assert post(client, f"/catalog/{entry.slug}/withdraw", {}).status_code == 403


def test_department_admin_publishes_once_even_when_clicked_twice(client: FlaskClient, world: World, session: Session) -> None:
    draft = world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.DRAFT)
    login(client, "editor_a")
    assert post(client, f"/catalog/{draft.slug}/publish", {}).status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, "admin_a")
    for _ in range(2):
        assert post(client, f"/catalog/{draft.slug}/publish", {}).status_code == 302
    assert session.query(EntryVersion).filter_by(entry_id=draft.id, action="publish").count() == 1
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert client.get(f"/catalog/{draft.slug}").status_code == 200  # now in the open catalog
