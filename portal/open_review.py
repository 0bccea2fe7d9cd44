"""The disclosure office's review of open types (Art. 16, 23).

An entry's `open_type` is the type in effect. When a department sets an entry to an open type
(无条件开放 or 依申请开放) other than the one in effect, the catalog (`catalog.create_entry`,
`catalog.update_entry`) keeps the type in effect and files a proposal here; until a disclosure
reviewer approves it, the entry stays out of the open catalog (or at its old type). Narrowing an
entry to 依法不予开放 takes effect at once: it only withholds, which Art. 16 never forbids, and a
department that finds personal information must be able to close its data without waiting.

Approval requires the open-risk assessment (Art. 23) recorded on the review: every question of
`CHECKLIST` answered yes, the personal-information scan of the entry's current files (taken at
the moment of approval, and the approval refused while a file has unresolved findings), and
the reviewer's conclusion. Approving sets the entry's open type and records a version of the
entry; rejecting leaves it as it was. Reviews move by compare-and-set on (state, version), so two
reviewers acting at once give one decision and a `Conflict` (409).

    pending --approve--> approved
            --reject---> rejected
            --withdraw-> withdrawn   (the department proposed something else, or went back)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, catalog
from .authz import OPEN_CATALOG, Action, can
from .db import compare_and_set
from .entry_input import rule_errors
from .errors import Conflict, Forbidden, Invalid, NotFound
from .models import Entry, OpenReview, User
from .release import release_problems
from .vocab import N_, OpenType, Role
from .work import Assignee, Task
from .workdays import Calendar

STATES = {
    "pending": N_("待审查"),
    "approved": N_("审查同意"),
    "rejected": N_("审查不同意"),
    "withdrawn": N_("已撤回"),
}

# The open-risk assessment's questions (Art. 16, 23); approval needs every one answered yes.
CHECKLIST = {
    "no_state_secrets": N_("不涉及国家秘密"),
    "no_trade_secrets": N_("不涉及商业秘密，或已取得权利人同意"),
    "no_privacy": N_("不涉及个人隐私，或个人信息已脱敏、已取得权利人同意、已记录公共利益决定"),
    "security_level": N_("数据安全级别为一般（重要数据、核心数据不开放）"),
    "no_aggregation_risk": N_("与已开放数据汇聚关联后不会推断出敏感信息"),
    "lawful": N_("开放不违反法律、法规、规章及上级规定"),
}


def pending(session: Session, entry: Entry) -> OpenReview | None:
    """The proposal awaiting review on `entry`, if any."""
    return session.scalar(select(OpenReview).where(OpenReview.entry_id == entry.id, OpenReview.state == "pending"))


def proposed_open_type(session: Session, entry: Entry) -> tuple[OpenType, str]:
    """The open type and condition the department wants: the pending proposal's, else the
    type in effect (what the entry form shows)."""
    review = pending(session, entry)
    if review is not None:
        return review.proposed, review.open_condition
    return entry.open_type, entry.open_condition


def reviews_of_entry(session: Session, entry: Entry) -> list[OpenReview]:
    return list(session.scalars(select(OpenReview).where(OpenReview.entry_id == entry.id).order_by(OpenReview.id.desc())))


def _target(entry: Entry) -> str:
    return f"{entry.resource_code} {entry.title}"


def _name(actor: User | None, actor_name: str) -> str:
    return actor.display_name if actor else actor_name or "系统"


def _move(session: Session, review: OpenReview, source: str, target: str, **values: object) -> None:
    """Compare-and-set `review` from `source` to `target`; Conflict when someone was first."""
    if review.state != source:
        raise Conflict(f"该开放属性审查当前为“{STATES[review.state]}”，本次操作未生效；请刷新页面查看最新状态")
    if not compare_and_set(session, review, where={"state": source}, values={"state": target, **values}):
        raise Conflict("该开放属性审查刚刚已被他人处理，本次操作未生效；请刷新页面查看最新状态")


# -- what the catalog calls ----------------------------------------------------------------


def needs_review(entry: Entry, wanted: OpenType, condition: str) -> bool:
    """Whether setting `entry` (as it is in effect) to `wanted` needs the reviewer: opening it,
    or changing the type or condition of an entry already open."""
    if wanted not in OPEN_CATALOG:
        return False
    return wanted != entry.open_type or condition != entry.open_condition


def file_proposal(
    session: Session, entry: Entry, wanted: OpenType, condition: str, *, actor: User | None, now: datetime,
    actor_name: str = "", previous: OpenType | None = None,
) -> OpenReview | None:
    """Settle the department's wish for `entry`'s open type: a new proposal when it needs review
    (replacing a different pending one), nothing when it does not (withdrawing a pending one).
    Returns the pending proposal, if any. Called by the catalog after it saved the entry with
    the type in effect."""
    current = pending(session, entry)
    if not needs_review(entry, wanted, condition):
        if current is not None:
            _withdraw(session, current, actor=actor, actor_name=actor_name, now=now)
        return None
    if current is not None and (current.proposed, current.open_condition) == (wanted, condition):
        return current
    if current is not None:
        _withdraw(session, current, actor=actor, actor_name=actor_name, now=now)
    review = OpenReview(
        entry_id=entry.id, proposed=wanted, previous=previous or entry.open_type, open_condition=condition, state="pending",
        version=0, proposed_at=now, proposed_by_id=actor.id if actor else None, proposed_by=_name(actor, actor_name),
        checklist={}, scan=[], conclusion="", reviewer="",
    )
    session.add(review)
    session.flush()
    audit.record(
        session, action="review:propose", actor=actor, actor_name=actor_name, now=now, target=_target(entry),
        details={"review": review.id, "from": entry.open_type.value, "to": wanted.value},
    )
    return review


def _withdraw(session: Session, review: OpenReview, *, actor: User | None, actor_name: str, now: datetime) -> None:
    _move(session, review, "pending", "withdrawn", decided_at=now)
    audit.record(
        session, action="review:withdraw", actor=actor, actor_name=actor_name, now=now, target=_target(review.entry),
        details={"review": review.id},
    )


# -- the reviewer's decisions --------------------------------------------------------------


def scan_summary(entry: Entry, open_type: OpenType) -> list[dict[str, Any]]:
    """The personal-information scan of `entry`'s current files, as recorded in an assessment:
    per file, what was found (kinds and counts, never values), how it was cleared; and what
    stops the entry's release as `open_type`, under "problems" (a masked copy stands in for its
    source, as in `release.release_problems`)."""
    blocking = release_problems(entry, open_type)
    return [
        {
            "file": record.name, "sha256": record.sha256[:12], "valid": record.valid,
            "findings": [{"column": f["column"], "label": f["label"], "count": f["count"]} for f in record.findings or []],
            "clearance": record.clearance or "",
            "problems": [p.removeprefix(f"{record.name}：") for p in blocking if p.startswith(f"{record.name}：")],
        }
        for record in entry.files
    ]


def _require_reviewer(actor: User | None) -> User:
    if actor is None or actor.role != Role.REVIEWER:
        raise Forbidden(N_("只有政务公开审查员可以审查开放属性"))
    return actor


def approve(
    session: Session, review: OpenReview, *, actor: User | None, now: datetime, checklist: Mapping[str, bool], conclusion: str,
) -> None:
    """The reviewer approves the proposal with the open-risk assessment; the open type takes effect."""
    reviewer = _require_reviewer(actor)
    entry = review.entry
    errors = {}
    unanswered = [CHECKLIST[key] for key in CHECKLIST if not checklist.get(key)]
    if unanswered:
        errors["checklist"] = "开放风险评估未通过，不能同意开放：" + "；".join(unanswered)
    if len(conclusion.strip()) < 4:
        errors["conclusion"] = "请填写审查结论"
    scan = scan_summary(entry, review.proposed)
    if problems := release_problems(entry, review.proposed):
        errors["scan"] = "数据文件尚有未处理的问题，不能同意开放：" + "；".join(problems)
    if review.state == "pending" and errors:
        raise Invalid(errors)
    _move(
        session, review, "pending", "approved", decided_at=now, reviewer_id=reviewer.id, reviewer=reviewer.display_name,
        checklist={key: bool(checklist.get(key)) for key in CHECKLIST}, scan=scan, conclusion=conclusion.strip(),
    )
    before = catalog.snapshot(entry)
    entry.open_type, entry.open_condition = review.proposed, review.open_condition
    if problems := rule_errors(entry):  # e.g. the entry was graded 重要 since the proposal
        raise Invalid({"open_type": "；".join(problems.values())})
    entry.updated_at = now
    catalog.record_change(session, entry, action="review", before=before, actor=reviewer, now=now)
    audit.record(
        session, action="review:approve", actor=reviewer, now=now, target=_target(entry),
        details={"review": review.id, "open_type": review.proposed.value},
    )


def reject(session: Session, review: OpenReview, *, actor: User | None, now: datetime, conclusion: str) -> None:
    """The reviewer refuses the proposal, with the reasons; the type in effect stays."""
    reviewer = _require_reviewer(actor)
    if len(conclusion.strip()) < 4:
        raise Invalid({"conclusion": "请写明不同意的理由和依据"})
    _move(session, review, "pending", "rejected", decided_at=now, reviewer_id=reviewer.id, reviewer=reviewer.display_name, conclusion=conclusion.strip())
    audit.record(
        session, action="review:reject", actor=reviewer, now=now, target=_target(review.entry),
        details={"review": review.id, "open_type": review.proposed.value},
    )


def record_imported(session: Session, entry: Entry, *, conclusion: str, actor_name: str, now: datetime) -> None:
    """Approve the pending proposal of an entry loaded from a data package whose open type was
    settled before it came here (the sample datasets of a new install): recorded as a review by
    `actor_name` with the scan of its files, never from a web request."""
    review = pending(session, entry)
    if review is None:
        return
    scan = scan_summary(entry, review.proposed)
    if release_problems(entry, review.proposed):
        return  # stays pending: a reviewer must look at it
    _move(session, review, "pending", "approved", decided_at=now, reviewer=actor_name, checklist={k: True for k in CHECKLIST}, scan=scan, conclusion=conclusion)
    before = catalog.snapshot(entry)
    entry.open_type, entry.open_condition = review.proposed, review.open_condition
    catalog.record_change(session, entry, action="review", before=before, actor=None, actor_name=actor_name, now=now)
    audit.record(session, action="review:approve", actor=None, actor_name=actor_name, now=now, target=_target(entry), details={"review": review.id})


# -- lookups -------------------------------------------------------------------------------


def may_see(user: User | None, review: OpenReview) -> bool:
    """Reviewers, the Bureau, the auditor and the entry's department."""
    if user is None:
        return False
    return user.role in (Role.REVIEWER, Role.BUREAU, Role.AUDITOR) or can(user, Action.EDIT_ENTRY, review.entry) or (
        user.department_id == review.entry.department_id and user.role in (Role.PROVIDER, Role.DEPT_ADMIN)
    )


def get_review(session: Session, review_id: int, user: User | None) -> OpenReview:
    review = session.get(OpenReview, review_id)
    if review is None or not may_see(user, review):
        raise NotFound(N_("没有找到该审查，或您无权查看"))
    return review


def tasks(session: Session, calendar: Calendar, today: date) -> list[Task]:
    """Pending proposals wait for the disclosure reviewers. The Measures set no time limit for
    the review, so it has no clock."""
    found = []
    for review in session.scalars(select(OpenReview).where(OpenReview.state == "pending").order_by(OpenReview.id)):
        found.append(Task(
            kind="review", id=review.id, title=review.entry.title, state=STATES["pending"], waiting_for=N_("审查"),
            assignee=Assignee(roles=frozenset({Role.REVIEWER})), entry=review.entry, department_id=review.entry.department_id,
        ))
    return found
