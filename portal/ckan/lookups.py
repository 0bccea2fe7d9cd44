"""Finding what a call names, as the caller may see it: an entry by id or name (`_entry`), the
entries of a page (`_entries`), a department (`_department`), a group's classification prefix
(`_group_prefix`), a resource file by its resource id (`_file`, `_revisions`,
`_first_revisions`), and the entries and groups a call sees (`_scope`, `_themes`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, exists, or_, select
from sqlalchemy.orm import Session, aliased, defer, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from ..authz import Action, can
from ..browse import visible_clause
from ..errors import Invalid, NotFound
from ..models import DataItem, Department, Entry, EntryFile, User
from ..serving import released_files
from ..vocab import CLASSIFICATION_DIGIT, ClassificationKind, EntryStatus
from .common import _GROUP, FILE_NOT_FOUND, KIND_OF_DIGIT, NOT_FOUND, Call, _flag, make_id, read_id


# -- lookups -------------------------------------------------------------------------------

# What package dicts read of an entry: its department (joined), its data items and its current
# files (not their schemas and quality summaries, which are large), loaded for all the entries of
# a call at once by `_load_parts`. The statements are built once: building and keying a statement
# with loader options costs more than running it.
_ENTRY_BY_ID = select(Entry).where(Entry.id == bindparam("key")).options(joinedload(Entry.department, innerjoin=True))
_ENTRY_BY_SLUG = select(Entry).where(Entry.slug == bindparam("key")).options(joinedload(Entry.department, innerjoin=True))
_ENTRIES = select(Entry).where(Entry.id.in_(bindparam("ids", expanding=True))).options(joinedload(Entry.department, innerjoin=True))
_OPEN_ENTRIES = _ENTRIES.where(visible_clause(None))  # those an anonymous visitor may see
_ITEMS = (
    select(DataItem).where(DataItem.entry_id.in_(bindparam("ids", expanding=True)))
    .order_by(DataItem.entry_id, DataItem.position, DataItem.id)  # `Entry.items` is in position order
)
_EARLIER = aliased(EntryFile)
_FILES = (  # `Entry.files`, each with whether a revision was replaced by it (else it is its own first revision)
    select(EntryFile, exists().where(_EARLIER.entry_id == EntryFile.entry_id, _EARLIER.replaced_by_id == EntryFile.id))
    .where(EntryFile.entry_id.in_(bindparam("ids", expanding=True)), EntryFile.replaced_at.is_(None))
    .options(defer(EntryFile.table_schema), defer(EntryFile.quality))
    .order_by(EntryFile.id)
)
_REVISIONS = select(EntryFile.id, EntryFile.replaced_by_id, EntryFile.derived_from_id, EntryFile.created_at, EntryFile.replaced_at).where(
    EntryFile.entry_id.in_(bindparam("ids", expanding=True))
)
_DEPARTMENTS = select(Department.id, Department.code, Department.name).order_by(Department.id)


def _entry(call: Call, ref: Any, key: str = "id") -> Entry:
    """The entry `ref` (its id or name) if the caller may see it; NotFound otherwise."""
    text = str(ref or "").strip()
    if not text:
        raise Invalid({key: "缺少该参数"})
    number = read_id("package", text)
    statement, value = (_ENTRY_BY_ID, number) if number is not None else (_ENTRY_BY_SLUG, text)
    entry = call.session.scalars(statement, {"key": value}).first()
    if entry is None or not can(call.user, Action.VIEW_ENTRY, entry):
        raise NotFound(NOT_FOUND)
    _load_parts(call, [entry])
    return entry


def _entries(call: Call, ids: list[int], *, visible_to: tuple[User | None] | None = None) -> list[Entry]:
    """The entries `ids`, in that order, with what their dicts need; with `visible_to`, only
    those its one user may see (`browse.visible_clause`, in SQL: whatever the session holds)."""
    if not ids:
        return []
    if visible_to is None:
        statement = _ENTRIES
    else:
        statement = _OPEN_ENTRIES if visible_to[0] is None else _ENTRIES.where(visible_clause(visible_to[0]))
    found = {e.id: e for e in call.session.scalars(statement, {"ids": ids})}
    entries = [found[i] for i in ids if i in found]
    _load_parts(call, entries)
    return entries


def _load_parts(call: Call, entries: list[Entry]) -> None:
    """Load the data items and current files of `entries` (those not loaded yet), one query
    each for all of them, as `selectinload` would; and note in `call.memo` the files that are
    their own first revision, so that `dicts._batch` need not read their revisions."""
    session = call.session
    firsts: dict[int, _Revision] = call.memo.setdefault("first_revisions", {})
    for name, statement in (("items", _ITEMS), ("files", _FILES)):
        wanted = {e.id: e for e in entries if name not in e.__dict__}  # not loaded (the state's dict is the instance's)
        if not wanted:
            continue
        parts: dict[int, list[Any]] = {number: [] for number in wanted}
        if name == "items":
            for item in session.scalars(statement, {"ids": list(wanted)}):
                parts[item.entry_id].append(item)
        else:
            for record, replaced_one in session.execute(statement, {"ids": list(wanted)}):
                parts[record.entry_id].append(record)
                if "entry" not in record.__dict__:
                    set_committed_value(record, "entry", wanted[record.entry_id])
                if not replaced_one:
                    firsts[record.id] = _Revision(record.id, record.replaced_by_id, record.derived_from_id is not None, record.created_at, True)
        for number, entry in wanted.items():
            set_committed_value(entry, name, parts[number])


def _departments(call: Call) -> list[tuple[int, str, str]]:
    """Every department as (id, CKAN name, title), read once per call."""
    if "departments" not in call.memo:
        call.memo["departments"] = [(number, code.lower(), title) for number, code, title in call.session.execute(_DEPARTMENTS)]
    return call.memo["departments"]  # type: ignore[no-any-return]


def _department(session: Session, ref: Any) -> Department | None:
    text = str(ref or "").strip()
    if not text:
        return None
    number = read_id("organization", text)
    if number is not None:
        return session.get(Department, number)
    return session.scalar(select(Department).where(or_(Department.code == text.upper(), Department.name == text)))


def _group_prefix(ref: Any) -> str | None:
    """The classification code prefix of the group `ref` (its id or name, or the prefix)."""
    text = str(ref or "").strip().lower()
    number = read_id("group", text)
    if number is not None:
        text = str(number)
    match = _GROUP.fullmatch(text)
    if match is None:
        return None
    kind, prefix = match.groups()
    return prefix if not kind or CLASSIFICATION_DIGIT[ClassificationKind(kind)] == prefix[0] else None


def _file(call: Call, ref: Any) -> tuple[Entry, EntryFile]:
    """The current file that resource id `ref` names (any revision's number finds the newest),
    among those the caller receives (`serving.released_files`)."""
    number = read_id("resource", ref)
    entry_id = call.session.scalar(select(EntryFile.entry_id).where(EntryFile.id == number)) if number is not None else None
    if entry_id is None:
        raise NotFound(FILE_NOT_FOUND)
    entry = _entry(call, make_id("package", entry_id))
    revisions = _revisions(call.session, [entry.id])
    revision = revisions[number]  # type: ignore[index]
    for _ in range(len(revisions)):
        if revision.current or revision.replaced_by_id not in revisions:
            break
        following = revisions[revision.replaced_by_id]  # type: ignore[index]
        if following.derived != revision.derived:
            break  # a masked copy retired with its source
        revision = following
    record = next((f for f in released_files(call.user, entry) if f.id == revision.id), None)
    if record is None:
        raise NotFound(FILE_NOT_FOUND)
    return entry, record


@dataclass(frozen=True)
class _Revision:
    """What resource ids need of a file revision (no schemas, reports or findings)."""

    id: int
    replaced_by_id: int | None
    derived: bool  # a masked copy
    created_at: datetime
    current: bool


def _revisions(session: Session, entry_ids: list[int]) -> dict[int, _Revision]:
    rows = session.execute(_REVISIONS, {"ids": entry_ids}) if entry_ids else []
    return {r[0]: _Revision(r[0], r[1], r[2] is not None, r[3], r[4] is None) for r in rows}


def _first_revisions(revisions: dict[int, _Revision]) -> dict[int, _Revision]:
    """Every file's first revision, following `replaced_by_id` backwards (a masked copy only
    through masked copies, an original only through originals): what its resource id is made of."""
    before: dict[int, list[_Revision]] = {}
    for revision in revisions.values():
        if revision.replaced_by_id is not None:
            before.setdefault(revision.replaced_by_id, []).append(revision)
    firsts = {}
    for start in revisions.values():
        revision, seen = start, set()
        while revision.id not in seen:
            seen.add(revision.id)
            earlier = [r for r in before.get(revision.id, []) if r.derived == revision.derived]
            if not earlier:
                break
            revision = min(earlier, key=lambda r: r.id)
        firsts[start.id] = revision
    return firsts


# -- what a call sees ----------------------------------------------------------------------


def _statuses(data: Mapping[str, Any]) -> list[EntryStatus]:
    statuses = [EntryStatus.PUBLISHED]
    if _flag(data, "include_drafts"):
        statuses.append(EntryStatus.DRAFT)
    if _flag(data, "include_deleted"):
        statuses.append(EntryStatus.WITHDRAWN)
    return statuses


def _scope(call: Call, data: Mapping[str, Any]) -> tuple[User | None, list[ColumnElement[bool]]]:
    """The viewer to search as and the conditions of CKAN's include_* flags: without
    include_private only the public open catalog, as an anonymous visitor sees it."""
    viewer, statuses = _viewer(call, data)
    return viewer, [visible_clause(viewer), Entry.status.in_(statuses)]


def _viewer(call: Call, data: Mapping[str, Any]) -> tuple[User | None, list[EntryStatus]]:
    """`_scope` before it is made SQL: the viewer, and the states asked for."""
    return (call.user if _flag(data, "include_private") else None), _statuses(data)


def _themes(call: Call) -> dict[str, tuple[str, int, datetime | None]]:
    """The groups the caller can see entries of: prefix -> (title, datasets, created). The title
    is the commonest first segment of those entries' classification paths."""
    _viewer, conditions = _scope(call, {"include_private": True})
    rows = call.session.execute(select(Entry.classification_code, Entry.classification_path, Entry.created_at).where(*conditions))
    titles: dict[str, Counter[str]] = {}
    created: dict[str, datetime] = {}
    for code, path, at in rows:
        prefix = code[:3]
        if prefix[:1] not in KIND_OF_DIGIT or len(prefix) < 3:
            continue
        titles.setdefault(prefix, Counter())[path.split("/")[0]] += 1
        created[prefix] = min(created.get(prefix, at), at)
    return {
        prefix: (min(counter.items(), key=lambda item: (-item[1], item[0]))[0], sum(counter.values()), created[prefix])
        for prefix, counter in titles.items()
    }
