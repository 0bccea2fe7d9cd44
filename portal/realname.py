"""Real-name verification (实名认证, Art. 23): who may apply, what they give, how the Bureau decides.

Only members of the public (Role.PUBLIC) apply; department staff are known by their employment.
An individual gives a name and an 18-digit resident ID number (GB 11643 check character); an
organisation its name, unified social credit code (GB 32100) and a contact person with a mobile
number. A user has at most one pending application; a rejected one may be followed by a new one;
an approved one stands.

    pending --approve--> approved
        \\---reject (reason)--> rejected      (a new application may follow)

The Bureau decides with a compare-and-set on the application's state and version, so a double
click or two people deciding at once give one decision and a `Conflict` (409) for the other.

ID numbers and phone numbers are stored only as Fernet ciphertext (`cipher`, made from the
PERSONAL_DATA_KEY setting, passed in by the caller) beside a masked form that is what every page
shows; the full number is decrypted only for the Bureau on the page of a pending application
(`reveal`), and that access is audited. Nothing here logs, and no audit row carries a number.
How the numbers are checked, masked, encrypted and digested is `realname_numbers`.

One ID number (or credit code) verifies one account: beside the ciphertext each application keeps
`identity_digest` (a keyed hash, comparable unlike the ciphertext). A number pending or approved
on another account is refused on submission, and approval is refused when another account was
approved with it meanwhile.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from cryptography.fernet import Fernet
from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from . import audit
from .codes import uscc_error
from .db import compare_and_set
from .errors import Conflict, Forbidden, Invalid, NotFound
from .models import RealNameVerification, User
from .realname_numbers import decrypt, encrypt, id_number_error, identity_digest, mask_id_number, mask_phone, normalise_mobile
from .vocab import N_, AccountKind, Role

STATES = {"pending": N_("待审核"), "approved": N_("已通过"), "rejected": N_("已驳回")}


# -- what an applicant gives ---------------------------------------------------------------------


@dataclass(frozen=True)
class Application:
    """What an applicant types; the numbers are plain text here and nowhere after `submit`."""

    name: str
    id_number: str = field(default="", repr=False)  # individuals; repr=False: never in a printed value
    credit_code: str = ""  # organisations
    contact_name: str = ""
    contact_phone: str = field(default="", repr=False)


# -- who may do what -----------------------------------------------------------------------------


def may_apply(user: User | None) -> bool:
    return user is not None and user.role == Role.PUBLIC


def may_decide(user: User | None) -> bool:
    return user is not None and user.role == Role.BUREAU


def may_see(user: User | None, verification: RealNameVerification) -> bool:
    return may_decide(user) or (user is not None and user.id == verification.user_id)


# -- reading ------------------------------------------------------------------------------------


def latest(session: Session, user: User) -> RealNameVerification | None:
    """The user's newest application (the one in force, pending, or last rejected)."""
    return session.scalar(
        select(RealNameVerification).where(RealNameVerification.user_id == user.id).order_by(RealNameVerification.id.desc()).limit(1)
    )


def history(session: Session, user: User) -> list[RealNameVerification]:
    """Every application of the user, newest first."""
    query = select(RealNameVerification).where(RealNameVerification.user_id == user.id).order_by(RealNameVerification.id.desc())
    return list(session.scalars(query))


def is_verified(session: Session, user: User | None) -> bool:
    """Whether `user` holds an approved real-name verification."""
    if user is None:
        return False
    return session.scalar(
        select(RealNameVerification.id).where(RealNameVerification.user_id == user.id, RealNameVerification.state == "approved").limit(1)
    ) is not None


def get_application(session: Session, verification_id: int, viewer: User | None) -> RealNameVerification:
    """The application, for the Bureau and its applicant; NotFound for anyone else."""
    verification = session.get(RealNameVerification, verification_id)
    if verification is None or not may_see(viewer, verification):
        raise NotFound(N_("没有找到该实名认证申请"))
    return verification


def list_applications(
    session: Session, *, state: str = "", kind: AccountKind | None = None, text: str = "", limit: int = 50, offset: int = 0
) -> tuple[list[RealNameVerification], int]:
    """Applications for the Bureau: pending first, oldest waiting first, then the decided ones
    newest first; filtered by state, kind and a text found in the name, credit code or account.
    Returns a page and the number of all that match."""
    query = select(RealNameVerification).join(User, User.id == RealNameVerification.user_id)
    if state in STATES:
        query = query.where(RealNameVerification.state == state)
    if kind is not None:
        query = query.where(RealNameVerification.kind == kind)
    if text := text.strip()[:100]:
        like = "%" + re.sub(r"([\\%_])", r"\\\1", text) + "%"
        query = query.where(or_(
            RealNameVerification.name.ilike(like, escape="\\"), RealNameVerification.credit_code.ilike(like, escape="\\"),
            RealNameVerification.contact_name.ilike(like, escape="\\"), User.username.ilike(like, escape="\\"),
        ))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pending = RealNameVerification.state == "pending"
    rows = session.scalars(
        query.order_by(case((pending, 0), else_=1), case((pending, RealNameVerification.id), else_=-RealNameVerification.id))
        .limit(limit).offset(offset)
    )
    return list(rows), total


# -- submitting ----------------------------------------------------------------------------------


def submit(
    session: Session, user: User, application: Application, *, cipher: Fernet, now: datetime, kind: AccountKind | None = None
) -> RealNameVerification:
    """File a real-name application for `user`. The kind is the account's (or `kind` for an
    account made without one). Raises Forbidden for staff, Conflict while one is pending or
    after approval, Invalid with Chinese field errors (also when the ID number or credit code is
    pending or approved on another account)."""
    if not may_apply(user):
        raise Forbidden(N_("部门工作人员和管理人员已按任职实名，无需实名认证；实名认证由公众用户提出"))
    kind = user.account_kind or kind
    if kind is None:
        raise Invalid({"kind": N_("请选择以个人还是法人或其他组织身份认证")})
    # Two submissions of one user at once: on PostgreSQL the row lock orders them; on SQLite the
    # second check, made after the insert under the database's write lock, refuses the later one.
    session.scalar(select(User.id).where(User.id == user.id).with_for_update())
    _refuse_second(session, user, current=None)
    columns = _columns(application, kind, cipher)
    _refuse_shared_identity(session, user.id, kind, columns["identity_digest"], states=("pending", "approved"))
    verification = RealNameVerification(user_id=user.id, kind=kind, state="pending", version=0, submitted_at=now, **columns)
    session.add(verification)
    session.flush()
    _refuse_second(session, user, current=verification)  # a submission that raced this one
    _refuse_shared_identity(session, user.id, kind, verification.identity_digest, states=("pending", "approved"))
    details = {"kind": kind.value}
    if kind == AccountKind.ORGANISATION:
        details["credit_code"] = verification.credit_code  # public, unlike the numbers of persons
    audit.record(session, action="realname:submit", actor=user, now=now, target=_target(verification, user), details=details)
    return verification


def _refuse_second(session: Session, user: User, *, current: RealNameVerification | None) -> None:
    query = select(RealNameVerification.state).where(
        RealNameVerification.user_id == user.id, RealNameVerification.state.in_(("pending", "approved"))
    )
    if current is not None:
        query = query.where(RealNameVerification.id != current.id)
    states = set(session.scalars(query))
    if "approved" in states:
        raise Conflict(N_("您已通过实名认证，无需再次申请"))
    if "pending" in states:
        raise Conflict(N_("您已有一份待审核的实名认证申请，请等待区数据资源局审核"))


SHARED_IDENTITY = {
    AccountKind.INDIVIDUAL: ("id_number", N_("该身份证号码已用于其他账号的实名认证")),
    AccountKind.ORGANISATION: ("credit_code", N_("该统一社会信用代码已用于其他账号的实名认证")),
}


def _refuse_shared_identity(session: Session, user_id: int, kind: AccountKind, digest: str, *, states: tuple[str, ...]) -> None:
    """Invalid when an application of another account with the same number is in one of `states`
    (applications of `user_id` itself never count). On PostgreSQL the applications with the number
    are locked, so of two approvals at once the second waits and then sees the first."""
    if not digest:
        return
    query = select(RealNameVerification.user_id, RealNameVerification.state).where(RealNameVerification.identity_digest == digest)
    rows = session.execute(query.order_by(RealNameVerification.id).with_for_update()).all()
    if any(other != user_id and state in states for other, state in rows):
        field_name, message = SHARED_IDENTITY[kind]
        raise Invalid({field_name: message})


def _columns(application: Application, kind: AccountKind, cipher: Fernet) -> dict[str, str]:
    """The columns of a valid application, its numbers encrypted and masked; Invalid otherwise."""
    errors: dict[str, str] = {}
    name = " ".join(application.name.split())
    if not name:
        errors["name"] = N_("请填写姓名") if kind == AccountKind.INDIVIDUAL else N_("请填写组织名称")
    elif len(name) > (50 if kind == AccountKind.INDIVIDUAL else 200):
        errors["name"] = N_("名称过长")
    if kind == AccountKind.INDIVIDUAL:
        number = application.id_number.strip().upper()
        if problem := id_number_error(number):
            errors["id_number"] = problem
        if errors:
            raise Invalid(errors)
        return {
            "name": name, "id_number_token": encrypt(cipher, number), "id_number_masked": mask_id_number(number),
            "identity_digest": identity_digest(cipher, kind, number),
        }
    code = application.credit_code.strip().upper()
    contact = " ".join(application.contact_name.split())
    phone = normalise_mobile(application.contact_phone)
    if problem := uscc_error(code):
        errors["credit_code"] = problem
    if not contact:
        errors["contact_name"] = N_("请填写联系人姓名")
    elif len(contact) > 100:
        errors["contact_name"] = N_("名称过长")
    if not phone:
        errors["contact_phone"] = N_("请填写联系人的11位手机号码")
    if errors:
        raise Invalid(errors)
    return {
        "name": name, "credit_code": code, "contact_name": contact,
        "contact_phone_token": encrypt(cipher, phone), "contact_phone_masked": mask_phone(phone),
        "identity_digest": identity_digest(cipher, kind, code),
    }


def _target(verification: RealNameVerification, user: User) -> str:
    return f"实名认证 #{verification.id} {user.username}"


# -- the Bureau's decision ---------------------------------------------------------------------


def approve(session: Session, verification: RealNameVerification, *, actor: User, now: datetime, version: int | None = None) -> None:
    """The Bureau approves a pending application (`version`: the one the decider saw); Invalid when
    another account was approved with the same number since (two applications pending at once)."""
    _decide(session, verification, "approved", actor=actor, now=now, version=version, reason="")
    audit.record(session, action="realname:approve", actor=actor, now=now, target=_target(verification, verification.user))


def reject(
    session: Session, verification: RealNameVerification, *, actor: User, reason: str, now: datetime, version: int | None = None
) -> None:
    """The Bureau rejects a pending application, saying why; the applicant may apply again."""
    reason = reason.strip()
    if len(reason) < 4:
        raise Invalid({"reason": N_("请说明驳回的理由（至少4个字），申请人将看到它")})
    _decide(session, verification, "rejected", actor=actor, now=now, version=version, reason=reason[:2000])
    audit.record(
        session, action="realname:reject", actor=actor, now=now, target=_target(verification, verification.user),
        details={"reason": reason[:2000]},
    )


def _decide(
    session: Session, verification: RealNameVerification, target: str, *, actor: User, now: datetime, version: int | None, reason: str
) -> None:
    if not may_decide(actor):
        raise Forbidden(N_("实名认证由区数据资源局审核"))
    if verification.state != "pending":
        raise Conflict(N_("该申请已审核，本次操作未生效；请刷新页面查看最新状态"))
    identity = (verification.user_id, verification.kind, verification.identity_digest)
    if target == "approved":
        _refuse_shared_identity(session, *identity, states=("approved",))
    values = {"state": target, "decided_at": now, "decided_by_id": actor.id, "reason": reason}
    if not compare_and_set(session, verification, where={"state": "pending"}, values=values, version=version):
        raise Conflict(N_("该申请刚刚已被他人审核或已变化，本次操作未生效；请刷新页面查看最新状态"))
    if target == "approved":
        # An approval that raced this one: on SQLite this second look is under the write lock.
        _refuse_shared_identity(session, *identity, states=("approved",))


@dataclass(frozen=True)
class Revealed:
    id_number: str = field(repr=False)
    contact_phone: str = field(repr=False)


def reveal(session: Session, verification: RealNameVerification, *, viewer: User, cipher: Fernet, now: datetime) -> Revealed:
    """The full numbers of a pending application, for the Bureau deciding it; the access is
    audited (without the numbers). Never for a decided application, never for anyone else."""
    if not may_decide(viewer):
        raise Forbidden(N_("只有区数据资源局在审核时可以查看完整号码"))
    if verification.state != "pending":
        raise Conflict(N_("该申请已审核，完整号码不再显示"))
    revealed = Revealed(decrypt(cipher, verification.id_number_token), decrypt(cipher, verification.contact_phone_token))
    audit.record(
        session, action="data:view", actor=viewer, now=now, target=_target(verification, verification.user),
        details={"shown": "id_number" if verification.id_number_token else "contact_phone"},
    )
    return revealed
