"""The progress of an open-data plan (Art. 17), computed from the catalog, never typed in.

An item is *delivered* while its entry is in the
open catalog (published, with its reviewed open type in effect, `authz.can(None, VIEW_ENTRY)`)
with exactly the target open type. Its `delivered_on` is the first day (China time) from which it
has stayed so without interruption, read from the entry's versions (`EntryVersion`: the
status and open type each version set); an entry withdrawn and published again counts from its
new publication. An item is *late* when it is not delivered and its target date has passed, or
when it was delivered after its target date; otherwise it is done (delivered) or pending.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import browse
from .authz import OPEN_CATALOG, Action, can
from .data_requests import china_day
from .models import Department, Entry, EntryVersion, Plan, PlanItem
from .vocab import EntryStatus, OpenType

__all__ = ["DepartmentFigures", "ItemProgress", "PlanProgress", "delivered_since", "department_figures", "is_delivered", "plan_progress"]


@dataclass(frozen=True)
class DepartmentFigures:
    """A department's published entries: in the catalog, in the open catalog, by open type."""

    department: Department
    catalog: int
    open_catalog: int
    by_open_type: dict[OpenType, int]  # every OpenType, in vocabulary order


@dataclass(frozen=True)
class ItemProgress:
    item: PlanItem
    status: str  # done | late | pending (ITEM_STATUSES)
    delivered: bool  # in the open catalog with the target open type, now
    delivered_on: date | None  # since when (China date), when delivered


@dataclass(frozen=True)
class PlanProgress:
    """Planned versus delivered. `late` counts items overdue and items delivered late, so
    `delivered + pending + overdue == planned`, where `overdue` is late and not delivered."""

    plan: Plan
    today: date
    items: list[ItemProgress]
    planned: int
    delivered: int
    late: int
    overdue: int
    pending: int
    percent: int  # delivered / planned, rounded down (100 only when every item is delivered)
    figures: DepartmentFigures


def department_figures(session: Session, department: Department) -> DepartmentFigures:
    published = (Entry.department_id == department.id, Entry.status == EntryStatus.PUBLISHED)
    counts = dict(session.execute(select(Entry.open_type, func.count(Entry.id)).where(*published).group_by(Entry.open_type)).all())
    open_catalog = session.scalar(
        select(func.count(Entry.id)).where(Entry.department_id == department.id, browse.visible_clause(None))
    ) or 0
    return DepartmentFigures(
        department=department, catalog=sum(counts.values()), open_catalog=open_catalog,
        by_open_type={t: counts.get(t, 0) for t in OpenType},
    )


def is_delivered(entry: Entry | None, target: OpenType) -> bool:
    """Whether `entry` is released to the open catalog with the open type `target`."""
    return entry is not None and target in OPEN_CATALOG and entry.open_type == target and can(None, Action.VIEW_ENTRY, entry)


def delivered_since(session: Session, entry: Entry, target: OpenType) -> date | None:
    """The first day from which `entry` has stayed published with the open type `target`, read
    from its versions; None when it is not so now. Falls back to the day of its last change if
    its history does not show it (an entry changed outside the catalog's functions)."""
    if not is_delivered(entry, target):
        return None
    status = open_type = ""
    since: datetime | None = None
    versions = session.scalars(select(EntryVersion).where(EntryVersion.entry_id == entry.id).order_by(EntryVersion.number))
    for version in versions:
        for change in version.changes or []:
            if change.get("field") == "status":
                status = change.get("new", "")
            elif change.get("field") == "open_type":
                open_type = change.get("new", "")
        if status == EntryStatus.PUBLISHED.label and open_type == target.label:
            since = since or version.at
        else:
            since = None
    return china_day(since or entry.updated_at)


def plan_progress(session: Session, plan: Plan, *, today: date) -> PlanProgress:
    """Each item's status on `today`, the counts, and the department's figures."""
    rows = []
    for item in plan.items:
        entry = item.entry
        on = delivered_since(session, entry, item.target_open_type) if entry is not None else None
        delivered = on is not None
        late = (on > item.target_date) if on is not None else item.target_date < today
        status = "late" if late else "done" if delivered else "pending"
        rows.append(ItemProgress(item=item, status=status, delivered=delivered, delivered_on=on))
    planned = len(rows)
    delivered_count = sum(r.delivered for r in rows)
    overdue = sum(r.status == "late" and not r.delivered for r in rows)
    return PlanProgress(
        plan=plan, today=today, items=rows, planned=planned, delivered=delivered_count,
        late=sum(r.status == "late" for r in rows), overdue=overdue, pending=planned - delivered_count - overdue,
        percent=delivered_count * 100 // planned if planned else 0, figures=department_figures(session, plan.department),
    )
