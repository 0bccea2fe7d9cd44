"""Share requests (有条件共享, Art. 14) and open requests (依申请开放, Art. 18) as one state machine
on the legal clock.

    submitted --accept--> accepted --approve--> approved (a Grant)
        |                   |  \\--refuse--> refused --escalate--> escalated --uphold--> upheld
        |                   |                       (share only)        \\--order--> approved (a Grant)
        \\--return--> returned   \\--clarify--> clarifying --reply--> accepted

Acceptance (受理) starts the clock; a request for clarification pauses it until the reply. Every
transition is a compare-and-set on the request's state and version, so a double-clicked
approval, two providers acting at once, or an approval of a request already refused gives
exactly one transition and a `Conflict` (409) for the others. Each transition writes a
`RequestEvent` and an audit row in the same transaction. "Now" is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .calendars import clock_kind
from .db import compare_and_set
from .errors import Conflict, Forbidden, Invalid, NotFound
from .models import DataRequest, Entry, Grant, RequestEvent, User
from .vocab import DEPARTMENT_ROLES, N_, EntryStatus, OpenType, Role, ShareType
from .work import Assignee, Task
from .workdays import CLOCK_KINDS, Calendar, ClockState, describe_clock, due_with_pauses, with_rule

CHINA = timezone(timedelta(hours=8))
KINDS = {"share": N_("共享申请"), "open": N_("开放申请")}
STATES = {
    "submitted": N_("待受理"),
    "returned": N_("已退回（材料不全）"),
    "accepted": N_("已受理，办理中"),
    "clarifying": N_("待申请人补正"),
    "approved": N_("已同意"),
    "refused": N_("不同意"),
    "escalated": N_("已提请区数据资源局协调"),
    "upheld": N_("协调维持不同意"),
}
FINAL = frozenset({"returned", "approved", "upheld"})
PROVIDER, REQUESTER, BUREAU = "provider", "requester", "bureau"


@dataclass(frozen=True)
class Transition:
    sources: tuple[str, ...]
    target: str
    by: str  # provider | requester | bureau
    label: str


TRANSITIONS = {
    "accept": Transition(("submitted",), "accepted", PROVIDER, N_("受理")),
    "return": Transition(("submitted",), "returned", PROVIDER, N_("退回补全")),
    "clarify": Transition(("accepted",), "clarifying", PROVIDER, N_("要求补正说明")),
    "reply": Transition(("clarifying",), "accepted", REQUESTER, N_("提交补正说明")),
    "approve": Transition(("accepted",), "approved", PROVIDER, N_("同意")),
    "refuse": Transition(("accepted",), "refused", PROVIDER, N_("不同意")),
    "escalate": Transition(("refused",), "escalated", REQUESTER, N_("提请协调")),
    "uphold": Transition(("escalated",), "upheld", BUREAU, N_("维持不同意")),
    "order": Transition(("escalated",), "approved", BUREAU, N_("协调同意共享")),
}


def china_day(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()


def acts_as(user: User | None, request: DataRequest) -> set[str]:
    """The sides `user` may act for on `request`."""
    sides: set[str] = set()
    if user is None:
        return sides
    if user.id == request.requester_id:
        sides.add(REQUESTER)
    if user.role in (Role.PROVIDER, Role.DEPT_ADMIN) and user.department_id == request.entry.department_id:
        sides.add(PROVIDER)
    if user.role == Role.BUREAU:
        sides.add(BUREAU)
    return sides


def may_see(user: User | None, request: DataRequest) -> bool:
    return bool(acts_as(user, request)) or (user is not None and user.role in (Role.AUDITOR,))


def available(user: User | None, request: DataRequest) -> list[str]:
    """The transitions `user` may make on `request` now (to show as buttons)."""
    sides = acts_as(user, request)
    return [
        name for name, t in TRANSITIONS.items()
        if request.state in t.sources and t.by in sides and not (name == "escalate" and request.kind != "share")
    ]


# -- submitting ----------------------------------------------------------------------------


def submit(
    session: Session, entry: Entry, *, kind: str, requester: User, purpose: str, now: datetime, items: list[str] | None = None,
    duty: str = "", period_from: date | None = None, period_to: date | None = None, clock_rule: str | None = None,
) -> DataRequest:
    """File a request; raises Invalid with Chinese field errors when it cannot be filed."""
    errors: dict[str, str] = {}
    if entry.status != EntryStatus.PUBLISHED:
        raise Invalid({"": "该数据资源未发布，不能申请"})
    if kind == "share":
        if requester.role not in DEPARTMENT_ROLES or requester.department_id is None:
            raise Forbidden(N_("只有区属部门的工作人员可以提出共享申请"))
        if requester.department_id == entry.department_id:
            raise Invalid({"": "本部门的数据资源无需申请"})
        if entry.share_type == ShareType.UNCONDITIONAL:
            raise Invalid({"": "该资源无条件共享，各部门可直接获取，无需申请"})
        if entry.share_type == ShareType.NONE:
            raise Invalid({"": f"该资源不予共享，依据：{entry.legal_basis}"})
        if not duty.strip():
            errors["duty"] = "请说明申请数据所用于的履职事项和依据"
    elif kind == "open":
        if requester.role != Role.PUBLIC:
            raise Forbidden(N_("开放申请由注册的公民、法人或其他组织提出"))
        if entry.open_type == OpenType.OPEN:
            raise Invalid({"": "该资源无条件开放，可直接下载，无需申请"})
        if entry.open_type != OpenType.ON_APPLICATION:
            raise Invalid({"": "该资源依法不予开放，不能申请"})
    else:
        raise ValueError(kind)
    names = [i.name for i in entry.items]
    wanted = [n for n in (items or names) if n]
    if unknown := [n for n in wanted if n not in names]:
        errors["items"] = f"没有这些信息项：{'、'.join(unknown)}"
    elif not wanted:
        errors["items"] = "请选择申请的信息项"
    if len(purpose.strip()) < 4:
        errors["purpose"] = "请说明数据用途"
    if period_from and period_to and period_to < period_from:
        errors["period_to"] = "使用期限的结束日期不能早于开始日期"
    if errors:
        raise Invalid(errors)
    request = DataRequest(
        kind=kind, entry=entry, requester=requester, requester_department_id=requester.department_id if kind == "share" else None,
        items=wanted, purpose=purpose.strip(), duty=duty.strip(), period_from=period_from, period_to=period_to,
        state="submitted", version=0, submitted_at=now, pauses=[], reason="", basis="",
        clock_rule=clock_rule or clock_kind(session, f"{kind}_request").rule,
    )
    session.add(request)
    session.flush()
    _log(session, request, action="submit", actor=requester, from_state="", to_state="submitted", note=purpose, now=now)
    return request


# -- transitions ---------------------------------------------------------------------------


def _log(session: Session, request: DataRequest, *, action: str, actor: User | None, from_state: str, to_state: str, note: str, now: datetime) -> None:
    session.add(RequestEvent(
        request_id=request.id, at=now, actor_id=actor.id if actor else None, actor=actor.display_name if actor else "系统",
        action=action, from_state=from_state, to_state=to_state, note=note,
    ))
    audit.record(
        session, action="request:" + action, actor=actor, now=now, target=f"{KINDS[request.kind]} #{request.id}",
        details={"entry": request.entry_id, "from": from_state, "to": to_state},
    )


def _move(session: Session, request: DataRequest, action: str, *, actor: User, now: datetime, note: str = "", **values: object) -> None:
    transition = TRANSITIONS[action]
    if action not in available(actor, request):
        if transition.by in acts_as(actor, request) and request.state not in transition.sources:
            raise Conflict(f"该申请当前为“{STATES[request.state]}”，不能{transition.label}；请刷新页面查看最新状态")
        raise Forbidden(N_("您没有执行此操作的权限"))
    source = request.state
    if not compare_and_set(session, request, where={"state": source}, values={"state": transition.target, **values}):
        raise Conflict("该申请刚刚已被他人处理，本次操作未生效；请刷新页面查看最新状态")
    _log(session, request, action=action, actor=actor, from_state=source, to_state=transition.target, note=note, now=now)


def accept(session: Session, request: DataRequest, *, actor: User, now: datetime) -> None:
    """受理: the clock starts; the start day itself is not counted."""
    _move(session, request, "accept", actor=actor, now=now, accepted_on=china_day(now))


def return_incomplete(session: Session, request: DataRequest, *, actor: User, now: datetime, note: str) -> None:
    if len(note.strip()) < 4:
        raise Invalid({"note": "请说明需要补全的材料"})
    _move(session, request, "return", actor=actor, now=now, note=note.strip(), reason=note.strip())


def ask_clarification(session: Session, request: DataRequest, *, actor: User, now: datetime, question: str) -> None:
    """The clock pauses from today until the requester replies."""
    if len(question.strip()) < 4:
        raise Invalid({"note": "请写明需要申请人补正或说明的内容"})
    pauses = [*request.pauses, [china_day(now).isoformat(), None]]
    _move(session, request, "clarify", actor=actor, now=now, note=question.strip(), pauses=pauses)


def reply(session: Session, request: DataRequest, *, actor: User, now: datetime, answer: str) -> None:
    """The requester's reply: the clock runs again."""
    if len(answer.strip()) < 2:
        raise Invalid({"note": "请填写补正或说明的内容"})
    pauses = [list(p) for p in request.pauses]
    if pauses and pauses[-1][1] is None:
        pauses[-1][1] = china_day(now).isoformat()
    _move(session, request, "reply", actor=actor, now=now, note=answer.strip(), pauses=pauses)


def _grant_values(request: DataRequest, *, items: list[str] | None, scope: str, purpose: str, expires_on: date | None, today: date) -> dict[str, object]:
    errors = {}
    granted = [n for n in (items or request.items) if n]
    if not granted or any(n not in request.items for n in granted):
        errors["items"] = "授权的信息项须在申请的信息项之内"
    if expires_on is None or expires_on < today:
        errors["expires_on"] = "请填写不早于今天的授权截止日期"
    if len((purpose or request.purpose).strip()) < 4:
        errors["purpose"] = "请写明授权的用途"
    if errors:
        raise Invalid(errors)
    return {"items": granted, "scope": scope.strip(), "purpose": (purpose or request.purpose).strip(), "expires_on": expires_on}


def _make_grant(session: Session, request: DataRequest, values: dict[str, object], now: datetime) -> Grant:
    prefix = "GX" if request.kind == "share" else "KF"
    grant = Grant(
        code=f"{prefix}{china_day(now):%Y}{request.id:06d}", request_id=request.id, entry_id=request.entry_id,
        grantee_id=request.requester_id if request.kind == "open" else None,
        grantee_department_id=request.requester_department_id if request.kind == "share" else None,
        created_at=now, **values,
    )
    session.add(grant)
    session.flush()
    return grant


def approve(
    session: Session, request: DataRequest, *, actor: User, now: datetime, expires_on: date | None,
    items: list[str] | None = None, scope: str = "", purpose: str = "",
) -> Grant:
    """同意, with a grant of items, scope, purpose and expiry."""
    values = _grant_values(request, items=items, scope=scope, purpose=purpose, expires_on=expires_on, today=china_day(now))
    _move(session, request, "approve", actor=actor, now=now, note=str(values["scope"]), decided_at=now)
    return _make_grant(session, request, values, now)


def refuse(session: Session, request: DataRequest, *, actor: User, now: datetime, reason: str, basis: str) -> None:
    """不同意: the reason and the basis are both required (Art. 14, 18)."""
    errors = {}
    if len(reason.strip()) < 4:
        errors["reason"] = "请说明不同意的理由"
    if len(basis.strip()) < 4:
        errors["basis"] = "请提供不同意的依据"
    if errors:
        raise Invalid(errors)
    _move(session, request, "refuse", actor=actor, now=now, note=reason.strip(), decided_at=now, reason=reason.strip(), basis=basis.strip())


def escalate(session: Session, request: DataRequest, *, actor: User, now: datetime, note: str) -> None:
    if len(note.strip()) < 4:
        raise Invalid({"note": "请说明提请协调的理由"})
    _move(session, request, "escalate", actor=actor, now=now, note=note.strip())


def coordinate(
    session: Session, request: DataRequest, *, actor: User, now: datetime, uphold: bool, note: str,
    expires_on: date | None = None, items: list[str] | None = None, scope: str = "", purpose: str = "",
) -> Grant | None:
    """The Bureau's decision on an escalated share request: uphold the refusal, or order the data
    shared with a grant."""
    if len(note.strip()) < 4:
        raise Invalid({"note": "请写明协调意见"})
    if uphold:
        _move(session, request, "uphold", actor=actor, now=now, note=note.strip(), decided_at=now)
        return None
    values = _grant_values(request, items=items, scope=scope, purpose=purpose, expires_on=expires_on, today=china_day(now))
    _move(session, request, "order", actor=actor, now=now, note=note.strip(), decided_at=now)
    return _make_grant(session, request, values, now)


# -- clocks --------------------------------------------------------------------------------


def clock(calendar: Calendar, request: DataRequest, today: date) -> ClockState | None:
    """The clock a page shows: acceptance until accepted, then the answer's clock with its
    pauses; none once decided."""
    if request.state in FINAL or request.state in ("refused", "escalated"):
        return None
    if request.accepted_on is None:
        return describe_clock(calendar, CLOCK_KINDS["acceptance"], china_day(request.submitted_at), today)
    kind = with_rule(CLOCK_KINDS[f"{request.kind}_request"], request.clock_rule)  # type: ignore[arg-type]
    pauses = [(date.fromisoformat(a), date.fromisoformat(b) if b else None) for a, b in request.pauses]
    return describe_clock(calendar, kind, request.accepted_on, today, pauses)


def answered_in_time(calendar: Calendar, request: DataRequest) -> bool | None:
    """Whether the provider's answer (its approval or refusal, not a later coordination by the
    Bureau) came by the due date of the answer's clock, pauses counted; None while unanswered
    or never accepted."""
    answered = next((e.at for e in request.events if e.action in ("approve", "refuse")), None)
    if request.accepted_on is None or answered is None:
        return None
    kind = with_rule(CLOCK_KINDS[f"{request.kind}_request"], request.clock_rule)  # type: ignore[arg-type]
    pauses = [(date.fromisoformat(a), date.fromisoformat(b) if b else None) for a, b in request.pauses]
    due = due_with_pauses(calendar, request.accepted_on, kind.limit_days, kind.rule, pauses)
    return due.date is None or china_day(answered) <= due.date


# -- lookups -------------------------------------------------------------------------------


def get_request(session: Session, request_id: int, user: User | None) -> DataRequest:
    """A request `user` may see (its requester, the provider, the Bureau, the auditor)."""
    request = session.get(DataRequest, request_id)
    if request is None or not may_see(user, request):
        raise NotFound(N_("没有找到该申请，或您无权查看"))
    return request


WAITING_FOR = {
    "submitted": N_("受理"), "accepted": N_("答复"), "clarifying": N_("补正说明"), "escalated": N_("协调"),
}
NOT_ACCEPTED = N_("超过2个工作日未受理")


def tasks(session: Session, calendar: Calendar, today: date) -> list[Task]:
    """The requests waiting for someone: the provider to accept or answer, the requester to reply
    to a request for clarification, the Bureau to coordinate. A request not accepted within the
    acceptance clock is flagged."""
    query = select(DataRequest).where(DataRequest.state.in_(WAITING_FOR)).order_by(DataRequest.id)
    found = []
    for request in session.scalars(query):
        department = request.entry.department_id
        if request.state == "clarifying":
            assignee = Assignee(user_id=request.requester_id)
        elif request.state == "escalated":
            assignee = Assignee(roles=frozenset({Role.BUREAU}))
        else:
            assignee = Assignee(roles=frozenset({Role.PROVIDER, Role.DEPT_ADMIN}), department_id=department)
        state = clock(calendar, request, today)
        flags = (NOT_ACCEPTED,) if request.state == "submitted" and state is not None and state.overdue else ()
        found.append(Task(
            kind=request.kind, id=request.id, title=request.entry.title, state=STATES[request.state],
            waiting_for=WAITING_FOR[request.state], assignee=assignee, clock=state, entry=request.entry,
            department_id=department, flags=flags,
        ))
    return found


def requests_of_entry(session: Session, entry: Entry, user: User | None) -> list[DataRequest]:
    """The requests on `entry` that `user` may see."""
    rows = session.scalars(select(DataRequest).where(DataRequest.entry_id == entry.id).order_by(DataRequest.id.desc()))
    return [r for r in rows if may_see(user, r)]


def active_grant(session: Session, user: User | None, entry: Entry, today: date) -> Grant | None:
    """The grant under which `user` may receive `entry`'s data today: a share grant to the user's
    department or an open grant to the user, not expired."""
    if user is None:
        return None
    query = select(Grant).join(DataRequest).where(
        Grant.entry_id == entry.id, Grant.expires_on >= today, DataRequest.state == "approved",
    )
    if user.role in DEPARTMENT_ROLES and user.department_id is not None:
        query = query.where(Grant.grantee_department_id == user.department_id)
    else:
        query = query.where(Grant.grantee_id == user.id)
    return session.scalars(query.order_by(Grant.expires_on.desc())).first()


def requestable(user: User | None, entry: Entry) -> list[str]:
    """The kinds of request `user` may file on `entry` (to offer the form)."""
    if user is None or entry.status != EntryStatus.PUBLISHED:
        return []
    if user.role in DEPARTMENT_ROLES and user.department_id not in (None, entry.department_id) and entry.share_type == ShareType.CONDITIONAL:
        return ["share"]
    if user.role == Role.PUBLIC and entry.open_type == OpenType.ON_APPLICATION:
        return ["open"]
    return []
