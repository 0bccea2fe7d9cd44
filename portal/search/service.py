"""Searching the catalog as a viewer: the function the catalog page (and later the API) calls.

Free of HTTP: it takes a session, the configured `Search` and the viewer, and returns a page of
entries with snippets, facet counts, notes about the query and a suggestion when nothing matched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..browse import FILTERS, Facet, visible_clause
from ..models import Department, Entry, SearchOutbox, User
from ..vocab import N_
from . import SORTS, Backend
from .analysis import Query, load_synonyms, parse_query, snippet, suggest, zone_vocabulary
from .documents import scope_for
from .sync import Indexer

SORT_LABELS = {"relevance": N_("相关度"), "newest": N_("最新"), "downloads": N_("下载最多"), "name": N_("名称")}


class Search:
    """The configured search: a backend, the indexer that feeds it, and the synonyms."""

    def __init__(self, backend: Backend, indexer: Indexer, synonyms_path: Path) -> None:
        self.backend = backend
        self.indexer = indexer
        self.synonyms = load_synonyms(str(synonyms_path))


@dataclass
class SearchPage:
    entries: list[Entry]
    total: int
    page: int
    page_size: int
    query: Query
    sort: str
    facets: list[Facet] = field(default_factory=list)
    snippets: dict[int, str] = field(default_factory=dict)
    suggestion: str | None = None

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))

    @property
    def notes(self) -> tuple[str, ...]:
        return self.query.notes


def search_catalog(
    session: Session,
    search: Search,
    viewer: User | None,
    *,
    text: str,
    filters: dict[str, Any],
    sort: str = "relevance",
    page: int = 1,
    page_size: int = 20,
) -> SearchPage:
    """One page of the entries `viewer` may see that match `text` and `filters`.

    Visibility is part of the index query, so hidden entries are never counted; the entries are
    then loaded through `visible_clause` as well, so a stale index cannot show one either.
    """
    if session.scalar(select(SearchOutbox.id).limit(1)) is not None:
        search.indexer.drain()  # a writer died before indexing its commit: catch up first
    query = parse_query(text, synonyms=search.synonyms)
    sort = sort if sort in SORTS else "relevance"
    backend_filters = {key: str(getattr(value, "value", value)) for key, value in filters.items()}
    scope = scope_for(viewer)
    page = max(1, page)
    results = search.backend.search(query, scope=scope, filters=backend_filters, sort=sort, offset=(page - 1) * page_size, limit=page_size)
    if not results.ids and results.total and page > 1:  # past the last page: show the last one
        page = math.ceil(results.total / page_size)
        results = search.backend.search(query, scope=scope, filters=backend_filters, sort=sort, offset=(page - 1) * page_size, limit=page_size)
    found = {
        e.id: e
        for e in session.scalars(
            select(Entry)
            .where(Entry.id.in_(results.ids), visible_clause(viewer))
            .options(selectinload(Entry.department), selectinload(Entry.files))
        )
    }
    entries = [found[i] for i in results.ids if i in found]
    words = query.words()
    snippets = {e.id: snippet(e.abstract or e.title, words) for e in entries}
    suggestion = None
    if results.total == 0 and not query.empty:
        vocabulary = zone_vocabulary() | set(session.scalars(select(Department.name))) | set(search.synonyms)
        suggestion = suggest(query, vocabulary)
    return SearchPage(
        entries=entries,
        total=results.total,
        page=page,
        page_size=page_size,
        query=query,
        sort=sort,
        facets=_facets(session, results.facets),
        snippets=snippets,
        suggestion=suggestion,
    )


def _facets(session: Session, counts: dict[str, dict[str, int]]) -> list[Facet]:
    facets = []
    for key, (_column, vocabulary) in FILTERS.items():
        values = counts.get(key, {})
        if vocabulary is None:
            ids = [int(v) for v in values if v.isdigit()]
            departments = session.scalars(select(Department).where(Department.id.in_(ids))).all()
            pairs = sorted(((d, values[str(d.id)]) for d in departments), key=lambda p: (-p[1], p[0].name))
        else:
            pairs = [(member, values[member.value]) for member in vocabulary if values.get(member.value)]
        facets.append(Facet(key, pairs))
    return facets
