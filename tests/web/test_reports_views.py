"""Error reports (数据校核) over HTTP, as the users would: a visitor reports an error on an entry
page, anonymously or signed in; the provider finds it on "my work", answers on the report page
with a correction or an explanation; a stale answer is a 409, anyone else's a 403; the entry
page lists reports and answers publicly, never the reporter's contact."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import error_reports as er
from portal.catalog import record_change, snapshot
from portal.models import Entry, ErrorReport, User
from portal.vocab import EntryStatus, OpenType, ShareType

from ..support import World, csrf_token, login

CONTACT = "13800138000"


def _logout(client: FlaskClient) -> None:
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


def _open(world: World) -> Entry:
    return world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.PUBLISHED)


def _submit(client: FlaskClient, slug: str, **fields: str) -> tuple[int, str, str]:
    form_url = f"/catalog/{slug}/reports/new"
    data = {"csrf_token": csrf_token(client, form_url), "subject": "data", "description": "第3行监测站点名称有误"} | fields
    response = client.post(f"/catalog/{slug}/reports", data=data)
    return response.status_code, response.headers.get("Location", ""), response.get_data(as_text=True)


def test_an_anonymous_visitor_reports_and_the_entry_page_lists_it(client: FlaskClient, world: World, session: Session) -> None:
    entry = _open(world)
    page = client.get(f"/catalog/{entry.slug}").get_data(as_text=True)
    assert "反馈疑义或错误" in page and "暂无校核反馈" in page
    status, _, body = _submit(client, entry.slug, description="错")
    assert status == 400 and "请描述发现的疑义或错误" in body
    status, location, _ = _submit(client, entry.slug, subject="metadata", description="摘要中的面积单位应为平方公里",
                                  location="摘要", contact=CONTACT)
    assert status == 302 and location.startswith("/reports/")
    report = session.scalars(select(ErrorReport)).one()
    assert report.reporter_id is None and report.contact == CONTACT and report.state == "received"
    detail = client.get(location).get_data(as_text=True)
    assert "已收到您的校核信息" in detail and "匿名" in detail and "第十条" in detail and "到期日" in detail
    assert "剩余 5 个工作日" in detail  # received today
    assert CONTACT not in detail and "答复校核" not in detail  # no answer form, no contact for the public
    page = client.get(f"/catalog/{entry.slug}").get_data(as_text=True)
    assert "摘要中的面积单位应为平方公里" in page and "匿名" in page and "待答复" in page and CONTACT not in page


def test_a_signed_in_visitor_reports_under_a_name(client: FlaskClient, world: World, session: Session) -> None:
    entry = _open(world)
    login(client, "citizen")
    form = client.get(f"/catalog/{entry.slug}/reports/new").get_data(as_text=True)
    assert 'name="reporter_name" maxlength="100" value="citizen"' in form  # the display name, which the reporter may clear
    status, location, _ = _submit(client, entry.slug, reporter_name="张先生")
    assert status == 302
    report = session.scalars(select(ErrorReport)).one()
    assert report.reporter_id == world.users["citizen"].id and report.reporter_name == "张先生"
    assert "张先生" in client.get(f"/catalog/{entry.slug}").get_data(as_text=True)


def test_hidden_entries_and_their_reports_answer_404(client: FlaskClient, world: World, session: Session) -> None:
    shared = world.entry(ShareType.CONDITIONAL, OpenType.CLOSED, EntryStatus.PUBLISHED)  # share catalog only
    report = er.submit(session, shared, reporter=world.users["editor_b"], subject="metadata", description="共享条件表述不清",
                       now=datetime.now(timezone.utc))
    session.commit()
    token = csrf_token(client, "/login")
    for entry in (shared, world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.DRAFT)):
        assert client.get(f"/catalog/{entry.slug}/reports/new").status_code == 404
        response = client.post(f"/catalog/{entry.slug}/reports", data={"csrf_token": token, "subject": "data", "description": "数据有误的描述"})
        assert response.status_code == 404
    assert client.get(f"/reports/{report.id}").status_code == 404
    login(client, "provider_b")
    assert "共享条件表述不清" in client.get(f"/reports/{report.id}").get_data(as_text=True)
    assert session.scalars(select(ErrorReport)).all() == [report]


def test_the_provider_answers_with_a_correction(client: FlaskClient, world: World, session: Session) -> None:
    entry = _open(world)
    status, url, _ = _submit(client, entry.slug, contact=CONTACT)
    assert status == 302

    login(client, "provider_b")  # another department's provider
    assert client.post(f"{url}/answer", data={"csrf_token": csrf_token(client, url), "outcome": "explained", "answer": "经核实数据无误"}).status_code == 403
    _logout(client)
    login(client, "citizen")
    assert client.post(f"{url}/answer", data={"csrf_token": csrf_token(client, url), "outcome": "explained", "answer": "经核实数据无误"}).status_code == 403
    _logout(client)
    assert client.post(f"{url}/answer", data={"csrf_token": csrf_token(client), "outcome": "explained", "answer": "经核实数据无误"}).status_code == 302
    session.expire_all()
    assert session.scalars(select(ErrorReport)).one().state == "received"  # anonymous: sent to log in, nothing answered

    login(client, "provider_a")
    work = client.get("/work").get_data(as_text=True)
    assert entry.title in work and url in work
    detail = client.get(url).get_data(as_text=True)
    assert "答复校核" in detail and CONTACT in detail and "尚无新版本" in detail  # the provider sees the contact
    response = client.post(url + "/answer", data={"csrf_token": csrf_token(client, url), "outcome": "corrected", "answer": "已更正站点名称"})
    assert response.status_code == 400 and "尚无新版本" in response.get_data(as_text=True)

    fresh = session.get(Entry, entry.id)
    editor = session.get(User, world.users["editor_a"].id)
    assert fresh is not None and editor is not None
    before = snapshot(fresh)
    fresh.abstract = "已更正第3行监测站点名称。"
    record_change(session, fresh, action="update", before=before, actor=editor, now=datetime.now(timezone.utc) + timedelta(seconds=1))
    session.commit()
    version = fresh.version
    assert f"版本 {version}" in client.get(url).get_data(as_text=True)  # offered in the answer form
    response = client.post(url + "/answer", data={"csrf_token": csrf_token(client, url), "outcome": "corrected", "answer": "已更正第3行站点名称",
                                                  "corrected_version": str(version)})
    assert response.status_code == 302
    stale = client.post(url + "/answer", data={"csrf_token": csrf_token(client, url), "outcome": "explained", "answer": "再次答复的内容"})
    assert stale.status_code == 409 and "已答复" in stale.get_data(as_text=True)
    session.expire_all()
    report = session.scalars(select(ErrorReport)).one()
    assert (report.state, report.corrected_version, report.answer) == ("corrected", version, "已更正第3行站点名称")
    assert url not in client.get("/work").get_data(as_text=True)
    _logout(client)

    for page in (client.get(f"/catalog/{entry.slug}").get_data(as_text=True), client.get(url).get_data(as_text=True)):
        assert "已更正第3行站点名称" in page and "已更正" in page and f"版本 {version}" in page and "甲局" in page
        assert CONTACT not in page and "/history" not in page  # the history itself is the department's and the auditor's
    login(client, "auditor")
    assert f"/catalog/{entry.slug}/history#v{version}" in client.get(f"/catalog/{entry.slug}").get_data(as_text=True)


def test_the_provider_answers_with_an_explanation(client: FlaskClient, world: World, session: Session) -> None:
    entry = _open(world)
    _, url, _ = _submit(client, entry.slug)
    login(client, "admin_a")
    response = client.post(url + "/answer", data={"csrf_token": csrf_token(client, url), "outcome": "explained", "answer": ""})
    assert response.status_code == 400 and "请写明说明的内容" in response.get_data(as_text=True)
    response = client.post(url + "/answer", data={"csrf_token": csrf_token(client, url), "outcome": "explained",
                                                  "answer": "经核实，该站点已于9月更名，数据无误"}, follow_redirects=True)
    assert response.status_code == 200 and "已答复该校核" in response.get_data(as_text=True)
    _logout(client)
    page = client.get(f"/catalog/{entry.slug}").get_data(as_text=True)
    assert "经核实，该站点已于9月更名，数据无误" in page and "已说明" in page
