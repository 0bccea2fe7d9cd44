"""Reading the catalog for linked data, as the HTML catalog does (`browse.visible_clause`): a page
of the entries a viewer may see with their last modification (the Hydra paging of the DCAT
catalog), one entry's last modification, the entries a sitemap lists, and the query parameters
(`page`, `page_size`, times) that choose them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session, selectinload

from ..browse import visible_clause
from ..errors import Invalid
from ..models import Entry, EntryVersion, User

CHINA = timezone(timedelta(hours=8))
PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def modified_column() -> ColumnElement[datetime]:
    """When an entry last changed: its newest version, or its `updated_at` if that is later."""
    last = select(func.max(EntryVersion.at)).where(EntryVersion.entry_id == Entry.id).correlate(Entry).scalar_subquery()
    return case((last > Entry.updated_at, last), else_=Entry.updated_at)


@dataclass(frozen=True)
class CatalogPage:
    entries: list[tuple[Entry, datetime]]  # each entry with its last modification
    total: int
    page: int
    page_size: int

    @property
    def last(self) -> int:
        return max(1, -(-self.total // self.page_size))


def parse_time(text: str, *, field: str) -> datetime:
    """An ISO 8601 date or time from a query parameter; without an offset it is China time."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Invalid({field: f"时间格式应为 ISO 8601，如 2026-11-25T09:30:00+08:00：{text[:40]}"}) from None
    return (value.replace(tzinfo=CHINA) if value.tzinfo is None else value).astimezone(timezone.utc)


def parse_paging(page: str | None, page_size: str | None) -> tuple[int, int]:
    """`page` (from 1) and `page_size` (1 to MAX_PAGE_SIZE, PAGE_SIZE if not given) from a query."""
    errors = {}
    number = size = 0
    try:
        number = int(page or 1)
        size = int(page_size or PAGE_SIZE)
    except ValueError:
        errors["page"] = "page 与 page_size 应为正整数"
    if not errors and not (1 <= number <= 10**6):
        errors["page"] = "page 应为 1 到 1000000 之间的整数"
    if not errors and not (1 <= size <= MAX_PAGE_SIZE):
        errors["page_size"] = f"page_size 应为 1 到 {MAX_PAGE_SIZE} 之间的整数"
    if errors:
        raise Invalid(errors)
    return number, size


def catalog_page(session: Session, viewer: User | None, *, page: int, page_size: int, modified_since: datetime | None = None) -> CatalogPage:
    """The entries `viewer` may see, `page_size` a page in a stable order (by id), optionally
    only those modified at or after `modified_since`."""
    modified = modified_column()
    conditions = [visible_clause(viewer)]
    if modified_since is not None:
        conditions.append(modified >= modified_since)
    total = session.scalar(select(func.count(Entry.id)).where(*conditions)) or 0
    rows = session.execute(
        select(Entry, modified.label("modified"))
        .where(*conditions)
        .options(selectinload(Entry.department), selectinload(Entry.items), selectinload(Entry.files))
        .order_by(Entry.id)
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    return CatalogPage([(entry, when) for entry, when in rows], total, page, page_size)


def last_modified(session: Session, entry: Entry) -> datetime:
    return session.scalar(select(modified_column()).where(Entry.id == entry.id)) or entry.updated_at


def sitemap_entries(session: Session) -> list[tuple[str, int, datetime]]:
    """(slug, department id, last modification) of every entry of the open catalog: what anyone
    may see, whoever asks."""
    return [
        (slug, department_id, when)
        for slug, department_id, when in session.execute(
            select(Entry.slug, Entry.department_id, modified_column()).where(visible_clause(None)).order_by(Entry.id)
        )
    ]
