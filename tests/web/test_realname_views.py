"""The account page and real-name verification over HTTP: a member of the public applies, the
Bureau works through the queue, reveals the full number only on a pending application and
decides (a double click answers 409); everyone else is refused on the server; numbers appear
masked in every page and in no log."""

from __future__ import annotations

import logging
import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import accounts
from portal.models import AuditEvent, RealNameVerification, User
from portal.vocab import AccountKind

from ..support import NOW, PASSWORD, World, csrf_token, login, make_uscc
from ..test_realname import ID, PHONE

MASKED_ID = ID[:6] + "********" + ID[-4:]
MASKED_PHONE = PHONE[:3] + "****" + PHONE[-4:]
CODE = make_uscc(88)


def _member(session: Session, kind: AccountKind, email: str = "zhou@example.cn") -> User:
    user = accounts.register_public(session, email=email, password=PASSWORD, kind=kind, display_name="周明", now=NOW)
    session.commit()
    return user


def _logout(client: FlaskClient) -> None:
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


def _apply(client: FlaskClient, **form: str):  # type: ignore[no-untyped-def]
    return client.post("/account/real-name", data={**form, "csrf_token": csrf_token(client, "/account")})


def _pending(session: Session) -> RealNameVerification:
    session.expire_all()
    return session.scalars(select(RealNameVerification).where(RealNameVerification.state == "pending")).one()


def _decide(client: FlaskClient, item_id: int, decision: str, **form: str):  # type: ignore[no-untyped-def]
    token = csrf_token(client, f"/bureau/real-names/{item_id}")
    return client.post(f"/bureau/real-names/{item_id}/{decision}", data={**form, "csrf_token": token})


def test_the_account_page_needs_a_login_and_shows_the_account(client: FlaskClient, world: World) -> None:
    assert client.get("/account").status_code == 302
    login(client, "editor_a")
    page = client.get("/account").get_data(as_text=True)
    assert "editor_a" in page and "部门工作人员按任职实名" in page and 'name="id_number"' not in page
    assert 'href="/account/keys"' in page


def test_an_individual_applies_and_sees_only_the_masked_number(client: FlaskClient, session: Session, world: World) -> None:
    _member(session, AccountKind.INDIVIDUAL)
    login(client, "zhou@example.cn")
    page = client.get("/account").get_data(as_text=True)
    assert "未实名认证" in page and 'name="id_number"' in page and 'name="credit_code"' not in page

    response = _apply(client, name="周明", id_number=ID[:17] + ("0" if ID[17] != "0" else "1"))
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "校验位" in page and 'value="周明"' in page
    assert ID[:17] not in page  # what was typed as a number is not sent back

    response = _apply(client, name="周明", id_number=ID)
    assert response.status_code == 302
    page = client.get("/account").get_data(as_text=True)
    assert MASKED_ID in page and ID not in page and "待审核" in page and 'name="id_number"' not in page
    assert _apply(client, name="周明", id_number=ID).status_code == 409  # one pending at a time


def test_an_organisation_applies_with_a_contact(client: FlaskClient, session: Session, world: World) -> None:
    _member(session, AccountKind.ORGANISATION, "firm@example.cn")
    login(client, "firm@example.cn")
    page = client.get("/account").get_data(as_text=True)
    assert 'name="credit_code"' in page and 'name="id_number"' not in page
    response = _apply(client, name="合肥智数科技有限公司", credit_code=CODE, contact_name="吴芳", contact_phone="139 1234 5678")
    assert response.status_code == 302
    page = client.get("/account").get_data(as_text=True)
    assert CODE in page and MASKED_PHONE in page and PHONE not in page


def test_an_account_without_a_kind_chooses_one_on_the_form(client: FlaskClient, session: Session, world: World) -> None:
    login(client, "citizen")
    page = client.get("/account").get_data(as_text=True)
    assert 'name="kind"' in page
    response = _apply(client, name="周明", id_number=ID)
    assert response.status_code == 400 and "请选择" in response.get_data(as_text=True)
    assert _apply(client, kind="individual", name="周明", id_number=ID).status_code == 302


def test_staff_cannot_apply(client: FlaskClient, world: World) -> None:
    login(client, "admin_a")
    assert _apply(client, kind="individual", name="某某", id_number=ID).status_code == 403


def test_forms_without_a_csrf_token_are_refused(client: FlaskClient, session: Session, world: World) -> None:
    _member(session, AccountKind.INDIVIDUAL)
    login(client, "zhou@example.cn")
    assert client.post("/account/real-name", data={"name": "周明", "id_number": ID}).status_code == 400
    assert session.scalar(select(RealNameVerification.id)) is None


@pytest.mark.parametrize("name", ["citizen", "admin_a", "editor_a", "reviewer", "auditor"])
def test_only_the_bureau_reaches_the_queue_and_the_decisions(client: FlaskClient, session: Session, world: World, name: str) -> None:
    _member(session, AccountKind.INDIVIDUAL)
    login(client, "zhou@example.cn")
    _apply(client, name="周明", id_number=ID)
    item = _pending(session)
    _logout(client)
    for path in ("/bureau/real-names", f"/bureau/real-names/{item.id}"):
        assert client.get(path).status_code == 302  # anonymous: log in first
    login(client, name)
    token = csrf_token(client, "/account")
    assert client.get("/bureau/real-names").status_code == 403
    assert client.get(f"/bureau/real-names/{item.id}").status_code == 403
    for action in ("reveal", "approve", "reject"):
        response = client.post(f"/bureau/real-names/{item.id}/{action}", data={"csrf_token": token, "reason": "越权的驳回理由"})
        assert response.status_code == 403 and ID not in response.get_data(as_text=True)
    assert _pending(session).state == "pending"
    denied = session.scalars(select(AuditEvent).where(AuditEvent.action == "authz:denied")).all()
    assert len(denied) == 5


def test_the_applicant_cannot_open_the_decision_page(client: FlaskClient, session: Session, world: World) -> None:
    _member(session, AccountKind.INDIVIDUAL)
    login(client, "zhou@example.cn")
    _apply(client, name="周明", id_number=ID)
    assert client.get(f"/bureau/real-names/{_pending(session).id}").status_code == 403


def test_the_bureau_reveals_and_approves_once(client: FlaskClient, session: Session, world: World) -> None:
    user = _member(session, AccountKind.INDIVIDUAL)
    login(client, "zhou@example.cn")
    _apply(client, name="周明", id_number=ID)
    item = _pending(session)
    _logout(client)
    login(client, "bureau")
    page = client.get("/bureau/real-names").get_data(as_text=True)
    assert f"/bureau/real-names/{item.id}" in page and MASKED_ID in page and ID not in page
    page = client.get(f"/bureau/real-names/{item.id}").get_data(as_text=True)
    assert MASKED_ID in page and ID not in page and 'name="version" value="0"' in page

    token = csrf_token(client, f"/bureau/real-names/{item.id}")
    response = client.post(f"/bureau/real-names/{item.id}/reveal", data={"csrf_token": token})
    assert response.status_code == 200 and ID in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    assert session.scalars(select(AuditEvent).where(AuditEvent.action == "data:view")).one().details == {"shown": "id_number"}

    assert _decide(client, item.id, "approve", version="0").status_code == 302
    assert _decide(client, item.id, "approve", version="0").status_code == 409  # the double click
    assert _decide(client, item.id, "reject", version="0", reason="晚到的驳回理由").status_code == 409
    session.expire_all()
    assert session.get(RealNameVerification, item.id).state == "approved"  # type: ignore[union-attr]
    response = client.post(f"/bureau/real-names/{item.id}/reveal", data={"csrf_token": token})
    assert response.status_code == 409 and ID not in response.get_data(as_text=True)  # decided: the number stays masked
    _logout(client)
    login(client, "zhou@example.cn")
    page = client.get("/account").get_data(as_text=True)
    assert "已实名认证" in page and "已通过" in page and user.username in page


def test_the_bureau_rejects_with_a_reason_and_the_applicant_tries_again(client: FlaskClient, session: Session, world: World) -> None:
    _member(session, AccountKind.ORGANISATION, "firm@example.cn")
    login(client, "firm@example.cn")
    _apply(client, name="合肥智数科技有限公司", credit_code=CODE, contact_name="吴芳", contact_phone=PHONE)
    item = _pending(session)
    _logout(client)
    login(client, "bureau")
    response = _decide(client, item.id, "reject", version="0", reason="")
    assert response.status_code == 302 and _pending(session).id == item.id  # no reason: nothing changed
    assert "请说明驳回的理由" in client.get(f"/bureau/real-names/{item.id}").get_data(as_text=True)
    assert _decide(client, item.id, "reject", version="0", reason="联系人电话无法接通").status_code == 302
    _logout(client)
    login(client, "firm@example.cn")
    page = client.get("/account").get_data(as_text=True)
    assert "已驳回" in page and "联系人电话无法接通" in page and "重新提交实名认证" in page
    assert _apply(client, name="合肥智数科技有限公司", credit_code=CODE, contact_name="吴芳", contact_phone=PHONE).status_code == 302
    assert _pending(session).id != item.id


def test_the_queue_lists_pending_first_and_filters(client: FlaskClient, session: Session, world: World) -> None:
    for email, kind in (("a@example.cn", AccountKind.INDIVIDUAL), ("firm@example.cn", AccountKind.ORGANISATION)):
        _member(session, kind, email)
        login(client, email)
        if kind == AccountKind.INDIVIDUAL:
            _apply(client, name="周明", id_number=ID)
        else:
            _apply(client, name="合肥智数科技有限公司", credit_code=CODE, contact_name="吴芳", contact_phone=PHONE)
        _logout(client)
    login(client, "bureau")
    first = session.scalars(select(RealNameVerification).order_by(RealNameVerification.id)).first()
    assert first is not None
    _decide(client, first.id, "approve", version="0")
    page = client.get("/bureau/real-names").get_data(as_text=True)
    assert page.index("合肥智数科技有限公司") < page.index("a@example.cn")  # pending first
    page = client.get("/bureau/real-names?state=approved").get_data(as_text=True)
    assert "a@example.cn" in page and "合肥智数科技有限公司" not in page
    page = client.get("/bureau/real-names?kind=organisation&q=智数").get_data(as_text=True)
    assert "合肥智数科技有限公司" in page and "a@example.cn" not in page
    assert client.get("/bureau/real-names?kind=nonsense&state=nonsense&page=-3").status_code == 200


def test_no_number_in_any_log_record(client: FlaskClient, session: Session, world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")  # every statement with its parameters
    _member(session, AccountKind.INDIVIDUAL)
    _member(session, AccountKind.ORGANISATION, "firm@example.cn")
    login(client, "zhou@example.cn")
    _apply(client, name="周明", id_number=ID[:17] + ("0" if ID[17] != "0" else "1"))  # refused, also not logged
    _apply(client, name="周明", id_number=ID)
    client.get("/account")
    _logout(client)
    login(client, "firm@example.cn")
    _apply(client, name="合肥智数科技有限公司", credit_code=CODE, contact_name="吴芳", contact_phone=PHONE)
    _logout(client)
    login(client, "bureau")
    for item in session.scalars(select(RealNameVerification)).all():
        client.get(f"/bureau/real-names/{item.id}")
        token = csrf_token(client, f"/bureau/real-names/{item.id}")
        assert client.post(f"/bureau/real-names/{item.id}/reveal", data={"csrf_token": token}).status_code == 200
        assert _decide(client, item.id, "approve", version=str(item.version)).status_code == 302
    client.get("/bureau/real-names")
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert "real_name_verification" in logged  # statements and their parameters were logged
    for number in (ID, ID[:17], PHONE):
        assert number not in logged
    assert not re.search(r"\b1[3-9]\d{9}\b", logged)
