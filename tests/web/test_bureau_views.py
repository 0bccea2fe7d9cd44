"""The Bureau's pages (clock counting rules, the year's calendar) and everyone's notifications:
only the Bureau opens its pages, each change is audited, bad input is answered with a reason."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from flask import Flask, template_rendered
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import audit, calendars, notifications
from portal import data_requests as dr
from portal.errors import Invalid
from portal.models import AuditEvent, CalendarYear, ClockRule
from portal.vocab import EntryStatus, OpenType, ShareType
from portal.workdays import CLOCK_KINDS

from ..support import NOW, World, csrf_token, login

CHINA = timezone(timedelta(hours=8))
YEAR_2027 = {
    "year": 2027,
    "source": "国务院办公厅关于2027年部分节假日安排的通知（测试用）",
    "days_off": ["2027-01-01", "2027-02-05", "2027-02-06", "2027-02-07", "2027-02-08", "2027-02-09", "2027-02-10", "2027-02-11", "2027-02-12"],
    "workdays": ["2027-02-13", "2027-02-20"],
}


@pytest.mark.parametrize("url", ["/bureau/clocks", "/bureau/calendar", "/notifications"])
def test_the_anonymous_are_sent_to_log_in(client: FlaskClient, world: World, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("user", ["admin_a", "provider_b", "reviewer", "auditor", "citizen"])
def test_only_the_bureau_opens_its_pages(client: FlaskClient, world: World, session: Session, user: str) -> None:
    login(client, user)
    token = csrf_token(client, "/notifications")
    assert client.get("/bureau/clocks").status_code == 403
    assert client.get("/bureau/calendar").status_code == 403
    assert client.post("/bureau/clocks", data={"csrf_token": token, "kind": "share_request", "rule": "calendar_days"}).status_code == 403
    assert client.post("/bureau/calendar", data={"csrf_token": token, "text": json.dumps(YEAR_2027)}).status_code == 403
    assert session.scalars(select(ClockRule)).all() == [] and session.scalars(select(CalendarYear)).all() == []
    denied = session.scalars(select(AuditEvent).where(AuditEvent.action == "authz:denied")).all()
    assert len(denied) == 4 and all(e.actor == user for e in denied)


def test_every_clock_kind_with_its_limit_rule_and_article(client: FlaskClient, world: World) -> None:
    login(client, "bureau")
    page = client.get("/bureau/clocks").get_data(as_text=True)
    for kind in CLOCK_KINDS.values():
        assert kind.label in page and kind.article in page and kind.limit_label in page and kind.starts in page
    assert page.count('name="rule" value="calendar_days"') == len(calendars.CONFIGURABLE) == 2
    assert page.count("不能修改") == 3


def test_the_bureau_changes_a_counting_rule(client: FlaskClient, world: World, session: Session) -> None:
    login(client, "bureau")
    token = csrf_token(client, "/bureau/clocks")
    response = client.post("/bureau/clocks", data={"csrf_token": token, "kind": "share_request", "rule": "calendar_days"})
    assert response.status_code == 302
    page = client.get("/bureau/clocks").get_data(as_text=True)
    assert "共享申请答复今后按自然日" in page and "10日（末日遇节假日顺延）" in page and "bureau 于" in page
    row = session.get(ClockRule, "share_request")
    assert row is not None and (row.rule, row.changed_by) == ("calendar_days", "bureau")
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "clock:rule")).one()
    assert (event.actor, event.target, event.details) == ("bureau", "share_request", {"from": "workdays", "to": "calendar_days"})
    assert audit.verify(session).ok

    # a request filed from now on is counted by the new rule: 10 days from 2026-09-25 fall on
    # 10-05, a day off, moved on to 10-08 (`portal calendar due 2026-09-25 10 --calendar-days`)
    entry = world.entry(ShareType.CONDITIONAL, OpenType.CLOSED, EntryStatus.PUBLISHED)
    moment = datetime(2026, 9, 25, 10, tzinfo=CHINA)
    request = dr.submit(session, entry, kind="share", requester=world.users["editor_b"], purpose="核验企业登记信息",
                        duty="履职依据", items=["station"], now=moment)
    dr.accept(session, request, actor=world.users["provider_a"], now=moment)
    state = dr.clock(calendars.current_calendar(session), request, date(2026, 9, 25))
    assert state is not None and state.due.date == date(2026, 10, 8)

    again = client.post("/bureau/clocks", data={"csrf_token": token, "kind": "share_request", "rule": "calendar_days"}, follow_redirects=True)
    assert "计算方式未改变" in again.get_data(as_text=True)
    assert len(session.scalars(select(AuditEvent).where(AuditEvent.action == "clock:rule")).all()) == 1


@pytest.mark.parametrize("kind, rule, message", [
    ("error_report", "calendar_days", "不能修改"),  # 5个工作日 as written
    ("acceptance", "calendar_days", "不能修改"),
    ("nothing", "workdays", "没有该时限"),
    ("open_request", "weeks", "计算方式应为"),
])
def test_what_cannot_be_changed(client: FlaskClient, world: World, session: Session, kind: str, rule: str, message: str) -> None:
    login(client, "bureau")
    response = client.post("/bureau/clocks", data={"csrf_token": csrf_token(client, "/bureau/clocks"), "kind": kind, "rule": rule})
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert session.scalars(select(ClockRule)).all() == []


def test_set_clock_rule(session: Session, world: World) -> None:
    bureau = world.users["bureau"]
    assert calendars.set_clock_rule(session, "open_request", "calendar_days", actor=bureau, now=NOW)
    assert not calendars.set_clock_rule(session, "open_request", "calendar_days", actor=bureau, now=NOW)
    assert calendars.clock_kind(session, "open_request").rule == "calendar_days"
    assert calendars.set_clock_rule(session, "open_request", "workdays", actor=bureau, now=NOW)  # and back
    assert calendars.clock_kind(session, "open_request").rule == "workdays"
    with pytest.raises(Invalid) as raised:
        calendars.set_clock_rule(session, "catalog_adjustment", "calendar_days", actor=bureau, now=NOW)
    assert set(raised.value.errors) == {"kind"}


def test_the_calendar_page_loads_a_pasted_year(client: FlaskClient, world: World, session: Session) -> None:
    login(client, "bureau")
    page = client.get("/bureau/calendar").get_data(as_text=True)
    this_year = datetime.now(CHINA).year
    assert f"<strong>{this_year}</strong>" in page and f"<strong>{this_year + 1}</strong>" in page
    assert "尚未载入任何年度" in page
    response = client.post("/bureau/calendar", data={"csrf_token": csrf_token(client, "/bureau/calendar"), "text": json.dumps(YEAR_2027, ensure_ascii=False)})
    assert response.status_code == 302
    page = client.get("/bureau/calendar").get_data(as_text=True)
    assert "已载入 2027 年的节假日安排" in page and "<td>2027</td><td>国务院办公厅关于2027年部分节假日安排的通知（测试用）</td><td>9</td><td>2</td><td>bureau</td>" in page
    row = session.get(CalendarYear, 2027)
    assert row is not None and row.loaded_by == "bureau"
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "calendar:load")).one()
    assert event.actor == "bureau" and event.target == "2027"
    assert not calendars.current_calendar(session).is_provisional(2027)


def test_the_calendar_page_loads_an_uploaded_file(client: FlaskClient, world: World, session: Session) -> None:
    login(client, "bureau")
    data = {"csrf_token": csrf_token(client, "/bureau/calendar"),
            "file": (io.BytesIO(b"\xef\xbb\xbf" + json.dumps(YEAR_2027, ensure_ascii=False).encode("utf-8")), "cn-2027.json")}
    response = client.post("/bureau/calendar", data=data, content_type="multipart/form-data", follow_redirects=True)
    assert response.status_code == 200 and "已载入 2027 年" in response.get_data(as_text=True)
    assert session.get(CalendarYear, 2027) is not None


@pytest.mark.parametrize("data, message", [
    ({"text": json.dumps({**YEAR_2027, "workdays": ["2027-02-08"]})}, "应为周六或周日"),
    ({"text": "{not json"}, "不是有效的 JSON"),
    ({"text": "  "}, "请上传年度节假日安排文件"),
    ({"text": json.dumps({**YEAR_2027, "source": "通" * 301}, ensure_ascii=False)}, "source 不能超过 300 个字"),
    ({"file": (io.BytesIO("{}".encode("utf-16")), "cn-2027.json")}, "不是 UTF-8 编码"),
])
def test_a_bad_year_file_is_explained(client: FlaskClient, world: World, session: Session, data: dict[str, Any], message: str) -> None:
    login(client, "bureau")
    response = client.post("/bureau/calendar", data={"csrf_token": csrf_token(client, "/bureau/calendar"), **data}, content_type="multipart/form-data")
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert session.scalars(select(CalendarYear)).all() == []


# -- notifications -------------------------------------------------------------------------------


@pytest.fixture
def rendered(app: Flask) -> Iterator[list[dict[str, Any]]]:
    contexts: list[dict[str, Any]] = []

    def record(_sender: Flask, template: Any, context: dict[str, Any], **_extra: Any) -> None:
        contexts.append(context)

    template_rendered.connect(record, app)
    yield contexts
    template_rendered.disconnect(record, app)


def test_a_user_reads_their_notifications(client: FlaskClient, world: World, session: Session, rendered: list[dict[str, Any]]) -> None:
    entry = world.entry(ShareType.CONDITIONAL, OpenType.CLOSED, EntryStatus.PUBLISHED)
    moment = datetime(2026, 9, 25, 10, tzinfo=CHINA)
    request = dr.submit(session, entry, kind="share", requester=world.users["editor_b"], purpose="核验企业登记信息",
                        duty="履职依据", items=["station"], now=moment)
    notifications.tick(session, calendars.current_calendar(session), date(2026, 9, 25), moment)
    session.commit()

    login(client, "provider_a")
    page = client.get("/notifications").get_data(as_text=True)
    assert f'<a href="/requests/{request.id}">共享申请 #{request.id}（{entry.title}）待受理，将于 2026-09-29 到期' in page
    assert "未读" in page and rendered[-1]["unread_notifications"] == 1
    response = client.post("/notifications/read", data={"csrf_token": csrf_token(client, "/notifications")})
    assert response.status_code == 302
    page = client.get("/notifications").get_data(as_text=True)
    assert "全部标为已读" not in page and "未读" not in page and "待受理" in page
    assert rendered[-1]["unread_notifications"] == 0 and notifications.unread_count(session, world.users["provider_a"]) == 0
    assert notifications.unread_count(session, world.users["admin_a"]) == 1  # only one's own

    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, "editor_a")
    assert "没有提醒" in client.get("/notifications").get_data(as_text=True)
    assert rendered[-1]["unread_notifications"] == 0


def test_the_bureaus_administration_page(client: FlaskClient, world: World) -> None:
    login(client, "bureau")
    page = client.get("/bureau").get_data(as_text=True)
    for link in ("/bureau/real-names", "/bureau/quotas", "/bureau/usage", "/bureau/clocks", "/bureau/calendar", "/adjustments", "/reviews"):
        assert f'href="{link}"' in page
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, "admin_a")
    assert client.get("/bureau").status_code == 403
