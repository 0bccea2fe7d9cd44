"""Open-data plans over HTTP: a department drafts its plan from the form, the administrator
submits it, the Bureau approves (a second click answers 409) and publishes it; the public then
sees it with its progress, which follows the catalog as the planned entry is released. Wrong
users get 403 (or 404 for a plan they may not see), and every form needs its CSRF token."""

from __future__ import annotations

from datetime import datetime, timezone

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import catalog
from portal.models import Entry, Plan
from portal.vocab import EntryStatus, OpenType

from ..support import NOW, World, csrf_token, entry_fields, login, reviewed


def _logout(client: FlaskClient) -> None:
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


def _as(client: FlaskClient, username: str) -> None:
    _logout(client)
    login(client, username)


def _planned_entry(session: Session, world: World) -> Entry:
    entry = catalog.create_entry(
        session, department=world.dept_a, fields=entry_fields(title="规上企业名录"), actor=world.users["editor_a"],
        now=datetime(2026, 3, 1, tzinfo=timezone.utc),
    )
    session.commit()
    return entry


def _plan(session: Session) -> Plan:
    session.expire_all()
    return session.scalars(select(Plan)).one()


def _draft(client: FlaskClient, session: Session, world: World, entry: Entry) -> Plan:
    login(client, "editor_a")
    response = client.post("/plans/new", data={
        "csrf_token": csrf_token(client, "/plans/new"), "year": "2026", "kind": "annual", "title": "甲局2026年公共数据开放工作计划",
        "goals": "全年新增开放数据资源。\n\n<script>alert(1)</script>",
        "item_entry": [entry.resource_code, "", ""], "item_planned_title": ["", "园区企业用能数据", ""],
        "item_target_open_type": ["open", "on-application", "open"], "item_target_date": ["2030-12-31", "2026-01-31", ""],
        "item_note": ["", "需新建目录", ""],
    })
    assert response.status_code == 302, response.get_data(as_text=True)
    plan = _plan(session)
    assert response.headers["Location"].endswith(f"/plans/{plan.id}")
    return plan


def test_a_plan_from_draft_to_published_and_fulfilled(client: FlaskClient, session: Session, world: World) -> None:
    entry = _planned_entry(session, world)
    login(client, "editor_a")
    form = client.get("/plans/new").get_data(as_text=True)
    assert 'name="csrf_token"' in form and entry.resource_code in form and "2026" in form
    other = catalog.create_entry(session, department=world.dept_b, fields=entry_fields(title="乙局资源"), actor=None, now=NOW)
    session.commit()
    bad = client.post("/plans/new", data={
        "csrf_token": csrf_token(client, "/plans/new"), "year": "2026", "kind": "annual", "title": "甲局计划", "goals": "",
        "item_entry": ["", other.resource_code], "item_target_open_type": ["open", "closed"], "item_target_date": ["", "2026-12-31"],
    })
    page = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "第1项：目录条目不属于本部门" in page and "第1项：目标开放类型只能是无条件开放或依申请开放" in page
    assert session.scalar(select(Plan.id)) is None
    _logout(client)

    plan = _draft(client, session, world, entry)
    assert plan.state == "draft" and plan.department_id == world.dept_a.id and len(plan.items) == 2
    url = f"/plans/{plan.id}"
    page = client.get(url).get_data(as_text=True)
    assert "修改计划" in page and f'action="{url}/submit"' not in page  # an editor drafts, the administrator submits
    assert "&lt;script&gt;" in page and "<script>alert" not in page
    assert client.post(f"{url}/submit", data={"csrf_token": csrf_token(client, url)}).status_code == 403
    edit = client.get(f"{url}/edit").get_data(as_text=True)
    assert entry.resource_code in edit and "园区企业用能数据" in edit

    _as(client, "admin_a")
    response = client.post(f"{url}/submit", data={"csrf_token": csrf_token(client, url)})
    assert response.status_code == 302 and _plan(session).state == "submitted"
    assert "不能修改" in client.get(f"{url}/edit", follow_redirects=True).get_data(as_text=True)

    _as(client, "bureau")
    assert f'href="{url}"' in client.get("/plans").get_data(as_text=True).split("待区数据资源局处理</h2>")[1].split("</table>")[0]
    assert client.post(f"{url}/approve").status_code == 400  # no CSRF token
    assert _plan(session).state == "submitted"
    token = csrf_token(client, url)
    assert client.post(f"{url}/approve", data={"csrf_token": token}).status_code == 302
    again = client.post(f"{url}/approve", data={"csrf_token": token})
    assert again.status_code == 409 and "本次操作未生效" in again.get_data(as_text=True)
    assert client.post(f"{url}/publish", data={"csrf_token": token}).status_code == 302
    assert _plan(session).state == "published"

    _logout(client)
    listing = client.get("/plans").get_data(as_text=True)
    assert "甲局2026年公共数据开放工作计划" in listing and "<progress" in listing and "已完成 0 / 2 项" in listing
    page = client.get(url).get_data(as_text=True)
    assert "园区企业用能数据" in page and "逾期未完成" in page and "推进中" in page and "2030-12-31" in page
    assert f"/catalog/{entry.slug}\"" not in page  # a draft entry is not linked for the public
    assert "甲局数据概况" in page

    catalog.publish_entry(session, entry, actor=world.users["admin_a"], now=NOW)
    reviewed(session, entry)  # released to the open catalog as 无条件开放
    session.commit()
    assert entry.status == EntryStatus.PUBLISHED and entry.open_type == OpenType.OPEN
    page = client.get(url).get_data(as_text=True)
    assert f"/catalog/{entry.slug}\"" in page and "于 2026-11-25" in page and "已完成 1 / 2 项（50%）" in page


def test_wrong_users_are_refused(client: FlaskClient, session: Session, world: World) -> None:
    plan = _draft(client, session, world, _planned_entry(session, world))
    url = f"/plans/{plan.id}"
    for username in ("editor_b", "citizen"):
        _as(client, username)
        assert client.get(url).status_code == 404  # a draft is the department's
        token = csrf_token(client, "/plans")
        assert client.get(f"{url}/edit").status_code == 403
        assert client.post(f"{url}/edit", data={"csrf_token": token, "title": "篡改", "goals": ""}).status_code == 403
        for action in ("submit", "approve", "publish"):
            assert client.post(f"{url}/{action}", data={"csrf_token": token}).status_code == 403
        assert client.post(f"{url}/return", data={"csrf_token": token, "reason": "退回试试看"}).status_code == 403
    assert client.get("/plans/new").status_code == 403  # a citizen drafts nothing
    _as(client, "auditor")
    page = client.get(url).get_data(as_text=True)
    assert "甲局2026年公共数据开放工作计划" in page and "修改计划" not in page and f'action="{url}/' not in page  # reads only
    _logout(client)
    assert client.get(url).status_code == 404
    assert client.post(f"{url}/approve", data={}).status_code in (302, 400)  # anonymous: login or CSRF first, never a change
    assert _plan(session).state == "draft" and _plan(session).title == "甲局2026年公共数据开放工作计划"


def test_the_bureau_returns_and_the_department_edits_and_links(client: FlaskClient, session: Session, world: World) -> None:
    plan = _draft(client, session, world, _planned_entry(session, world))
    url = f"/plans/{plan.id}"
    _as(client, "admin_a")
    client.post(f"{url}/submit", data={"csrf_token": csrf_token(client, url)})
    _as(client, "bureau")
    empty = client.post(f"{url}/return", data={"csrf_token": csrf_token(client, url), "reason": ""}, follow_redirects=True)
    assert "请写明退回的理由" in empty.get_data(as_text=True) and _plan(session).state == "submitted"
    client.post(f"{url}/return", data={"csrf_token": csrf_token(client, url), "reason": "请补充用能数据的开放条件"})
    assert _plan(session).state == "returned"

    _as(client, "editor_a")
    assert "请补充用能数据的开放条件" in client.get(url).get_data(as_text=True)
    response = client.post(f"{url}/edit", data={
        "csrf_token": csrf_token(client, f"{url}/edit"), "title": "甲局2026年度计划（修订）", "goals": "开放企业数据",
        "item_entry": ["", ""], "item_planned_title": ["园区企业用能数据", ""], "item_target_open_type": ["on-application", "open"],
        "item_target_date": ["2026-12-31", ""], "item_note": ["", ""],
    })
    assert response.status_code == 302
    plan = _plan(session)
    assert plan.title == "甲局2026年度计划（修订）" and [i.planned_title for i in plan.items] == ["园区企业用能数据"]

    _as(client, "admin_a")
    client.post(f"{url}/submit", data={"csrf_token": csrf_token(client, url)})
    _as(client, "bureau")
    client.post(f"{url}/approve", data={"csrf_token": csrf_token(client, url)})
    assert _plan(session).state == "approved"

    made = catalog.create_entry(
        session, department=world.dept_a, fields=entry_fields(title="园区企业用能数据", open_type=OpenType.ON_APPLICATION), actor=None, now=NOW,
    )
    session.commit()
    item = _plan(session).items[0]
    _as(client, "editor_b")
    assert client.post(f"{url}/items/{item.id}/link", data={"csrf_token": csrf_token(client, "/plans"), "entry": made.resource_code}).status_code == 403
    _as(client, "editor_a")
    page = client.get(url).get_data(as_text=True)
    assert "关联已创建的目录条目" in page and made.resource_code in page
    assert client.post(f"{url}/items/{item.id}/link", data={"entry": made.resource_code}).status_code == 400  # CSRF
    response = client.post(f"{url}/items/{item.id}/link", data={"csrf_token": csrf_token(client, url), "entry": made.resource_code})
    assert response.status_code == 302 and _plan(session).items[0].entry_id == made.id
    assert "关联已创建的目录条目" not in client.get(url).get_data(as_text=True)


def test_my_work_links_the_plan_for_whoever_moves_it_next(client: FlaskClient, session: Session, world: World) -> None:
    plan = _draft(client, session, world, _planned_entry(session, world))
    _as(client, "admin_a")
    page = client.get("/work").get_data(as_text=True)
    assert f'href="/plans/{plan.id}"' in plan_row(page) and "报送" in plan_row(page)
    client.post(f"/plans/{plan.id}/submit", data={"csrf_token": csrf_token(client, f"/plans/{plan.id}")})
    assert f"/plans/{plan.id}" not in client.get("/work").get_data(as_text=True)
    _as(client, "bureau")
    assert "审批" in plan_row(client.get("/work").get_data(as_text=True))
    answer = client.get("/api/v1/work").get_json()
    assert [(t["kind"], t["id"], t["waiting_for"], t["url"]) for t in answer["items"] if t["kind"] == "plan"] == [
        ("plan", plan.id, "审批", f"/plans/{plan.id}"),
    ]


def plan_row(page: str) -> str:
    """The row of "my work" that names a plan (开放计划 #id)."""
    start = page.index("开放计划 #")
    return page[page.rindex("<tr", 0, start):page.index("</tr>", start)]
