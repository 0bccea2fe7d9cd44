"""What a viewer can see of the catalog: the visibility rule in SQL, lookups, counts, and the
catalog list's filters (the list itself is `search.service.search_catalog`).

`visible_clause` is `authz.can(user, VIEW_ENTRY, entry)` as a WHERE clause, so that a hidden
entry is never fetched, counted or listed; a test checks that the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.orm import Session, selectinload

from .authz import OPEN_CATALOG, Action, can
from .errors import NotFound
from .models import Department, Entry, EntryFile, User
from .vocab import DEPARTMENT_ROLES, N_, ClassificationKind, EntryStatus, FormatClass, OpenType, Role, ShareType, UpdateCycle


def visible_clause(user: User | None) -> ColumnElement[bool]:
    """SQL condition on `Entry` that holds exactly for the entries `user` may see."""
    if user is not None and user.role == Role.BUREAU:
        return true()
    published = Entry.status == EntryStatus.PUBLISHED
    open_catalog = and_(published, Entry.open_type.in_(list(OPEN_CATALOG)))
    if user is None:
        return open_catalog
    if user.role == Role.REVIEWER:
        return published
    if user.role in DEPARTMENT_ROLES:
        own = Entry.department_id == user.department_id
        return or_(own, open_catalog, and_(published, Entry.share_type != ShareType.NONE))
    return open_catalog


def get_entry(session: Session, slug: str, viewer: User | None, action: Action = Action.VIEW_ENTRY) -> Entry:
    """The entry `slug` if `viewer` may do `action` on it (by default, see it); NotFound otherwise
    (never "forbidden", which would tell that the entry exists)."""
    entry = session.scalar(
        select(Entry).where(Entry.slug == slug).options(selectinload(Entry.items), selectinload(Entry.files))
    )
    if entry is None or not can(viewer, action, entry):
        raise NotFound(N_("没有找到该数据资源，或您无权查看"))
    return entry


def get_file(session: Session, entry: Entry, file_id: int) -> EntryFile:
    for record in entry.files:
        if record.id == file_id:
            return record
    raise NotFound(N_("没有找到该资源文件"))


# Filters of the catalog list: query parameter -> (column, vocabulary or None).
FILTERS: dict[str, tuple[Any, Any]] = {
    "department": (Entry.department_id, None),
    "classification": (Entry.classification_kind, ClassificationKind),
    "format": (Entry.format_class, FormatClass),
    "share": (Entry.share_type, ShareType),
    "open": (Entry.open_type, OpenType),
    "cycle": (Entry.update_cycle, UpdateCycle),
}


@dataclass
class Facet:
    key: str
    counts: list[tuple[Any, int]]  # (value, count), value is a vocabulary member or a Department


def parse_filters(args: dict[str, str]) -> dict[str, Any]:
    """Filter values from query parameters; unknown or malformed values are ignored."""
    chosen: dict[str, Any] = {}
    for key, (_column, vocabulary) in FILTERS.items():
        raw = (args.get(key) or "").strip()
        if not raw:
            continue
        try:
            chosen[key] = vocabulary(raw) if vocabulary else int(raw)
        except ValueError:
            continue
    return chosen


def newest_entries(session: Session, viewer: User | None, limit: int = 6) -> list[Entry]:
    return list(
        session.scalars(
            select(Entry)
            .where(visible_clause(viewer), Entry.status == EntryStatus.PUBLISHED)
            .options(selectinload(Entry.department))
            .order_by(Entry.publish_date.desc().nulls_last(), Entry.id.desc())
            .limit(limit)
        )
    )


def catalog_counts(session: Session, viewer: User | None) -> dict[str, int]:
    """Figures for the home page, counting only what `viewer` may see."""
    visible = visible_clause(viewer)
    return {
        "entries": session.scalar(select(func.count(Entry.id)).where(visible)) or 0,
        "departments": session.scalar(select(func.count(func.distinct(Entry.department_id))).where(visible)) or 0,
        "files": session.scalar(select(func.count(EntryFile.id)).join(Entry).where(visible, EntryFile.replaced_at.is_(None))) or 0,
        "open": session.scalar(select(func.count(Entry.id)).where(visible, Entry.status == EntryStatus.PUBLISHED, Entry.open_type == OpenType.OPEN)) or 0,
    }


def departments_with_counts(session: Session, viewer: User | None) -> list[tuple[Department, int]]:
    """Every department, with the number of its entries `viewer` may see."""
    counts = dict(
        session.execute(select(Entry.department_id, func.count(Entry.id)).where(visible_clause(viewer)).group_by(Entry.department_id)).all()
    )
    departments = session.scalars(select(Department).order_by(Department.id)).all()
    return [(d, counts.get(d.id, 0)) for d in departments]


def get_department(session: Session, department_id: int) -> Department:
    department = session.get(Department, department_id)
    if department is None:
        raise NotFound(N_("没有找到该部门"))
    return department


def department_entries(session: Session, department: Department, viewer: User | None) -> list[Entry]:
    return list(
        session.scalars(
            select(Entry)
            .where(visible_clause(viewer), Entry.department_id == department.id)
            .order_by(Entry.resource_code)
        )
    )


