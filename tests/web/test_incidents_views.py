"""Data security incidents over HTTP: a department reports one from the form (errors in Chinese,
the values kept, 400), the Bureau acknowledges it (a second click answers 409), both sides add
notes — the department records its police report later — and the Bureau closes it; the timeline
shows every step. Other departments get 404, users who may see but not act 403, anonymous users
the login page, and every form needs its CSRF token."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import incidents
from portal.models import SecurityIncident

from ..support import World, at, csrf_token, login


def _logout(client: FlaskClient) -> None:
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


def _as(client: FlaskClient, username: str) -> None:
    _logout(client)
    login(client, username)


def _incident(session: Session) -> SecurityIncident:
    session.expire_all()
    return session.scalars(select(SecurityIncident)).one()


def _reported(session: Session, world: World) -> SecurityIncident:
    made = incidents.report(
        session, department=world.dept_a, kind="tampering", title="监测数据被篡改", description="发现部分监测数据被人为修改，已暂停数据同步。",
        discovered_at=at("2026-09-28", 9), actor=world.users["provider_a"], now=at("2026-09-28", 10),
    )
    session.commit()
    return made


FORM = {
    "kind": "leak", "title": "企业登记数据疑似泄露", "description": "接口被异常批量调用，导出约300条企业登记记录，已关闭接口。",
    "discovered_at": "2026-09-28T15:30", "personal_information": "1",
}


def test_from_report_to_closing(client: FlaskClient, session: Session, world: World) -> None:
    entry = world.entries[0]
    login(client, "provider_a")
    form = client.get("/incidents/new")
    assert form.status_code == 200 and 'name="csrf_token"' in form.get_data(as_text=True)
    bad = client.post("/incidents/new", data={
        "csrf_token": csrf_token(client, "/incidents/new"), **FORM, "description": "泄露了", "entries": "no-such-code",
        "police_reported": "1", "police_reference": "",
    })
    page = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "不少于10个字" in page and "没有找到甲局的目录条目：no-such-code" in page
    assert "已报告公安部门的，请填写报告日期" in page and "请填写公安部门的受案回执编号" in page
    assert "企业登记数据疑似泄露" in page and "no-such-code" in page and "2026-09-28T15:30" in page  # the values kept
    assert session.scalar(select(SecurityIncident.id)) is None

    response = client.post("/incidents/new", data={
        "csrf_token": csrf_token(client, "/incidents/new"), **FORM, "entries": entry.resource_code,
        "department": str(world.dept_b.id),  # ignored: staff report for their own department
    })
    assert response.status_code == 302
    made = _incident(session)
    url = f"/incidents/{made.id}"
    assert response.headers["Location"].endswith(url)
    assert (made.department_id, made.state, made.personal_information, made.police_reported) == (world.dept_a.id, "reported", True, False)
    assert made.discovered_at == at("2026-09-28", 15).replace(minute=30)
    page = client.get(url).get_data(as_text=True)
    assert "企业登记数据疑似泄露" in page and "已报告，待受理" in page and entry.title in page and "涉及个人信息" in page
    assert f'action="{url}/note"' in page and f'action="{url}/acknowledge"' not in page and f'action="{url}/close"' not in page
    assert f"{url}\"" in client.get("/incidents").get_data(as_text=True)

    _as(client, "bureau")
    assert f'href="{url}"' in client.get("/work").get_data(as_text=True)
    assert "数据安全事件" in client.get("/bureau").get_data(as_text=True)
    assert client.post(f"{url}/acknowledge").status_code == 400  # no CSRF token
    assert _incident(session).state == "reported"
    token = csrf_token(client, url)
    assert client.post(f"{url}/acknowledge", data={"csrf_token": token, "note": "请保存日志，配合调查"}).status_code == 302
    again = client.post(f"{url}/acknowledge", data={"csrf_token": token})
    assert again.status_code == 409 and "本次操作未生效" in again.get_data(as_text=True)
    assert _incident(session).state == "acknowledged" and _incident(session).version == 1

    _as(client, "admin_a")
    empty = client.post(f"{url}/note", data={"csrf_token": csrf_token(client, url), "note": ""}, follow_redirects=True)
    assert "请填写处置情况" in empty.get_data(as_text=True)
    client.post(f"{url}/note", data={
        "csrf_token": csrf_token(client, url), "note": "已向经开区公安分局报案", "police_reported": "1",
        "police_reported_on": "2026-09-29", "police_reference": "合公经开受字〔2026〕88号",
    })
    assert (_incident(session).police_reported, _incident(session).police_reference) == (True, "合公经开受字〔2026〕88号")
    assert client.post(f"{url}/close", data={"csrf_token": csrf_token(client, url), "result": "部门自行结案"}).status_code == 403

    _as(client, "bureau")
    client.post(f"{url}/close", data={"csrf_token": csrf_token(client, url), "result": "接口已加固，涉事企业已告知"})
    assert _incident(session).state == "closed"
    page = client.get(url).get_data(as_text=True)
    assert "已结案" in page and "接口已加固，涉事企业已告知" in page and "合公经开受字〔2026〕88号" in page
    assert "请保存日志，配合调查" in page and "已向经开区公安分局报案" in page  # the timeline
    assert f'action="{url}/' not in page  # nothing more to do
    assert f'href="{url}"' not in client.get("/work").get_data(as_text=True)
    assert f"{url}\"" in client.get("/incidents?state=closed").get_data(as_text=True)
    assert f"{url}\"" not in client.get("/incidents?state=reported").get_data(as_text=True)


def test_the_bureau_reports_for_a_department(client: FlaskClient, session: Session, world: World) -> None:
    login(client, "bureau")
    page = client.get("/incidents/new").get_data(as_text=True)
    assert "甲局" in page and "乙局" in page and 'name="title"' not in page  # no department chosen yet
    url = f"/incidents/new?department={world.dept_b.id}"
    assert 'name="title"' in client.get(url).get_data(as_text=True)
    response = client.post(url, data={"csrf_token": csrf_token(client, url), "department": str(world.dept_b.id), **FORM})
    assert response.status_code == 302
    made = _incident(session)
    assert made.department_id == world.dept_b.id and made.reported_by_id == world.users["bureau"].id


def test_wrong_users(client: FlaskClient, session: Session, world: World) -> None:
    made = _reported(session, world)
    url = f"/incidents/{made.id}"
    assert client.get(url).status_code == 302 and client.get("/incidents").status_code == 302  # sign in first
    assert client.get("/incidents/new").status_code == 302
    for name, listing, page, form in [
        ("editor_b", 200, 404, 403), ("admin_b", 200, 404, 200), ("reviewer", 403, 404, 403), ("citizen", 403, 404, 403),
        ("editor_a", 200, 200, 403), ("auditor", 200, 200, 403),
    ]:
        login(client, name)
        assert client.get("/incidents").status_code == listing, name
        assert client.get(url).status_code == page, name
        assert client.get("/incidents/new").status_code == form, name
        _logout(client)
    for name, status in [("admin_b", 404), ("citizen", 404), ("editor_a", 403), ("auditor", 403), ("provider_a", 403)]:
        login(client, name)
        token = csrf_token(client, "/")
        assert client.post(f"{url}/acknowledge", data={"csrf_token": token}).status_code == status, name
        assert client.post(f"{url}/close", data={"csrf_token": token, "result": "越权结案试试"}).status_code == status, name
        if name != "provider_a":
            assert client.post(f"{url}/note", data={"csrf_token": token, "note": "越权记录试试"}).status_code == status, name
        _logout(client)
    login(client, "admin_b")
    assert url not in client.get("/incidents").get_data(as_text=True)
    assert "监测数据被篡改" not in client.get("/incidents").get_data(as_text=True)
    assert client.get("/incidents/999999").status_code == 404
    _logout(client)
    assert client.post(f"{url}/acknowledge", data={}).status_code in (302, 400)  # anonymous: login or CSRF first
    fresh = _incident(session)
    assert (fresh.state, fresh.version, len(fresh.events)) == ("reported", 0, 1)


def test_the_header_links_the_incidents(client: FlaskClient, world: World) -> None:
    for name, linked in [("editor_a", True), ("bureau", True), ("auditor", True), ("reviewer", False), ("citizen", False)]:
        login(client, name)
        assert ('href="/incidents"' in client.get("/").get_data(as_text=True)) == linked, name
        _logout(client)
    assert 'href="/incidents"' not in client.get("/").get_data(as_text=True)


def test_a_form_without_csrf_is_refused(client: FlaskClient, session: Session, world: World) -> None:
    login(client, "provider_a")
    response = client.post("/incidents/new", data=FORM)
    assert response.status_code == 400 and "表单已过期或来源无效" in response.get_data(as_text=True)
    assert session.scalar(select(SecurityIncident.id)) is None
