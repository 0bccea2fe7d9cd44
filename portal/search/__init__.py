"""Full-text search of the catalog, the one place that owns it.

`search_catalog` (in `service`) is what the web pages and the API call. Underneath, one small
interface, `Backend`, has two implementations chosen by the setting SEARCH_BACKEND: Whoosh files
(`whoosh_backend`, the embedded default) and PostgreSQL full-text search (`pg_backend`). Both
receive text already segmented by `analysis`, so they match the same words. `sync` keeps the
index following the database: changes are queued in the same transaction (an outbox table)
and written to the index after the commit.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from .analysis import Query

# Facet and filter keys, the same as the catalog list's query parameters.
FACETS = ("department", "classification", "format", "share", "open", "cycle")
SORTS = ("relevance", "newest", "downloads", "name")
OPEN_CATALOG = ("open", "on-application")
# Facets of several values per document (an entry's keywords; the formats of its current files,
# in capitals), counted only when a search asks for them (`Backend.search(lists=...)`).
LIST_FACETS = ("keywords", "formats")


@dataclass(frozen=True)
class Document:
    """What the index holds of one entry: text to match, and values to filter, count and sort."""

    id: int
    title: str
    tags: str  # keywords, department name, classification path
    body: str  # abstract, data items, file names
    department: str  # department id, as text
    classification: str
    format: str
    share: str
    open: str
    cycle: str
    status: str
    publish_date: date | None
    downloads: int
    name_key: str  # the title in pinyin, for sorting by name
    keywords: tuple[str, ...] = ()  # distinct, in the entry's order
    formats: tuple[str, ...] = ()  # of the current files: distinct, in capitals, sorted


@dataclass(frozen=True)
class Scope:
    """Which entries a viewer may find; the same rule as `browse.visible_clause` and
    `authz.can(VIEW_ENTRY)`: the published open catalog always, and besides it ..."""

    everything: bool = False  # ... every entry (the Bureau)
    department: str | None = None  # ... every entry of this department (its own staff)
    shared: bool = False  # ... published entries that are shared (department staff)
    published: bool = False  # ... every published entry (the disclosure reviewer)


@dataclass
class Results:
    ids: list[int]
    total: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


class Backend(Protocol):
    name: str

    def exclusive(self) -> AbstractContextManager[None]:
        """Held by whoever writes to the index, across processes: one writer at a time."""
        ...

    def upsert(self, documents: Sequence[Document]) -> None: ...

    def delete(self, ids: Iterable[int]) -> None: ...

    def clear(self) -> None: ...

    def optimize(self) -> None:
        """Compact the index after a bulk write (a rebuild)."""
        ...

    def ids(self) -> set[int]: ...

    def search(
        self, query: Query, *, scope: Scope, filters: Mapping[str, str], sort: str, offset: int, limit: int,
        lists: Collection[str] = (),
    ) -> Results:
        """Ids of the matching documents within `scope` and `filters`, in `sort` order, from
        `offset`; the total; and counts of every facet value among all matches: of every key of
        FACETS, and of the LIST_FACETS named in `lists` (how many matches hold each value)."""
        ...
