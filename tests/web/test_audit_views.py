"""The audit trail over HTTP: what the web layer records (logins, refusals, access to non-public
data) and the auditor's page and CSV export, which nobody else may read."""

from __future__ import annotations

import io

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import audit
from portal.models import AuditEvent
from portal.vocab import EntryStatus, OpenType, ShareType

from ..support import World, csrf_token, login


def _actions(session: Session) -> list[tuple[str, str]]:
    session.expire_all()
    return [(e.action, e.actor) for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def test_logins_failures_and_logouts_are_recorded_with_the_address(client: FlaskClient, world: World, session: Session) -> None:
    response = client.post("/login", data={"login": "editor_a", "password": "wrong", "csrf_token": csrf_token(client)})
    assert response.status_code == 401
    login(client, "editor_a")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    recorded = [a for a in _actions(session) if a[0].startswith("auth:")]
    assert recorded == [("auth:login-failed", "匿名"), ("auth:login", "editor_a"), ("auth:logout", "editor_a")]
    assert session.scalars(select(AuditEvent.ip).where(AuditEvent.action == "auth:login")).one() == "127.0.0.1"


def test_a_refused_action_is_recorded_although_the_request_fails(client: FlaskClient, world: World, session: Session) -> None:
    entry = world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.PUBLISHED)
    login(client, "editor_b")
    response = client.post(f"/catalog/{entry.slug}/withdraw", data={"csrf_token": csrf_token(client, f"/catalog/{entry.slug}")})
    assert response.status_code == 403
    denied = session.scalars(select(AuditEvent).where(AuditEvent.action == "authz:denied")).one()
    assert denied.actor == "editor_b" and denied.details == {"action": "entry:withdraw", "path": f"/catalog/{entry.slug}/withdraw"}
    assert entry.resource_code in denied.target


def test_access_to_non_public_data_is_recorded_and_public_data_is_not(client: FlaskClient, world: World, session: Session) -> None:
    closed = world.entry(ShareType.UNCONDITIONAL, OpenType.CLOSED, EntryStatus.PUBLISHED)
    open_ = world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.PUBLISHED)
    login(client, "provider_a")
    for entry in (closed, open_):
        token = csrf_token(client, f"/catalog/{entry.slug}")
        client.post(f"/catalog/{entry.slug}/files", data={"csrf_token": token, "file": (io.BytesIO("station,aqi\r\n甲,1\r\n".encode()), "a.csv")},
                    content_type="multipart/form-data")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, "provider_b")  # another department: 无条件共享 data, directly
    assert client.get(f"/catalog/{closed.slug}").status_code == 200
    session.expire_all()
    file_id = session.get(type(closed), closed.id).files[0].id  # type: ignore[union-attr]
    with client.get(f"/catalog/{closed.slug}/data/{file_id}/csv") as response:
        assert response.status_code == 200
    client.get(f"/catalog/{open_.slug}")
    views = [(e.action, e.actor, e.target) for e in session.scalars(select(AuditEvent).where(AuditEvent.action.in_(["data:view", "data:download"])).order_by(AuditEvent.id))]
    assert [(a, who) for a, who, _ in views] == [("data:view", "provider_b"), ("data:download", "provider_b")]
    assert all(closed.resource_code in target for _, _, target in views)  # the open entry's page is not recorded


@pytest.mark.parametrize("user, status", [("auditor", 200), ("bureau", 403), ("admin_a", 403), ("citizen", 403)])
def test_only_the_auditor_reads_the_trail(client: FlaskClient, world: World, user: str, status: int) -> None:
    login(client, user)
    assert client.get("/audit").status_code == status
    assert client.get("/audit.csv").status_code == status


def test_the_anonymous_are_sent_to_log_in(client: FlaskClient, world: World) -> None:
    assert client.get("/audit").status_code == 302


def test_the_auditor_filters_and_exports(client: FlaskClient, world: World, session: Session) -> None:
    login(client, "editor_a")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, "auditor")
    page = client.get("/audit?action=auth:login&actor=editor_a").get_data(as_text=True)
    assert "登录" in page and "editor_a" in page and "auditor</td>" not in page
    with client.get("/audit.csv?action=auth:logout") as response:
        body = response.data.decode("utf-8-sig")
    assert response.headers["Content-Disposition"] == "attachment; filename=audit.csv"
    lines = body.strip().splitlines()
    assert lines[0].startswith("id,at,actor") and len(lines) == 2 and "editor_a" in lines[1]
    exported = session.scalars(select(AuditEvent).where(AuditEvent.action == "audit:export")).one()
    assert exported.actor == "auditor" and exported.details == {"action": "auth:logout"}
    assert audit.verify(session).ok
