"""The REST API /api/v1 as its clients use it: a department files a share request with its key
and the provider moves it with theirs, a stale approval is 409, lists page by cursor, a request
is seen only by its parties, error reports go both ways, writes need a write key, every error is
JSON, and the docs page is rendered from the document."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import data_requests as dr
from portal import openapi
from portal.api_keys import create_key
from portal.calendars import set_clock_rule
from portal.models import DataRequest, Entry, Grant
from portal.vocab import EntryStatus, OpenType, ShareType
from portal.workdays import CLOCK_KINDS

from ..support import NOW, World, login

PURPOSE, DUTY = "核验辖区空气质量数据", "《大气污染防治法》第五条"


def make_key(session: Session, world: World, username: str, scopes: tuple[str, ...] = ("read", "write")) -> dict[str, str]:
    """Request headers carrying a new key of `username` (in X-API-Key, or as CKAN clients send it)."""
    _row, key = create_key(session, world.users[username], name="测试脚本", scopes=list(scopes), now=NOW)
    session.commit()
    return {"X-API-Key": key} if len(username) % 2 else {"Authorization": key}


def shared_entry(world: World) -> Entry:
    return world.entry(ShareType.CONDITIONAL, OpenType.CLOSED, EntryStatus.PUBLISHED)


def file_request(client: FlaskClient, headers: dict[str, str], entry: Entry, **more: Any) -> dict[str, Any]:
    response = client.post("/api/v1/requests", headers=headers, json={
        "entry": entry.slug, "kind": "share", "items": ["station"], "purpose": PURPOSE, "duty": DUTY, **more,
    })
    assert response.status_code == 201, response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/requests/{response.get_json()['id']}")
    return response.get_json()


def error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["status"] == status and error["code"] == code and set(error) == {"status", "code", "message", "fields"}
    return error


def test_a_share_request_moved_over_the_api_by_both_sides(client: FlaskClient, world: World, session: Session) -> None:
    requester, provider = make_key(session, world, "editor_b"), make_key(session, world, "provider_a")
    entry = shared_entry(world)
    made = file_request(client, requester, entry, period_from="2026-12-01", period_to="2027-11-30")
    assert made["state"] == "submitted" and made["requester_department"] == "乙局" and made["actions"] == []
    assert made["clock"]["kind"] == "acceptance" and made["clock"]["due"] == made["due"]
    url = f"/api/v1/requests/{made['id']}"

    error_of(client.post(f"{url}/accept", headers=requester), 403, "forbidden")  # not the provider
    assert client.get(url, headers=provider).get_json()["actions"] == ["accept", "return"]
    accepted = client.post(f"{url}/accept", headers=provider).get_json()
    clock = accepted["clock"]
    assert accepted["state"] == "accepted" and clock["kind"] == "share_request" and clock["article"] == "第十四条"
    assert clock["start"] == accepted["accepted_on"] and clock["days_left"] > 0 and not clock["overdue"] and not clock["paused"]
    assert isinstance(clock["provisional"], bool) and clock["due"] > clock["start"]
    error_of(client.post(f"{url}/accept", headers=provider), 409, "conflict")

    error = error_of(client.post(f"{url}/clarify", headers=provider, json={"note": "说明"}), 400, "invalid")
    assert error["fields"] == {"note": "请写明需要申请人补正或说明的内容"}
    paused = client.post(f"{url}/clarify", headers=provider, json={"note": "请说明核验的具体范围"}).get_json()
    assert paused["state"] == "clarifying" and paused["clock"]["paused"]
    assert client.post(f"{url}/reply", headers=requester, json={"note": "仅核验本区站点"}).get_json()["state"] == "accepted"

    error = error_of(client.post(f"{url}/approve", headers=provider, json={"items": ["aqi"]}), 400, "bad_request")
    assert error["fields"] == {"expires_on": "必填"}
    error = error_of(client.post(f"{url}/approve", headers=provider, json={"items": ["aqi"], "expires_on": "2099-12-31"}), 400, "invalid")
    assert "items" in error["fields"]  # not among the items asked for
    approved = client.post(f"{url}/approve", headers=provider, json={"expires_on": "2099-12-31", "scope": "仅限本局"})
    assert approved.status_code == 200
    body = approved.get_json()
    assert body["state"] == "approved" and body["clock"] is None and body["decided_at"]
    assert body["grant"]["code"].startswith("GX") and body["grant"]["items"] == ["station"] and body["grant"]["active"]
    assert [e["action"] for e in body["events"]] == ["submit", "accept", "clarify", "reply", "approve"]
    stale = client.post(f"{url}/approve", headers=provider, json={"expires_on": "2099-12-31"})
    assert "不能同意" in error_of(stale, 409, "conflict")["message"]
    session.expire_all()
    assert session.scalars(select(Grant)).one().scope == "仅限本局"

    grants = client.get("/api/v1/grants", headers=requester).get_json()
    assert [g["code"] for g in grants["items"]] == [body["grant"]["code"]] and grants["next_cursor"] is None
    assert grants["items"][0]["grantee"] == "乙局"
    assert client.get("/api/v1/grants", headers=make_key(session, world, "editor_a")).get_json()["items"] == []


@pytest.mark.parametrize("decision", ["uphold", "order"])
def test_a_refusal_escalated_to_the_bureau(client: FlaskClient, world: World, session: Session, decision: str) -> None:
    requester, provider, bureau = (make_key(session, world, name) for name in ("admin_b", "admin_a", "bureau"))
    url = f"/api/v1/requests/{file_request(client, requester, shared_entry(world))['id']}"
    client.post(f"{url}/accept", headers=provider)
    error = error_of(client.post(f"{url}/refuse", headers=provider, json={"reason": "", "basis": ""}), 400, "invalid")
    assert set(error["fields"]) == {"reason", "basis"}
    refused = client.post(f"{url}/refuse", headers=provider, json={"reason": "用途与履职无关", "basis": "《暂行办法》第十四条"}).get_json()
    assert refused["state"] == "refused" and refused["basis"] == "《暂行办法》第十四条"
    error_of(client.post(f"{url}/escalate", headers=bureau, json={"note": "提请协调"}), 403, "forbidden")
    assert client.post(f"{url}/escalate", headers=requester, json={"note": "确为履职所需，请协调"}).get_json()["state"] == "escalated"
    body = {"note": "经协调，维持原决定"} if decision == "uphold" else {"note": "经协调，同意共享", "expires_on": "2099-12-31"}
    done = client.post(f"{url}/{decision}", headers=bureau, json=body).get_json()
    assert done["state"] == ("upheld" if decision == "uphold" else "approved")
    assert (done["grant"] is None) == (decision == "uphold")


def test_requests_page_by_cursor(client: FlaskClient, world: World, session: Session) -> None:
    entry = shared_entry(world)
    for n in range(7):
        dr.submit(session, entry, kind="share", requester=world.users["editor_b"], purpose=f"{PURPOSE}{n}", duty=DUTY, now=NOW)
    session.commit()
    headers = make_key(session, world, "editor_b", ("read",))
    seen, cursor, pages = [], None, 0
    while True:
        response = client.get("/api/v1/requests", headers=headers, query_string={"limit": 3, **({"cursor": cursor} if cursor else {})})
        body = response.get_json()
        seen += [r["id"] for r in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert len(body["items"]) == 3 and re.fullmatch(r"[A-Za-z0-9_-]+", cursor)
    assert pages == 3 and len(seen) == 7 and seen == sorted(seen, reverse=True)
    assert client.get("/api/v1/requests", headers=headers, query_string={"state": "accepted"}).get_json()["items"] == []
    error = error_of(client.get("/api/v1/requests", headers=headers, query_string={"cursor": "bm90LWEtY3Vyc29y"}), 400, "invalid")
    assert "cursor" in error["fields"]
    assert set(error_of(client.get("/api/v1/requests?limit=0&kind=x", headers=headers), 400, "bad_request")["fields"]) == {"limit", "kind"}


def test_a_request_is_seen_only_by_its_parties_the_bureau_and_the_auditor(client: FlaskClient, world: World, session: Session) -> None:
    made = dr.submit(session, shared_entry(world), kind="share", requester=world.users["editor_b"], purpose=PURPOSE, duty=DUTY, now=NOW)
    session.commit()
    parties = {"editor_b", "provider_a", "admin_a", "bureau", "auditor"}
    for name in world.users:
        headers = make_key(session, world, name, ("read",))
        response = client.get(f"/api/v1/requests/{made.id}", headers=headers)
        listed = [r["id"] for r in client.get("/api/v1/requests", headers=headers).get_json()["items"]]
        if name in parties:
            assert response.status_code == 200 and listed == [made.id], name
        else:
            error_of(response, 404, "not_found")
            assert listed == [], name
    error_of(client.get(f"/api/v1/requests/{made.id}"), 401, "unauthorized")
    error_of(client.get(f"/api/v1/requests/{made.id + 1}", headers=make_key(session, world, "bureau")), 404, "not_found")


def test_an_error_report_filed_anonymously_and_answered_over_the_api(client: FlaskClient, world: World, session: Session) -> None:
    entry = world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.PUBLISHED)
    response = client.post(f"/api/v1/entries/{entry.slug}/reports", json={
        "subject": "data", "description": "第12行的空气质量指数为负数", "reporter_name": "王先生", "contact": "wang@example.com",
    })
    assert response.status_code == 201, response.get_json()
    report = response.get_json()
    assert report["state"] == "received" and report["clock"]["kind"] == "error_report" and "contact" not in report
    assert response.headers["Location"].endswith(f"/api/v1/reports/{report['id']}")
    public = client.get(f"/api/v1/entries/{entry.slug}/reports").get_json()
    assert [r["id"] for r in public["items"]] == [report["id"]] and "wang@example.com" not in str(public)

    provider = make_key(session, world, "provider_a")
    url = f"/api/v1/reports/{report['id']}/answer"
    explained = {"outcome": "explained", "answer": "该站点当日停测，数值为占位"}
    error_of(client.post(url, headers=make_key(session, world, "editor_b"), json=explained), 403, "forbidden")  # not the provider
    error_of(client.post(url, headers=provider, json={"outcome": "corrected", "answer": "已更正该行数据"}), 400, "invalid")  # no new version
    answered = client.post(url, headers=provider, json=explained)
    assert answered.status_code == 200 and answered.get_json()["state"] == "explained"
    assert answered.get_json()["contact"] == "wang@example.com" and answered.get_json()["answered_by"] == "provider_a"
    error_of(client.post(url, headers=provider, json={"outcome": "explained", "answer": "再次答复内容"}), 409, "conflict")
    shown = client.get(f"/api/v1/reports/{report['id']}").get_json()
    assert shown["answer"] == "该站点当日停测，数值为占位" and shown["answered_in_time"] is True and "answered_by" not in shown

    hidden = shared_entry(world)  # not in the open catalog
    error_of(client.get(f"/api/v1/entries/{hidden.slug}/reports"), 404, "not_found")
    error_of(client.post(f"/api/v1/entries/{hidden.slug}/reports", json={"subject": "data", "description": "有错误"}), 404, "not_found")
    assert client.get(f"/api/v1/entries/{hidden.slug}/reports", headers=make_key(session, world, "editor_b")).status_code == 200
    error_of(client.get("/api/v1/entries/NO%00SUCH/reports"), 404, "not_found")


def test_writes_need_a_key_with_the_write_scope(client: FlaskClient, world: World, session: Session) -> None:
    entry = shared_entry(world)
    body = {"entry": entry.slug, "kind": "share", "purpose": PURPOSE, "duty": DUTY}
    error_of(client.post("/api/v1/requests", json=body), 401, "unauthorized")
    error_of(client.post("/api/v1/requests", headers=make_key(session, world, "editor_b", ("read",)), json=body), 403, "forbidden")
    error_of(client.post("/api/v1/requests", headers={"X-API-Key": "zk_not-a-key"}, json=body), 401, "unauthorized")
    citizen = make_key(session, world, "citizen", ("read",))  # the public's keys are read-only
    open_entry = world.entry(ShareType.CONDITIONAL, OpenType.ON_APPLICATION, EntryStatus.PUBLISHED)
    error_of(client.post("/api/v1/requests", headers=citizen, json={**body, "entry": open_entry.slug, "kind": "open"}), 403, "forbidden")

    login(client, "editor_b")  # a browser session reads, but never writes through the API
    assert client.get("/api/v1/requests").status_code == 200
    error_of(client.post("/api/v1/requests", json=body), 403, "forbidden")
    report = {"subject": "metadata", "description": "摘要与数据不符"}
    error_of(client.post(f"/api/v1/entries/{entry.slug}/reports", json=report), 403, "forbidden")
    assert client.post(f"/api/v1/entries/{entry.slug}/reports", json=report, headers=citizen).status_code == 404  # not visible to the public
    session.expire_all()
    assert session.scalars(select(DataRequest)).all() == []


def test_every_error_is_json(client: FlaskClient, world: World, session: Session) -> None:
    headers = make_key(session, world, "editor_b")
    response = client.get("/api/v1/work")
    error_of(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"]
    error_of(client.get("/api/v1/work", headers={"Authorization": "zk_revoked-or-unknown"}), 401, "unauthorized")
    error_of(client.post("/api/v1/requests", headers=headers, data="{", content_type="application/json"), 400, "bad_request")
    wrong = client.post("/api/v1/requests", headers=headers, json={"entry": 1, "kind": "share", "purpose": ["x"], "extra": True})
    assert error_of(wrong, 400, "bad_request")["fields"] == {"entry": "应为字符串", "purpose": "应为字符串", "extra": "不接受该字段"}
    error_of(client.post("/api/v1/requests/1/accept", headers=headers, data={"note": "表单"}), 400, "bad_request")  # JSON only
    error_of(client.post("/api/v1/requests/1/accept", headers=headers, data=b"{}" + b" " * (1 << 20), content_type="application/json"),
             400, "bad_request")
    error_of(client.post("/api/v1/requests/1/dance", headers=headers), 404, "not_found")
    error_of(client.get("/api/v1/requests/abc", headers=headers), 404, "not_found")
    error_of(client.get("/api/v1/calendar/due?start=2026-09-28&days=1%00"), 400, "bad_request")
    error_of(client.get("/api/v1/calendar/due?start=2026-9-28&days=400"), 400, "bad_request")
    error_of(client.get("/api/v1/no-such-thing"), 404, "not_found")
    refused = client.delete("/api/v1/requests", headers=headers)
    error_of(refused, 405, "method_not_allowed")
    assert "POST" in refused.headers["Allow"]


def test_calendar_and_clocks_are_public(client: FlaskClient, world: World, session: Session) -> None:
    due = client.get("/api/v1/calendar/due", query_string={"start": "2026-09-28", "days": 10}).get_json()
    assert due == {"start": "2026-09-28", "days": 10, "rule": "workdays", "rule_label": "工作日", "due": "2026-10-16", "provisional": False}
    by_calendar = client.get("/api/v1/calendar/due", query_string={"start": "2026-09-28", "days": 10, "calendar_days": "true"}).get_json()
    assert by_calendar["rule"] == "calendar_days" and by_calendar["due"] == "2026-10-08"
    set_clock_rule(session, "share_request", "calendar_days", actor=world.users["bureau"], now=NOW)
    session.commit()
    kinds = {k["key"]: k for k in client.get("/api/v1/clocks").get_json()["items"]}
    assert set(kinds) == set(CLOCK_KINDS) and kinds["share_request"]["rule"] == "calendar_days"
    assert kinds["error_report"]["article"] == "第十条"


def test_my_work_and_my_usage(client: FlaskClient, world: World, session: Session) -> None:
    made = dr.submit(session, shared_entry(world), kind="share", requester=world.users["editor_b"], purpose=PURPOSE, duty=DUTY, now=NOW)
    session.commit()
    provider = make_key(session, world, "provider_a")
    tasks = client.get("/api/v1/work", headers=provider).get_json()["items"]
    task = next(t for t in tasks if t["kind"] == "share")
    assert task["id"] == made.id and task["api_url"] == f"/api/v1/requests/{made.id}" and task["url"] == f"/requests/{made.id}"
    assert task["waiting_for"] == "受理"
    assert all(t["kind"] != "share" for t in client.get("/api/v1/work", headers=make_key(session, world, "provider_b")).get_json()["items"])
    usage = client.get("/api/v1/usage", headers=provider, query_string={"days": 7}).get_json()
    assert usage["days"] == 7 and len(usage["items"]) == 1
    mine = usage["items"][0]
    assert len(mine["daily"]) == 7 and mine["calls"] >= 2 and mine["scopes"] == ["read", "write"] and not mine["revoked"]
    assert mine["daily"][-1]["calls"] == mine["calls"]  # all of them today


def test_the_docs_page_is_rendered_from_the_document(client: FlaskClient, world: World) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc == openapi.document()
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    for op in openapi.OPERATIONS:
        assert f'id="{op.id}"' in html and op.path in html
    for name in openapi.SCHEMAS:
        assert f'id="schema-{name}"' in html
    assert "X-API-Key" in html and "next_cursor" in html and "curl" in html
    assert "<script" not in html.split("</header>")[1] and "style=" not in html
    assert not re.search(r'(src|href)="https?://', html)  # nothing from elsewhere: the CSP is default-src 'self'
