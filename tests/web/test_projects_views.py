"""IT projects over HTTP (Art. 9): a department registers a project with its pre-compiled catalog,
the Bureau records the approval, acceptance is refused until every entry is published, then
recorded; a second click answers 409; other departments and the public are refused on the
server; every form needs its CSRF token."""

from __future__ import annotations

from datetime import datetime, timezone

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import catalog
from portal.models import Entry, ItProject

from ..support import World, csrf_token, entry_fields, login


def _draft(session: Session, world: World, title: str) -> Entry:
    entry = catalog.create_entry(session, department=world.dept_a, fields=entry_fields(title=title), actor=world.users["editor_a"],
                                 now=datetime(2026, 3, 1, tzinfo=timezone.utc))
    session.commit()
    return entry


def _as(client: FlaskClient, username: str) -> None:
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, username)


def _post(client: FlaskClient, url: str, page: str, **form: str):  # type: ignore[no-untyped-def]
    return client.post(url, data={**form, "csrf_token": csrf_token(client, page)})


def test_a_project_from_registration_to_acceptance(client: FlaskClient, session: Session, world: World) -> None:
    spaces, lots = _draft(session, world, "停车泊位实时数据"), _draft(session, world, "停车场基础信息")
    login(client, "editor_a")
    refused = _post(client, "/projects/new", "/projects/new", name="智慧停车平台", entries="不存在的资源")
    assert refused.status_code == 400 and "不是本部门的目录条目" in refused.get_data(as_text=True) and "智慧停车平台" in refused.get_data(as_text=True)
    made = _post(client, "/projects/new", "/projects/new", name="经开区智慧停车平台", code="JK-2026-017", entries=f"{spaces.resource_code}\n停车场基础信息")
    assert made.status_code == 302
    project = session.scalars(select(ItProject)).one()
    url = f"/projects/{project.id}"
    assert made.headers["Location"].endswith(url)
    page = client.get(url).get_data(as_text=True)
    assert "停车泊位实时数据" in page and "停车场基础信息" in page and 'name="reference"' not in page  # the department does not decide

    _as(client, "bureau")
    assert f'href="{url}"' in client.get("/work").get_data(as_text=True)
    assert _post(client, f"{url}/approve", url, reference="合经开发改〔2026〕12号", version=str(project.version)).status_code == 302
    again = _post(client, f"{url}/approve", url, reference="合经开发改〔2026〕12号", version=str(project.version))
    assert again.status_code == 409  # the second click of the same form
    early = client.post(f"{url}/accept", data={"reference": "验收意见〔2026〕3号", "csrf_token": csrf_token(client, url)}, follow_redirects=True)
    assert "尚有2个目录条目未发布" in early.get_data(as_text=True)
    for entry in (spaces, lots):
        catalog.publish_entry(session, entry, actor=world.users["admin_a"], now=datetime(2026, 10, 9, tzinfo=timezone.utc))
    session.commit()
    assert "预编目录已全部发布" in client.get(url).get_data(as_text=True)
    assert _post(client, f"{url}/accept", url, reference="验收意见〔2026〕3号").status_code == 302
    session.expire_all()
    assert session.get(ItProject, project.id).state == "accepted"  # type: ignore[union-attr]
    assert "已验收" in client.get("/projects").get_data(as_text=True)


def test_others_are_refused_on_the_server(client: FlaskClient, session: Session, world: World) -> None:
    entry = _draft(session, world, "停车泊位实时数据")
    login(client, "editor_a")
    _post(client, "/projects/new", "/projects/new", name="经开区智慧停车平台", entries=entry.resource_code)
    project = session.scalars(select(ItProject)).one()
    url = f"/projects/{project.id}"
    assert client.post(f"{url}/approve", data={"reference": "自己批准", "csrf_token": csrf_token(client, url)}).status_code == 403
    _as(client, "editor_b")
    assert client.get(url).status_code == 404 and "经开区智慧停车平台" not in client.get("/projects").get_data(as_text=True)
    _as(client, "citizen")
    assert client.get("/projects").status_code == 403 and client.get("/projects/new").status_code == 403
    _as(client, "auditor")
    assert client.get(url).status_code == 200 and client.get("/projects/new").status_code == 403


def test_forms_need_their_csrf_token(client: FlaskClient, session: Session, world: World) -> None:
    entry = _draft(session, world, "停车泊位实时数据")
    login(client, "editor_a")
    assert client.post("/projects/new", data={"name": "经开区智慧停车平台", "entries": entry.resource_code}).status_code == 400
    assert session.scalars(select(ItProject)).first() is None


def test_a_title_with_a_percent_sign_is_shown_as_typed(client: FlaskClient, session: Session, world: World) -> None:
    login(client, "editor_a")
    refused = _post(client, "/projects/new", "/projects/new", name="增长率100%项目", entries="增长率%s不存在")
    assert refused.status_code == 400 and "“增长率%s不存在”不是本部门的目录条目" in refused.get_data(as_text=True)
