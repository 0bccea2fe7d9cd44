"""package_search: the words of `q` (and the Solr fields CKAN lets it hold), the filters (see
`filters`), the sort (`parse_sort`) and the facets, answered by the search index the catalog
page searches when the request fits it (`_search_index`: words, the filters and facets the index
holds, tags and formats among them) and in SQL otherwise (`_search_database`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select

from ..browse import FILTERS
from ..errors import Invalid
from ..models import Entry, EntryFile, SearchOutbox, User
from ..search import LIST_FACETS
from ..search.analysis import parse_query
from ..search.documents import name_key, scope_for
from ..vocab import Role
from .common import (
    EXTRAS, FACET_LIMIT, KIND_OF_DIGIT, MAX_TEXT_MATCHES, ROWS_DEFAULT, ROWS_MAX, Call, _flag, _integer, _json_list, _natural, _text,
    group_name,
)
from .dicts import package_dicts
from .filters import DATE_FIELDS, FQ_FIELDS, INDEX_FILTERS, Clause, _condition, _extra_field, _index_filters, parse_fq
from .lookups import _departments, _entries, _scope, _themes, _viewer


# -- package_search ------------------------------------------------------------------------

# Sort fields: CKAN's name -> the column it orders by; "score" is relevance to q, titles sort
# by their pinyin (as the catalog page sorts names).
SORT_COLUMNS: dict[str, Any] = {
    "metadata_modified": Entry.updated_at, "metadata_created": Entry.created_at, "name": Entry.slug, "id": Entry.id,
    "views_recent": Entry.downloads, "views_total": Entry.downloads,
}
PINYIN_SORTS = ("title_string", "title")
SORTS = ("score", *SORT_COLUMNS, *PINYIN_SORTS)


def parse_sort(text: str) -> list[tuple[str, bool]]:
    """``field asc|desc`` pairs, comma-separated; CKAN's default is relevance, then newest change."""
    keys = []
    for part in (text or "score desc, metadata_modified desc").split(","):
        field, _, direction = part.strip().partition(" ")
        direction = direction.strip().lower() or "asc"
        if field not in SORTS or direction not in ("asc", "desc"):
            raise Invalid({"sort": f"不支持的排序：{part.strip()}（可用：{'、'.join(SORTS)}，加 asc 或 desc）"})
        keys.append((field, direction == "desc"))
    return keys


@dataclass
class _Found:
    ids: list[int]
    total: int
    facets: dict[str, Counter[str]]
    visible_to: tuple[User | None] | None = None  # load only the entries of `ids` this user may see


FACET_FIELDS = ("organization", "groups", "tags", "res_format", *INDEX_FILTERS, "security_level")
# The facets the search index counts itself: facet -> its key in the index (FACETS or LIST_FACETS).
INDEX_FACETS = {"organization": "department", **INDEX_FILTERS, "tags": "keywords", "res_format": "formats"}
_QUEUED = select(SearchOutbox.id).limit(1)  # whether a writer left changes for the index


def _facet_name(field: str) -> str | None:
    if field in ("organization", "groups", "tags", "res_format"):
        return field
    name = _extra_field(field)
    return name if name in INDEX_FILTERS or name == "security_level" else None


def package_search(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    """Search for datasets (catalog entries) with the portal's own full-text search.

    :param q: the search words (Chinese segmented as in the catalog page; ``"phrase"``,
        ``-word``); fielded terms such as ``tags:空气质量`` are taken as filters (optional)
    :param fq: filters, Solr syntax: ``organization:<name>``, ``owner_org:<id>``,
        ``groups:<name>``, ``tags:<tag>``, ``res_format:<format>``, ``name:``, ``id:``,
        ``state:active|draft|deleted``, ``capacity:public|private``, ``dataset_type:dataset``,
        ``metadata_modified:[2026-01-01T00:00:00Z TO *]`` (also ``metadata_created``), and the
        catalog's own fields as extras (``share_type:conditional`` or
        ``extras_share_type:conditional``; values as stored or their Chinese labels). Clauses
        are ANDed, ``OR`` joins two, ``-`` negates, ``(a OR b)`` and quotes are understood; any
        other filter is a Validation Error, never ignored (optional)
    :param fq_list: more filters, a list (optional)
    :param sort: e.g. ``score desc, metadata_modified desc`` (default), ``metadata_modified
        desc``, ``metadata_created asc``, ``name asc``, ``title_string asc`` (pinyin), ``id
        asc``, ``views_total desc`` (downloads) (optional)
    :param rows: page size (optional, default 10, at most 1000; above 100 a bulk service for
        real-name verified users and departments)
    :param start: offset of the page (optional)
    :param facet: ``true`` (default) or ``false``
    :param facet.field: JSON list of ``organization``, ``groups``, ``tags``, ``res_format``,
        ``classification_kind``, ``format_class``, ``share_type``, ``open_type``,
        ``update_cycle``, ``security_level`` (optional)
    :param facet.limit: values per facet (optional, default 50, negative: all)
    :param facet.mincount: smallest count shown (optional, default 1)
    :param include_private: also datasets outside the public open catalog that the caller may
        see (optional, default false)
    :param include_drafts, include_deleted: also drafts / withdrawn datasets the caller may see
        (optional, default false)
    :rtype: dictionary with ``count``, ``results``, ``facets``, ``search_facets``, ``sort``
    """
    rows = min(_natural(data, "rows", ROWS_DEFAULT) or 0, ROWS_MAX)
    start = _natural(data, "start", 0) or 0
    sort_text = _text(data, "sort") or "score desc, metadata_modified desc"
    sort = parse_sort(sort_text)
    facet_fields = _json_list(data, "facet.field") if _flag(data, "facet", True) else []
    if unknown := [f for f in facet_fields if _facet_name(f) is None]:
        raise Invalid({"facet.field": f"不支持的分面字段：{'、'.join(unknown)}（可用：{'、'.join(FACET_FIELDS)}）"})
    facet_limit = _integer(data, "facet.limit", FACET_LIMIT)
    mincount = _natural(data, "facet.mincount", 1) or 0
    text, fq = _split_query(_text(data, "q"), [_text(data, "fq"), *_json_list(data, "fq_list")])
    groups = parse_fq(fq)
    viewer, _states = _viewer(call, data)  # (the states are checked here, and made SQL by `_scope` if need be)
    if text and call.search is None:
        raise RuntimeError("package_search with words needs the configured search")
    found = _search_index(call, data, text, groups, sort, facet_fields, viewer, rows, start)
    if found is None:
        conditions = _scope(call, data)[1]
        conditions += [or_(*(_condition(call, c) for c in group)) for group in groups]
        found = _search_database(call, text, conditions, sort, facet_fields, viewer, rows, start)
    facets = {f: _top(found.facets.get(_facet_name(f) or "", Counter()), facet_limit, mincount) for f in facet_fields}
    return {
        "count": found.total,
        "facets": facets,
        "results": package_dicts(call, _entries(call, found.ids, visible_to=found.visible_to)),
        "sort": sort_text,
        "search_facets": {f: _search_facet(call, f, counts) for f, counts in facets.items()},
    }


def _split_query(q: str, fqs: list[str]) -> tuple[str, str]:
    """CKAN lets q hold Solr fields too: known filter fields of q become filters, and the words
    of ``title:``, ``notes:`` or ``text:`` are searched as words."""
    words, filters = [], [f for f in fqs if f]
    for word in q.split():
        field, _, value = word.partition(":") if ":" in word else ("", "", "")
        field = field.lstrip("+-").lower()
        if word == "*:*" or (field and (field in FQ_FIELDS or field in DATE_FIELDS or _extra_field(field))):
            filters.append(word)
        elif field in ("title", "notes", "text") and value:
            words.append(value)
        else:
            words.append(word)
    return " ".join(words), " ".join(filters)


def _search_index(
    call: Call, data: Mapping[str, Any], text: str, groups: list[list[Clause]], sort: list[tuple[str, bool]],
    facet_fields: list[str], viewer: User | None, rows: int, start: int,
) -> _Found | None:
    """The search index, as the catalog page searches it (`search_catalog`), when the request
    fits it: words to match, filters and facets the index holds, relevance, pinyin title or
    download order, a page boundary, and a viewer whose visible entries are all published (or
    drafts and withdrawn entries asked for). None when it does not fit."""
    order = {("score", True): "relevance", ("title_string", False): "name", ("title", False): "name",
             ("views_total", True): "downloads", ("views_recent", True): "downloads"}.get(sort[0])
    only_published = viewer is None or viewer.role in (Role.PUBLIC, Role.REVIEWER, Role.AUDITOR)
    every_state = _flag(data, "include_drafts") and _flag(data, "include_deleted")
    if not text or order is None or not (only_published or every_state) or (rows and start % rows):
        return None
    names = {_facet_name(f) for f in facet_fields}
    if any(name not in INDEX_FACETS for name in names):
        return None
    filters = _index_filters(call, groups)
    if filters is None:
        return None
    search = call.search
    assert search is not None
    if call.session.scalar(_QUEUED) is not None:
        search.indexer.drain()  # as `search_catalog` does: a writer died before indexing its commit
    results = search.backend.search(
        parse_query(text, synonyms=search.synonyms), scope=scope_for(viewer),
        filters={key: str(getattr(value, "value", value)) for key, value in filters.items()}, sort=order, offset=start, limit=rows,
        lists=[INDEX_FACETS[name] for name in names if INDEX_FACETS[name] in LIST_FACETS],  # type: ignore[index]
    )
    facets: dict[str, Counter[str]] = {}
    for name in names:
        key = INDEX_FACETS[name]  # type: ignore[index]
        counts = results.facets.get(key, {})
        if name == "organization":  # as `search_catalog` names them: departments of the database
            facets[name] = Counter({code: counts[str(number)] for number, code, _title in _departments(call) if str(number) in counts})
        elif key in LIST_FACETS:
            facets[name] = Counter({value: n for value, n in counts.items() if n})
        else:
            facets[name] = Counter({m.value: counts[m.value] for m in FILTERS[key][1] if counts.get(m.value)})
    ids = results.ids if start < results.total else []  # never "the last page instead"
    return _Found(ids, results.total, facets, (viewer,))  # a stale index shows no entry the viewer may not see


def _search_database(
    call: Call, text: str, conditions: list[ColumnElement[bool]], sort: list[tuple[str, bool]], facet_fields: list[str],
    viewer: User | None, rows: int, start: int,
) -> _Found:
    """Filters and order in SQL; the words (if any) matched by the search index first, which
    also gives relevance."""
    session = call.session
    matched: list[int] | None = None
    if text:
        assert call.search is not None
        if session.scalar(select(SearchOutbox.id).limit(1)) is not None:
            call.search.indexer.drain()  # as `search_catalog` does: a writer died before indexing
        query = parse_query(text, synonyms=call.search.synonyms)
        results = call.search.backend.search(query, scope=scope_for(viewer), filters={}, sort="relevance", offset=0, limit=MAX_TEXT_MATCHES)
        matched = results.ids
    keys = [(f, d) for f, d in sort if f != "score" or matched is not None] or [("metadata_modified", True)]
    (first, descending), base = keys[0], select(Entry.id).where(*conditions)
    if first == "score":
        allowed = set(session.scalars(base))
        ordered = [i for i in matched or [] if i in allowed]
    elif first in PINYIN_SORTS:
        titled = session.execute(select(Entry.id, Entry.title).where(*conditions)).all()
        ordered = [i for i, _title in sorted(titled, key=lambda r: (name_key(r[1]), r[0]), reverse=descending)]
    else:
        columns = [(SORT_COLUMNS[f], d) for f, d in keys if f in SORT_COLUMNS]
        statement = base.order_by(*(c.desc() if d else c.asc() for c, d in columns), Entry.id.desc() if descending else Entry.id.asc())
        if matched is None and not facet_fields:  # the database pages and counts by itself
            total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
            return _Found(list(session.scalars(statement.offset(start).limit(rows))) if rows else [], total, {})
        ordered = list(session.scalars(statement))
    if matched is not None and first != "score":
        wanted = set(matched)
        ordered = [i for i in ordered if i in wanted]
    facets = _facet_counts(call, conditions, set(ordered), facet_fields) if facet_fields else {}
    return _Found(ordered[start: start + rows], len(ordered), facets)


def _facet_counts(call: Call, conditions: list[ColumnElement[bool]], ids: set[int], fields: list[str]) -> dict[str, Counter[str]]:
    session = call.session
    names = {_facet_name(f) for f in fields}
    counts: dict[str, Counter[str]] = {name: Counter() for name in names if name}
    codes = {number: code for number, code, _title in _departments(call)} if "organization" in counts else {}
    enums = [n for n in counts if n in INDEX_FILTERS or n == "security_level"]
    columns = [Entry.id, Entry.department_id, Entry.classification_code, Entry.keywords, *(getattr(Entry, n) for n in enums)]
    for row in session.execute(select(*columns).where(*conditions)):
        if row[0] not in ids:
            continue
        if "organization" in counts:
            counts["organization"][codes[row[1]]] += 1
        if "groups" in counts and row[2][:1] in KIND_OF_DIGIT and len(row[2]) >= 3:
            counts["groups"][group_name(row[2][:3])] += 1
        if "tags" in counts:
            counts["tags"].update(set(row[3] or []))
        for name, value in zip(enums, row[4:]):
            counts[name][value.value] += 1
    if "res_format" in counts:  # in capitals as the resources show them (and the index holds them)
        pairs = session.execute(
            select(EntryFile.entry_id, EntryFile.format).join(Entry, Entry.id == EntryFile.entry_id)
            .where(*conditions, EntryFile.replaced_at.is_(None)).distinct()
        )
        distinct = {(entry_id, fmt.upper()) for entry_id, fmt in pairs if entry_id in ids}
        counts["res_format"].update(fmt for _entry_id, fmt in distinct)
    return counts


def _top(counts: Counter[str], limit: int, mincount: int) -> dict[str, int]:
    ranked = sorted(((v, n) for v, n in counts.items() if n >= max(mincount, 1)), key=lambda p: (-p[1], p[0]))
    return dict(ranked if limit < 0 else ranked[:limit])


def _search_facet(call: Call, field: str, counts: dict[str, int]) -> dict[str, Any]:
    """CKAN's `search_facets` entry: items named and shown, sorted by display name descending
    (as CKAN sorts them)."""
    name = _facet_name(field)
    shown: dict[str, str] = {}
    if name == "organization":
        shown = {code: title for _number, code, title in _departments(call)}
    elif name == "groups":
        themes = _themes(call)
        shown = {group_name(p): t for p, (t, _n, _c) in themes.items()}
    elif name in EXTRAS and EXTRAS[name] is not None:
        shown = {m.value: m.label for m in EXTRAS[name]}
    items = [{"name": v, "display_name": shown.get(v, v), "count": n} for v, n in counts.items()]
    return {"title": field, "items": sorted(items, key=lambda i: i["display_name"], reverse=True)}
