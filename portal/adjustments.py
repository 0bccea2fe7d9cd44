"""Catalog adjustments (目录调整, Art. 10): when a law or regulation changes, or a department's
function changes, the entries concerned must be updated within 10 working days of the event.

    open --(every entry named has a new version)--> done
      \\--cancel (with a reason)--> cancelled

The Bureau opens an adjustment for any department, a department's editor or administrator for
its own; it names the department's entries and the day the event happened, which starts the
clock (the day itself not counted). An entry counts as updated once a version of it is recorded
after the adjustment was opened (`Entry.version` > `AdjustmentTarget.version_at_open`), whatever
the change; `refresh` notes it and closes the adjustment when every entry is updated.
`close_updated` refreshes every open one (after catalog changes, and from `portal tick`); the
adjustment's page refreshes the one it shows. `tasks` only reads.

Transitions are a compare-and-set on state and version, so a double click or two people acting
at once give one transition and a `Conflict` (409) for the other. Each writes an audit row in
the same transaction. "Now" is passed in; nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import audit
from .calendars import clock_kind
from .data_requests import china_day
from .db import compare_and_set
from .errors import Conflict, Forbidden, Invalid, NotFound
from .models import Adjustment, AdjustmentTarget, Department, Entry, EntryVersion, User
from .vocab import DEPARTMENT_ROLES, N_, EntryStatus, Role
from .work import Assignee, Task
from .workdays import CLOCK_KINDS, Calendar, ClockKind, ClockState, Due, describe_clock, due_date, with_rule

CAUSES = {"law": N_("法律、法规修改"), "function": N_("行政管理职能变化")}
STATES = {"open": N_("待更新目录"), "done": N_("已完成"), "cancelled": N_("已撤销")}
OPENERS = frozenset({Role.EDITOR, Role.DEPT_ADMIN})  # department staff who compile the catalog
MIN_TEXT = 4


# -- who may do what -----------------------------------------------------------------------


def may_open(user: User | None, department_id: int | None = None) -> bool:
    """The Bureau for any department; an editor or administrator for their own (any department
    of theirs when `department_id` is None: whether to offer the form at all)."""
    if user is None:
        return False
    if user.role == Role.BUREAU:
        return True
    return user.role in OPENERS and user.department_id is not None and department_id in (None, user.department_id)


def may_see(user: User | None, adjustment: Adjustment) -> bool:
    """The Bureau, the auditor, and the staff of the adjustment's department."""
    if user is None:
        return False
    if user.role in (Role.BUREAU, Role.AUDITOR):
        return True
    return user.role in DEPARTMENT_ROLES and user.department_id == adjustment.department_id


def may_cancel(user: User | None, adjustment: Adjustment) -> bool:
    """The Bureau; the department's administrator too, unless the Bureau opened it (then it is
    the Bureau's supervision item, Art. 24, and only the Bureau withdraws it)."""
    if user is None:
        return False
    if user.role == Role.BUREAU:
        return True
    opened_by_bureau = adjustment.opened_by is not None and adjustment.opened_by.role == Role.BUREAU
    return user.role == Role.DEPT_ADMIN and user.department_id == adjustment.department_id and not opened_by_bureau


# -- opening -------------------------------------------------------------------------------


def adjustable_entries(session: Session, department: Department) -> list[Entry]:
    """The entries of `department` an adjustment may name: all but the withdrawn."""
    return list(session.scalars(
        select(Entry).where(Entry.department_id == department.id, Entry.status != EntryStatus.WITHDRAWN).order_by(Entry.resource_code)
    ))


def open_adjustment(
    session: Session, *, department: Department | None, cause: str, event: str, event_on: date | None,
    entry_ids: Iterable[int], actor: User, now: datetime,
) -> Adjustment:
    """Open an adjustment naming entries of `department`; the clock starts on `event_on`.

    Raises Forbidden when `actor` may not open one for the department, Invalid with Chinese
    field errors (department, cause, event, event_on, entries) when the form is incomplete."""
    if not may_open(actor, department.id if department is not None else None):
        raise Forbidden(N_("只有区数据资源局或本部门的目录编制员、部门管理员可以发起目录调整"))
    errors: dict[str, str] = {}
    if department is None:
        raise Invalid({"department": "请选择需要调整目录的部门"})
    if cause not in CAUSES:
        errors["cause"] = "请选择调整原因：法律、法规修改，或行政管理职能变化"
    event = event.strip()
    if len(event) < MIN_TEXT:
        errors["event"] = "请写明发生的变化，如修改的法律法规及条款、调整的职能（不少于4个字）"
    if event_on is None:
        errors["event_on"] = "请填写情形发生之日"
    elif event_on > china_day(now):
        errors["event_on"] = "情形发生之日不能晚于今天"
    wanted = list(dict.fromkeys(entry_ids))
    entries = list(session.scalars(select(Entry).where(Entry.id.in_(wanted)).order_by(Entry.resource_code))) if wanted else []
    if not wanted:
        errors["entries"] = "请至少选择一个需要调整的目录条目"
    elif len(entries) != len(wanted) or any(e.department_id != department.id for e in entries):
        errors["entries"] = f"只能选择{department.name}的目录条目"
    elif withdrawn := [e.title for e in entries if e.status == EntryStatus.WITHDRAWN]:
        errors["entries"] = f"已撤销的目录条目无需调整：{'、'.join(withdrawn)}"
    if errors:
        raise Invalid(errors)
    assert event_on is not None
    adjustment = Adjustment(
        department=department, cause=cause, event=event, event_on=event_on, state="open", version=0,
        clock_rule=clock_kind(session, "catalog_adjustment").rule, opened_at=now, opened_by=actor, note="",
        targets=[AdjustmentTarget(entry=e, version_at_open=e.version) for e in entries],
    )
    session.add(adjustment)
    session.flush()
    audit.record(
        session, action="adjustment:open", actor=actor, now=now, target=_target(adjustment),
        details={"department": department.id, "cause": cause, "event_on": event_on.isoformat(), "entries": [e.id for e in entries]},
    )
    return adjustment


def _target(adjustment: Adjustment) -> str:
    return f"目录调整 #{adjustment.id} {adjustment.department.name}"


# -- closing and cancelling ----------------------------------------------------------------


def _move(session: Session, adjustment: Adjustment, target: str, **values: object) -> bool:
    """Compare-and-set from open to `target`; False when someone else moved it first."""
    return compare_and_set(session, adjustment, where={"state": "open"}, values={"state": target, **values})


def _first_version_after(session: Session, target: AdjustmentTarget) -> int | None:
    if target.entry.version <= target.version_at_open:
        return None
    first = session.scalar(
        select(func.min(EntryVersion.number)).where(EntryVersion.entry_id == target.entry_id, EntryVersion.number > target.version_at_open)
    )
    return first or target.entry.version


def refresh(session: Session, adjustment: Adjustment, *, now: datetime) -> bool:
    """Note which of an open adjustment's entries have been updated since it was opened (the
    first version recorded after), and close it when all have. True when it closed now."""
    if adjustment.state != "open":
        return False
    for target in adjustment.targets:
        if target.updated_version is None:
            target.updated_version = _first_version_after(session, target)
    session.flush()
    if any(t.updated_version is None for t in adjustment.targets):
        return False
    if not _move(session, adjustment, "done", closed_at=now):
        return False  # closed or cancelled meanwhile by someone else: nothing to do
    audit.record(
        session, action="adjustment:close", actor=None, now=now, target=_target(adjustment),
        details={"entries": {str(t.entry_id): t.updated_version for t in adjustment.targets}},
    )
    return True


def close_updated(session: Session, now: datetime) -> list[Adjustment]:
    """Refresh every open adjustment; the ones closed now (for `portal tick` and after catalog
    changes)."""
    return [a for a in session.scalars(select(Adjustment).where(Adjustment.state == "open").order_by(Adjustment.id)) if refresh(session, a, now=now)]


def close_for_entry(session: Session, entry: Entry, *, now: datetime) -> list[Adjustment]:
    """Refresh the open adjustments naming `entry` (just after a version of it was recorded);
    the ones closed now."""
    query = (
        select(Adjustment).join(AdjustmentTarget)
        .where(Adjustment.state == "open", AdjustmentTarget.entry_id == entry.id).order_by(Adjustment.id)
    )
    return [a for a in session.scalars(query) if refresh(session, a, now=now)]


def cancel(session: Session, adjustment: Adjustment, *, actor: User, now: datetime, reason: str) -> None:
    """Withdraw an open adjustment (opened by mistake, or the event did not touch these entries);
    the reason is kept as its `note`."""
    if not may_cancel(actor, adjustment):
        raise Forbidden(N_("只有区数据资源局或本部门的部门管理员可以撤销目录调整"))
    if len(reason.strip()) < MIN_TEXT:
        raise Invalid({"reason": "请说明撤销的理由（不少于4个字）"})
    if adjustment.state != "open":
        raise Conflict(f"该目录调整当前为“{STATES[adjustment.state]}”，不能撤销；请刷新页面查看最新状态")
    if not _move(session, adjustment, "cancelled", closed_at=now, note=reason.strip()):
        raise Conflict("该目录调整刚刚已被他人处理，本次操作未生效；请刷新页面查看最新状态")
    audit.record(session, action="adjustment:cancel", actor=actor, now=now, target=_target(adjustment), details={"reason": reason.strip()})


# -- clocks and lookups --------------------------------------------------------------------


def kind_of(adjustment: Adjustment) -> ClockKind:
    """The clock kind (第十条, 10 working days) with the rule stored when it was opened."""
    return with_rule(CLOCK_KINDS["catalog_adjustment"], adjustment.clock_rule)  # type: ignore[arg-type]


def due(calendar: Calendar, adjustment: Adjustment) -> Due:
    kind = kind_of(adjustment)
    return due_date(calendar, adjustment.event_on, kind.limit_days, kind.rule)


def clock(calendar: Calendar, adjustment: Adjustment, today: date) -> ClockState | None:
    """The running clock of an open adjustment; None once done or cancelled."""
    if adjustment.state != "open":
        return None
    return describe_clock(calendar, kind_of(adjustment), adjustment.event_on, today)


def finished_late(calendar: Calendar, adjustment: Adjustment) -> bool | None:
    """Whether a done adjustment was done after its due date (None unless done)."""
    if adjustment.state != "done" or adjustment.closed_at is None:
        return None
    limit = due(calendar, adjustment).date
    return limit is not None and china_day(adjustment.closed_at) > limit


def get_adjustment(session: Session, adjustment_id: int, user: User | None) -> Adjustment:
    adjustment = session.get(Adjustment, adjustment_id)
    if adjustment is None or not may_see(user, adjustment):
        raise NotFound(N_("没有找到该目录调整，或您无权查看"))
    return adjustment


def may_list(user: User | None) -> bool:
    return user is not None and (user.role in (Role.BUREAU, Role.AUDITOR) or (user.role in DEPARTMENT_ROLES and user.department_id is not None))


def visible_adjustments(session: Session, user: User | None, *, state: str | None = None) -> list[Adjustment]:
    """The adjustments `user` may see, newest first; Forbidden for those who may see none."""
    if user is None or not may_list(user):
        raise Forbidden(N_("您没有查看目录调整的权限"))
    query = select(Adjustment).order_by(Adjustment.id.desc())
    if user.role not in (Role.BUREAU, Role.AUDITOR):
        query = query.where(Adjustment.department_id == user.department_id)
    if state in STATES:
        query = query.where(Adjustment.state == state)
    return list(session.scalars(query))


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def tasks(session: Session, calendar: Calendar, today: date) -> list[Task]:
    """Every open adjustment whose entries are not all updated yet waits for its department's
    editors and administrator, on the 第十条 clock. Reads only (closing is `close_updated`'s)."""
    found = []
    for adjustment in session.scalars(select(Adjustment).where(Adjustment.state == "open").order_by(Adjustment.id)):
        if adjustment.targets and all(t.entry.version > t.version_at_open for t in adjustment.targets):
            continue  # done in fact; the next `close_updated` closes it
        found.append(Task(
            kind="adjustment", id=adjustment.id, title=f"{adjustment.department.name}：{_short(adjustment.event)}",
            state=STATES["open"], waiting_for=N_("更新目录"),
            assignee=Assignee(roles=OPENERS, department_id=adjustment.department_id),
            clock=clock(calendar, adjustment, today), entry=adjustment.targets[0].entry if len(adjustment.targets) == 1 else None,
            department_id=adjustment.department_id,
        ))
    return found
