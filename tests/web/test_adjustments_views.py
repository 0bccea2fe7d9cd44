"""Catalog adjustments over HTTP: a department opens one from the form, the page shows its 第十条
clock and the entries to update, updating them closes it, cancelling twice answers 409, and
outsiders get 403 or 404."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import adjustments as adj
from portal.catalog import update_entry
from portal.models import Adjustment, Entry
from portal.vocab import EntryStatus

from ..support import World, csrf_token, entry_fields, login


def _logout(client: FlaskClient) -> None:
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


def _live(world: World) -> list[Entry]:
    return [e for e in world.entries if e.status != EntryStatus.WITHDRAWN]


def _opened(session: Session, world: World, user: str = "editor_a") -> Adjustment:
    made = adj.open_adjustment(
        session, department=world.dept_a, cause="function", event="区政府调整职能，监测职责划入甲局", event_on=date(2026, 9, 28),
        entry_ids=[_live(world)[0].id], actor=world.users[user], now=datetime(2026, 9, 29, 2, tzinfo=UTC),
    )
    session.commit()
    return made


def test_a_department_opens_an_adjustment_and_updating_closes_it(client: FlaskClient, world: World, session: Session) -> None:
    first, second, withdrawn = _live(world)[0], _live(world)[1], next(e for e in world.entries if e.status == EntryStatus.WITHDRAWN)
    login(client, "editor_a")
    form = client.get("/adjustments/new").get_data(as_text=True)
    assert first.title in form and withdrawn.title not in form and 'name="csrf_token"' in form
    bad = client.post("/adjustments/new", data={"csrf_token": csrf_token(client, "/adjustments/new"), "cause": "law", "event": "", "event_on": ""})
    page = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "请填写情形发生之日" in page and "请至少选择一个" in page
    response = client.post("/adjustments/new", data={
        "csrf_token": csrf_token(client, "/adjustments/new"), "department": str(world.dept_b.id),  # ignored: staff open for their own
        "cause": "law", "event": "《某某条例》修订，登记事项调整", "event_on": "2026-09-28", "entries": [str(first.id), str(second.id)],
    })
    assert response.status_code == 302
    url = response.headers["Location"]
    made = session.scalars(select(Adjustment)).one()
    assert url.endswith(f"/adjustments/{made.id}") and made.department_id == world.dept_a.id
    page = client.get(url).get_data(as_text=True)
    assert "第十条" in page and "2026-10-16" in page and "待更新目录" in page and "未更新" in page
    assert f"/catalog/{first.slug}/edit" in page and f"/catalog/{first.slug}\"" in page
    assert "撤销目录调整" not in page  # an editor may not cancel
    assert f"/adjustments/{made.id}" in client.get("/work").get_data(as_text=True)
    listing = client.get("/adjustments?state=open").get_data(as_text=True)
    assert f"/adjustments/{made.id}" in listing and "2026-10-16" in listing
    assert f"/adjustments/{made.id}" not in client.get("/adjustments?state=done").get_data(as_text=True)

    for entry in (first, second):
        update_entry(session, entry, entry_fields(title=entry.title, abstract="按条例修订更新", share_type=entry.share_type,
                                                  open_type=entry.open_type, security_level=entry.security_level),
                     actor=world.users["editor_a"], now=datetime.now(UTC))
    session.commit()
    page = client.get(url).get_data(as_text=True)
    assert "已完成" in page and "未更新" not in page and "已更新" in page
    session.expire_all()
    assert session.get(Adjustment, made.id).state == "done"  # type: ignore[union-attr]


def test_the_bureau_chooses_the_department(client: FlaskClient, world: World, session: Session) -> None:
    entry = _live(world)[0]
    login(client, "bureau")
    page = client.get("/adjustments/new").get_data(as_text=True)
    assert "甲局" in page and "乙局" in page and entry.title not in page  # no department chosen yet
    url = f"/adjustments/new?department={world.dept_a.id}"
    assert entry.title in client.get(url).get_data(as_text=True)
    response = client.post(url, data={
        "csrf_token": csrf_token(client, url), "department": str(world.dept_a.id), "cause": "function",
        "event": "职能划转：环境监测职责划入甲局", "event_on": "2026-09-28", "entries": [str(entry.id)],
    })
    assert response.status_code == 302
    made = session.scalars(select(Adjustment)).one()
    assert made.department_id == world.dept_a.id and made.opened_by_id == world.users["bureau"].id
    assert "撤销目录调整" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_cancel_and_a_stale_cancel(client: FlaskClient, world: World, session: Session) -> None:
    made = _opened(session, world)
    url = f"/adjustments/{made.id}"
    login(client, "admin_a")
    empty = client.post(f"{url}/cancel", data={"csrf_token": csrf_token(client, url), "reason": ""}, follow_redirects=True)
    assert "请说明撤销的理由" in empty.get_data(as_text=True)
    token = csrf_token(client, url)
    done = client.post(f"{url}/cancel", data={"csrf_token": token, "reason": "重复发起，以第1号为准"}, follow_redirects=True)
    page = done.get_data(as_text=True)
    assert "已撤销" in page and "重复发起，以第1号为准" in page
    stale = client.post(f"{url}/cancel", data={"csrf_token": token, "reason": "重复发起，以第1号为准"})
    assert stale.status_code == 409 and "不能撤销" in stale.get_data(as_text=True)
    _logout(client)
    login(client, "editor_a")
    assert client.post(f"{url}/cancel", data={"csrf_token": csrf_token(client, url), "reason": "编制员不能撤销"}).status_code == 403


def test_outsiders(client: FlaskClient, world: World, session: Session) -> None:
    made = _opened(session, world)
    url = f"/adjustments/{made.id}"
    assert client.get(url).status_code == 302  # sign in first
    for name, listing, page, form in [
        ("editor_b", 200, 404, 200), ("reviewer", 403, 404, 403), ("citizen", 403, 404, 403),
        ("provider_a", 200, 200, 403), ("auditor", 200, 200, 403),
    ]:
        login(client, name)
        assert client.get("/adjustments").status_code == listing, name
        assert client.get(url).status_code == page, name
        assert client.get("/adjustments/new").status_code == form, name
        _logout(client)
    login(client, "editor_b")
    assert f"/adjustments/{made.id}" not in client.get("/adjustments").get_data(as_text=True)
    assert client.post(f"{url}/cancel", data={"csrf_token": csrf_token(client, "/adjustments"), "reason": "不是本部门的"}).status_code == 404
    assert client.get("/adjustments/999999").status_code == 404
