"""Real-name verification: what individuals and organisations give, one pending application at a
time, the Bureau's compare-and-set decision, numbers encrypted at rest, masked on the way out,
revealed only to the Bureau on a pending application, and never written to logs or the trail."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from portal import accounts, realname, realname_numbers
from portal.codes import id_check_char
from portal.db import make_sessionmaker
from portal.errors import Conflict, Forbidden, Invalid, NotFound
from portal.models import AuditEvent, RealNameVerification, User
from portal.realname import Application
from portal.vocab import AccountKind

from .support import NOW, PASSWORD, World, make_uscc

CIPHER = Fernet(Fernet.generate_key())
LATER = NOW + timedelta(hours=1)


def id_number(first17: str = "34010419900307123") -> str:
    """A resident ID number with the right GB 11643 check character."""
    return first17 + id_check_char(first17)


ID = id_number()
PHONE = "13912345678"
CODE = make_uscc(77)
BROKEN_CODE = make_uscc(77)[:-1] + ("0" if CODE[-1] != "0" else "1")  # a wrong check character


def member(session: Session, kind: AccountKind, email: str = "zhou@example.cn") -> User:
    user = accounts.register_public(session, email=email, password=PASSWORD, kind=kind, display_name="周明", now=NOW)
    session.commit()
    return user


def apply_individual(session: Session, user: User, number: str = ID) -> RealNameVerification:
    made = realname.submit(session, user, Application(name="周明", id_number=number), cipher=CIPHER, now=NOW)
    session.commit()
    return made


def apply_organisation(session: Session, user: User) -> RealNameVerification:
    application = Application(name="合肥智数科技有限公司", credit_code=CODE, contact_name="吴芳", contact_phone=PHONE)
    made = realname.submit(session, user, application, cipher=CIPHER, now=NOW)
    session.commit()
    return made


# -- the key --------------------------------------------------------------------------------------


def test_the_key_is_generated_once_owner_only_and_reused(tmp_path: Path) -> None:
    key = realname_numbers.personal_data_key(tmp_path / "instance")
    path = tmp_path / "instance" / realname_numbers.KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert realname_numbers.personal_data_key(tmp_path / "instance") == key
    token = realname_numbers.make_cipher(key).encrypt(b"x")
    assert realname_numbers.make_cipher(key).decrypt(token) == b"x"


def test_a_bad_key_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="PERSONAL_DATA_KEY"):
        realname_numbers.make_cipher("not-a-key")


# -- checking what is given -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "number, problem",
    [
        (ID, None),
        (id_number("11010519491231002"), None),
        (id_number("11010519491231002")[:17] + ("0" if id_number("11010519491231002")[17] != "0" else "1"), "校验位"),
        (ID[:17], "18位"),
        ("34010419900307A23" + "4", "前17位"),
        (id_number("34010419900230123"), "出生日期"),  # 30 February
    ],
)
def test_id_number_check(number: str, problem: str | None) -> None:
    found = realname_numbers.id_number_error(number)
    assert (found is None) if problem is None else (found is not None and problem in found)


@pytest.mark.parametrize(
    "phone, normal",
    [("13912345678", "13912345678"), ("139 1234 5678", "13912345678"), ("+86 139-1234-5678", "13912345678"),
     ("8613912345678", "13912345678"), ("12912345678", ""), ("0551-63357890", ""), ("", "")],
)
def test_mobile_numbers(phone: str, normal: str) -> None:
    assert realname_numbers.normalise_mobile(phone) == normal


def test_masks() -> None:
    assert realname_numbers.mask_id_number("110101199003071234") == "110101********1234"
    assert realname_numbers.mask_phone("13812345678") == "138****5678"


# -- submitting -----------------------------------------------------------------------------------


def test_an_individual_applies_with_the_number_encrypted_and_masked(session: Session) -> None:
    user = member(session, AccountKind.INDIVIDUAL)
    made = realname.submit(session, user, Application(name=" 周  明 ", id_number=ID[:17] + ID[17].lower()), cipher=CIPHER, now=NOW)
    session.commit()
    assert (made.state, made.kind, made.name, made.version) == ("pending", AccountKind.INDIVIDUAL, "周 明", 0)
    assert made.id_number_masked == ID[:6] + "********" + ID[-4:]
    assert ID not in made.id_number_token and CIPHER.decrypt(made.id_number_token.encode()).decode() == ID
    assert not realname.is_verified(session, user)
    raw = session.execute(text("SELECT * FROM real_name_verification")).all()
    assert ID not in repr(raw)  # encrypted at rest


def test_an_organisation_applies_with_its_code_and_a_contact(session: Session) -> None:
    user = member(session, AccountKind.ORGANISATION)
    made = apply_organisation(session, user)
    assert (made.kind, made.credit_code, made.contact_name, made.contact_phone_masked) == (
        AccountKind.ORGANISATION, CODE, "吴芳", "139****5678")
    assert made.id_number_token == "" and PHONE not in made.contact_phone_token


@pytest.mark.parametrize(
    "kind, application, fields",
    [
        (AccountKind.INDIVIDUAL, Application(name="", id_number="123"), {"name", "id_number"}),
        (AccountKind.ORGANISATION, Application(name="某公司", credit_code=BROKEN_CODE, contact_name="", contact_phone="0551-1"),
         {"credit_code", "contact_name", "contact_phone"}),
    ],
)
def test_invalid_applications(session: Session, kind: AccountKind, application: Application, fields: set[str]) -> None:
    user = member(session, kind)
    with pytest.raises(Invalid) as caught:
        realname.submit(session, user, application, cipher=CIPHER, now=NOW)
    assert set(caught.value.errors) == fields


def test_an_account_without_a_kind_chooses_one(session: Session, world: World) -> None:
    citizen = world.users["citizen"]  # made by staff, no account kind
    with pytest.raises(Invalid) as caught:
        realname.submit(session, citizen, Application(name="周明", id_number=ID), cipher=CIPHER, now=NOW)
    assert set(caught.value.errors) == {"kind"}
    made = realname.submit(session, citizen, Application(name="周明", id_number=ID), cipher=CIPHER, now=NOW, kind=AccountKind.INDIVIDUAL)
    assert made.kind == AccountKind.INDIVIDUAL


@pytest.mark.parametrize("name", ["editor_a", "admin_a", "reviewer", "bureau", "auditor"])
def test_staff_do_not_apply(session: Session, world: World, name: str) -> None:
    with pytest.raises(Forbidden):
        realname.submit(session, world.users[name], Application(name="某某", id_number=ID), cipher=CIPHER, now=NOW,
                        kind=AccountKind.INDIVIDUAL)


def test_one_pending_at_a_time_a_rejected_one_may_follow_an_approved_one_stands(session: Session, world: World) -> None:
    user = member(session, AccountKind.INDIVIDUAL)
    first = apply_individual(session, user)
    with pytest.raises(Conflict, match="待审核"):
        apply_individual(session, user)
    session.rollback()
    realname.reject(session, first, actor=world.users["bureau"], reason="姓名与号码不符", now=LATER)
    session.commit()
    second = apply_individual(session, user)
    assert realname.latest(session, user) == second and [v.id for v in realname.history(session, user)] == [second.id, first.id]
    realname.approve(session, second, actor=world.users["bureau"], now=LATER)
    session.commit()
    assert realname.is_verified(session, user)
    with pytest.raises(Conflict, match="已通过"):
        apply_individual(session, user)


def test_a_submission_that_raced_another_is_refused(session: Session, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    if engine.dialect.name == "postgresql":
        pytest.skip("on PostgreSQL the other submission waits for our row lock on the user; this interleaving cannot happen")
    user = member(session, AccountKind.INDIVIDUAL)
    check = realname._refuse_second

    def other_request_commits_after_our_check(session_: Session, user_: User, *, current: RealNameVerification | None) -> None:
        if current is None:  # our first check passes; then the other request commits its application
            with make_sessionmaker(engine)() as other:
                other.add(RealNameVerification(user_id=user.id, kind=AccountKind.INDIVIDUAL, name="周明", state="pending", submitted_at=NOW))
                other.commit()
            return
        check(session_, user_, current=current)

    monkeypatch.setattr(realname, "_refuse_second", other_request_commits_after_our_check)
    with pytest.raises(Conflict):
        apply_individual(session, user)
    session.rollback()
    assert len(realname.history(session, user)) == 1


# -- one number, one account ----------------------------------------------------------------------

SHARED_ID = "该身份证号码已用于其他账号的实名认证"
SHARED_CODE = "该统一社会信用代码已用于其他账号的实名认证"


def test_a_number_pending_or_approved_on_another_account_is_refused(session: Session, world: World) -> None:
    first = apply_individual(session, member(session, AccountKind.INDIVIDUAL, "a@example.cn"))
    other = member(session, AccountKind.INDIVIDUAL, "b@example.cn")
    with pytest.raises(Invalid) as caught:
        apply_individual(session, other)  # pending on the first account
    assert caught.value.errors == {"id_number": SHARED_ID}
    session.rollback()
    realname.approve(session, first, actor=world.users["bureau"], now=LATER)
    session.commit()
    with pytest.raises(Invalid) as caught:
        apply_individual(session, other)  # approved on the first account
    assert caught.value.errors == {"id_number": SHARED_ID}
    session.rollback()
    assert realname.history(session, other) == []
    apply_individual(session, other, id_number("34010419900307124"))  # a number of its own is fine


def test_a_credit_code_verifies_one_organisation_account(session: Session) -> None:
    apply_organisation(session, member(session, AccountKind.ORGANISATION, "a@example.cn"))
    application = Application(name="另一家公司", credit_code=CODE.lower(), contact_name="李雷", contact_phone="13812345678")
    with pytest.raises(Invalid) as caught:
        realname.submit(session, member(session, AccountKind.ORGANISATION, "b@example.cn"), application, cipher=CIPHER, now=NOW)
    assert caught.value.errors == {"credit_code": SHARED_CODE}


def test_the_same_account_applies_again_after_a_rejection_and_so_may_another(session: Session, world: World) -> None:
    user = member(session, AccountKind.INDIVIDUAL, "a@example.cn")
    first = apply_individual(session, user)
    realname.reject(session, first, actor=world.users["bureau"], reason="照片不清晰请重传", now=LATER)
    session.commit()
    second = apply_individual(session, user)  # the same number, the same account
    assert second.state == "pending" and second.identity_digest == first.identity_digest
    realname.reject(session, second, actor=world.users["bureau"], reason="照片仍不清晰请重传", now=LATER)
    session.commit()
    other = member(session, AccountKind.INDIVIDUAL, "b@example.cn")
    third = apply_individual(session, other)  # only rejected on the first account: not taken
    with pytest.raises(Invalid, match=SHARED_ID):
        apply_individual(session, user)  # now pending on the other account
    session.rollback()
    realname.approve(session, third, actor=world.users["bureau"], now=LATER)
    session.commit()
    assert realname.is_verified(session, other) and not realname.is_verified(session, user)


def test_of_two_pending_with_one_number_the_second_approval_is_refused(session: Session, world: World) -> None:
    bureau = world.users["bureau"]
    first = apply_individual(session, member(session, AccountKind.INDIVIDUAL, "a@example.cn"))
    # What two submissions at the same instant can leave behind (neither saw the other's row).
    racer = member(session, AccountKind.INDIVIDUAL, "b@example.cn")
    second = RealNameVerification(
        user_id=racer.id, kind=AccountKind.INDIVIDUAL, name="周明", state="pending", submitted_at=NOW,
        identity_digest=realname_numbers.identity_digest(CIPHER, AccountKind.INDIVIDUAL, ID),
    )
    session.add(second)
    session.commit()
    realname.approve(session, second, actor=bureau, now=LATER)  # either may be approved first
    session.commit()
    with pytest.raises(Invalid) as caught:
        realname.approve(session, first, actor=bureau, now=LATER)
    assert caught.value.errors == {"id_number": SHARED_ID}
    session.rollback()
    assert (first.state, first.version) == ("pending", 0) and not realname.is_verified(session, first.user)
    assert session.scalars(select(AuditEvent.action).where(AuditEvent.action == "realname:approve")).all() == ["realname:approve"]
    realname.reject(session, first, actor=bureau, reason="该号码已用于其他账号", now=LATER)  # it can still be rejected
    session.commit()


def test_an_approval_that_raced_another_is_refused(session: Session, engine: Engine, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    first = apply_individual(session, member(session, AccountKind.INDIVIDUAL, "a@example.cn"))
    racer = member(session, AccountKind.INDIVIDUAL, "b@example.cn")
    check = realname._refuse_shared_identity
    calls: list[str] = []

    def other_bureau_member_approves_after_our_check(*args: object, **kwargs: object) -> None:
        check(*args, **kwargs)  # type: ignore[arg-type]
        if not calls:  # our first check passed; then another application with the number is approved
            calls.append("raced")
            with make_sessionmaker(engine)() as other:
                other.add(RealNameVerification(
                    user_id=racer.id, kind=AccountKind.INDIVIDUAL, name="周明", state="approved", submitted_at=NOW,
                    identity_digest=first.identity_digest,
                ))
                other.commit()

    monkeypatch.setattr(realname, "_refuse_shared_identity", other_bureau_member_approves_after_our_check)
    with pytest.raises(Invalid, match=SHARED_ID):
        realname.approve(session, first, actor=world.users["bureau"], now=LATER)
    session.rollback()
    assert first.state == "pending"


def test_a_submission_that_raced_another_accounts_is_refused(session: Session, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    user = member(session, AccountKind.INDIVIDUAL, "a@example.cn")
    racer = member(session, AccountKind.INDIVIDUAL, "b@example.cn")
    check = realname._refuse_shared_identity
    calls: list[str] = []

    def other_account_submits_after_our_check(*args: object, **kwargs: object) -> None:
        check(*args, **kwargs)  # type: ignore[arg-type]
        if not calls:
            calls.append("raced")
            with make_sessionmaker(engine)() as other:
                other.add(RealNameVerification(
                    user_id=racer.id, kind=AccountKind.INDIVIDUAL, name="周明", state="pending", submitted_at=NOW,
                    identity_digest=realname_numbers.identity_digest(CIPHER, AccountKind.INDIVIDUAL, ID),
                ))
                other.commit()

    monkeypatch.setattr(realname, "_refuse_shared_identity", other_account_submits_after_our_check)
    with pytest.raises(Invalid, match=SHARED_ID):
        apply_individual(session, user)
    session.rollback()
    assert realname.history(session, user) == []


def test_the_digest_is_keyed_and_holds_no_number(session: Session) -> None:
    key = Fernet.generate_key()
    digest = realname_numbers.identity_digest(Fernet(key), AccountKind.INDIVIDUAL, ID)
    assert len(digest) == 64 and set(digest) <= set("0123456789abcdef")
    assert ID not in digest and ID[:6] not in digest and ID[-4:] not in digest
    assert digest == realname_numbers.identity_digest(realname_numbers.make_cipher(key), AccountKind.INDIVIDUAL, ID)  # the app's cipher
    assert digest != realname_numbers.identity_digest(Fernet(Fernet.generate_key()), AccountKind.INDIVIDUAL, ID)  # another key
    assert digest != realname_numbers.identity_digest(Fernet(key), AccountKind.ORGANISATION, ID)
    assert digest != realname_numbers.identity_digest(Fernet(key), AccountKind.INDIVIDUAL, id_number("34010419900307124"))
    text_ = f"individual:{ID}".encode()
    assert digest not in (hashlib.sha256(text_).hexdigest(), hmac.new(base64.urlsafe_b64decode(key), text_, hashlib.sha256).hexdigest())
    with_x = id_number("34010419900307118")
    assert with_x.endswith("X")
    assert realname_numbers.identity_digest(Fernet(key), AccountKind.INDIVIDUAL, with_x.lower()) == realname_numbers.identity_digest(
        Fernet(key), AccountKind.INDIVIDUAL, with_x)
    assert realname_numbers.identity_digest(Fernet(key), AccountKind.ORGANISATION, CODE.lower()) == realname_numbers.identity_digest(
        Fernet(key), AccountKind.ORGANISATION, CODE)
    made = apply_individual(session, member(session, AccountKind.INDIVIDUAL), with_x[:17] + "x")
    assert made.identity_digest == realname_numbers.identity_digest(CIPHER, AccountKind.INDIVIDUAL, with_x)
    firm = apply_organisation(session, member(session, AccountKind.ORGANISATION, "firm@example.cn"))
    assert firm.identity_digest == realname_numbers.identity_digest(CIPHER, AccountKind.ORGANISATION, CODE)


# -- the Bureau's decision ------------------------------------------------------------------------


def test_the_bureau_approves_once_and_a_double_click_is_a_conflict(session: Session, world: World) -> None:
    made = apply_individual(session, member(session, AccountKind.INDIVIDUAL))
    seen = made.version
    realname.approve(session, made, actor=world.users["bureau"], now=LATER, version=seen)
    session.commit()
    assert (made.state, made.version, made.decided_by_id, made.decided_at) == ("approved", 1, world.users["bureau"].id, LATER)
    with pytest.raises(Conflict):
        realname.approve(session, made, actor=world.users["bureau"], now=LATER, version=seen)
    with pytest.raises(Conflict):
        realname.reject(session, made, actor=world.users["bureau"], reason="再次点击驳回", now=LATER, version=seen)


def test_a_stale_version_changes_nothing(session: Session, world: World) -> None:
    made = apply_individual(session, member(session, AccountKind.INDIVIDUAL))
    with pytest.raises(Conflict):
        realname.approve(session, made, actor=world.users["bureau"], now=LATER, version=made.version + 5)
    session.rollback()
    assert session.get(RealNameVerification, made.id).state == "pending"  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["citizen", "editor_a", "admin_a", "reviewer", "auditor"])
def test_only_the_bureau_decides(session: Session, world: World, name: str) -> None:
    made = apply_individual(session, member(session, AccountKind.INDIVIDUAL))
    with pytest.raises(Forbidden):
        realname.approve(session, made, actor=world.users[name], now=LATER)
    with pytest.raises(Forbidden):
        realname.reject(session, made, actor=world.users[name], reason="没有权限的驳回", now=LATER)
    with pytest.raises(Forbidden):
        realname.reveal(session, made, viewer=world.users[name], cipher=CIPHER, now=LATER)


def test_a_rejection_needs_a_reason_which_the_trail_keeps(session: Session, world: World) -> None:
    made = apply_individual(session, member(session, AccountKind.INDIVIDUAL))
    with pytest.raises(Invalid) as caught:
        realname.reject(session, made, actor=world.users["bureau"], reason="  ", now=LATER)
    assert set(caught.value.errors) == {"reason"}
    realname.reject(session, made, actor=world.users["bureau"], reason="证件号码与姓名不符", now=LATER)
    session.commit()
    assert (made.state, made.reason) == ("rejected", "证件号码与姓名不符")
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "realname:reject")).one()
    assert event.details == {"reason": "证件号码与姓名不符"} and event.actor == world.users["bureau"].display_name


def test_the_applicant_and_the_bureau_see_an_application_others_do_not(session: Session, world: World) -> None:
    user = member(session, AccountKind.INDIVIDUAL)
    made = apply_individual(session, user)
    assert realname.get_application(session, made.id, user) == made
    assert realname.get_application(session, made.id, world.users["bureau"]) == made
    for other in (None, world.users["citizen"], world.users["admin_a"], world.users["auditor"]):
        with pytest.raises(NotFound):
            realname.get_application(session, made.id, other)
    with pytest.raises(NotFound):
        realname.get_application(session, made.id + 100, world.users["bureau"])


# -- revealing ------------------------------------------------------------------------------------


def test_the_bureau_reveals_the_numbers_of_a_pending_application_only(session: Session, world: World) -> None:
    person = apply_individual(session, member(session, AccountKind.INDIVIDUAL))
    firm = apply_organisation(session, member(session, AccountKind.ORGANISATION, "firm@example.cn"))
    bureau = world.users["bureau"]
    assert realname.reveal(session, person, viewer=bureau, cipher=CIPHER, now=LATER) == realname.Revealed(ID, "")
    assert realname.reveal(session, firm, viewer=bureau, cipher=CIPHER, now=LATER) == realname.Revealed("", PHONE)
    assert ID not in repr(realname.Revealed(ID, PHONE)) and PHONE not in repr(Application("x", id_number=ID, contact_phone=PHONE))
    session.commit()
    views = session.scalars(select(AuditEvent).where(AuditEvent.action == "data:view")).all()
    assert [e.details for e in views] == [{"shown": "id_number"}, {"shown": "contact_phone"}]
    realname.approve(session, person, actor=bureau, now=LATER)
    session.commit()
    with pytest.raises(Conflict):
        realname.reveal(session, person, viewer=bureau, cipher=CIPHER, now=LATER)


def test_a_changed_key_is_reported_not_crashed(session: Session, world: World) -> None:
    made = apply_individual(session, member(session, AccountKind.INDIVIDUAL))
    with pytest.raises(realname_numbers.KeyMismatch):
        realname.reveal(session, made, viewer=world.users["bureau"], cipher=Fernet(Fernet.generate_key()), now=LATER)


# -- the Bureau's list ----------------------------------------------------------------------------


def test_the_list_puts_pending_first_oldest_first_and_filters(session: Session, world: World) -> None:
    bureau = world.users["bureau"]
    a = apply_individual(session, member(session, AccountKind.INDIVIDUAL, "a@example.cn"))
    b = apply_organisation(session, member(session, AccountKind.ORGANISATION, "b@example.cn"))
    c = apply_individual(session, member(session, AccountKind.INDIVIDUAL, "c@example.cn"), id_number("34010419900307124"))
    d = apply_individual(session, member(session, AccountKind.INDIVIDUAL, "d@example.cn"), id_number("34010419900307125"))
    realname.approve(session, a, actor=bureau, now=LATER)
    realname.reject(session, c, actor=bureau, reason="材料不全不全", now=LATER)
    session.commit()
    rows, total = realname.list_applications(session)
    assert [r.id for r in rows] == [b.id, d.id, c.id, a.id] and total == 4
    assert [r.id for r in realname.list_applications(session, state="pending")[0]] == [b.id, d.id]
    assert [r.id for r in realname.list_applications(session, kind=AccountKind.ORGANISATION)[0]] == [b.id]
    assert [r.id for r in realname.list_applications(session, text=CODE)[0]] == [b.id]
    assert [r.id for r in realname.list_applications(session, text="c@example")[0]] == [c.id]
    assert realname.list_applications(session, text="%")[1] == 0  # a wildcard is a plain character
    rows, total = realname.list_applications(session, limit=2, offset=2)
    assert [r.id for r in rows] == [c.id, a.id] and total == 4


# -- never in logs or the trail -------------------------------------------------------------------


def test_numbers_never_reach_logs_or_the_trail(session: Session, world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")  # every statement and its parameters
    person = apply_individual(session, member(session, AccountKind.INDIVIDUAL))
    firm = apply_organisation(session, member(session, AccountKind.ORGANISATION, "firm@example.cn"))
    bureau = world.users["bureau"]
    realname.reveal(session, person, viewer=bureau, cipher=CIPHER, now=LATER)
    realname.reveal(session, firm, viewer=bureau, cipher=CIPHER, now=LATER)
    realname.approve(session, person, actor=bureau, now=LATER)
    realname.reject(session, firm, actor=bureau, reason="联系人电话无法接通", now=LATER)
    session.commit()
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert "INSERT INTO real_name_verification" in logged  # the statements were logged, with their parameters
    for number in (ID, PHONE, PHONE[:3] + " " + PHONE[3:7]):
        assert number not in logged
    trail = json.dumps([[e.target, e.details] for e in session.scalars(select(AuditEvent))], ensure_ascii=False)
    assert ID not in trail and PHONE not in trail
    actions = [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions.count("realname:submit") == 2 and "realname:approve" in actions and "realname:reject" in actions
