"""The index follows the database.

Every flush that changes an entry, its data items, files or department queues the entry's id in
`search_outbox`, inside the same transaction; nothing touches the index before the commit. After
a commit, `Indexer.drain` rewrites the queued documents and removes their rows, holding the
backend's writer lock from reading the database to writing the index, so writes of several
processes never interleave. A process killed after its commit leaves its rows queued: the next
drain of any process writes them, and `repair` (run when the portal starts) also rebuilds an
index that has lost entries or cannot be opened.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timezone

from sqlalchemy import delete, event, func, insert, inspect, select
from sqlalchemy.orm import Session, selectinload

from ..models import DataItem, Department, Entry, EntryFile, SearchOutbox
from . import Backend
from .documents import document_for

log = logging.getLogger(__name__)
BATCH = 500
# Entry columns whose change does not change its search document's text or filters.
UNINDEXED = frozenset({"version", "updated_at"})


def _changed_entry_ids(session: Session) -> set[int]:
    ids: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Entry):
            state = inspect(obj)
            if obj in session.dirty and not _document_changed(state):
                continue
            if obj.id is not None:
                ids.add(obj.id)
        elif isinstance(obj, (DataItem, EntryFile)) and obj.entry_id is not None:
            ids.add(obj.entry_id)
        elif isinstance(obj, Department) and obj in session.dirty and obj.id is not None:
            with session.no_autoflush:
                ids.update(session.scalars(select(Entry.id).where(Entry.department_id == obj.id)))
    return ids


def _document_changed(state) -> bool:  # type: ignore[no-untyped-def]
    return any(attr.history.has_changes() for attr in state.attrs if attr.key not in UNINDEXED)


@event.listens_for(Session, "before_flush")
def _collect(session: Session, _context, _instances) -> None:  # type: ignore[no-untyped-def]
    """Entries changed by this flush (new ones get their id during the flush: see below)."""
    pending = session.info.setdefault("search_pending", set())
    pending.update(_changed_entry_ids(session))
    session.info.setdefault("search_new", []).extend(o for o in session.new if isinstance(o, (Entry, DataItem, EntryFile)))


@event.listens_for(Session, "after_flush")
def _queue(session: Session, _context) -> None:  # type: ignore[no-untyped-def]
    pending: set[int] = session.info.pop("search_pending", set())
    for obj in session.info.pop("search_new", []):
        entry_id = obj.id if isinstance(obj, Entry) else obj.entry_id
        if entry_id is not None:
            pending.add(entry_id)
    if pending:
        now = datetime.now(timezone.utc)
        session.connection().execute(insert(SearchOutbox), [{"entry_id": i, "queued_at": now} for i in sorted(pending)])
        session.info["search_queued"] = True


@event.listens_for(Session, "after_transaction_end")
def _drain_after_commit(session: Session, transaction) -> None:  # type: ignore[no-untyped-def]
    """When the outermost transaction has ended, write what it queued (after a rollback there is
    nothing of it left to write, and the drain finds only what others queued)."""
    if transaction.parent is not None:
        return  # a savepoint or a subtransaction: the outer transaction is still open
    indexer: Indexer | None = session.info.get("indexer")
    if session.info.pop("search_queued", False) and indexer is not None:
        try:
            indexer.drain()
        except Exception:  # the rows stay queued; the next drain or `repair` writes them
            log.exception("search index update failed; the change stays queued")


class Indexer:
    """Writes queued changes into `backend`; `sessions` makes plain database sessions."""

    def __init__(self, backend: Backend, sessions: Callable[[], Session]) -> None:
        self.backend = backend
        self.sessions = sessions

    def pending(self) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count(SearchOutbox.id))) or 0

    def drain(self) -> int:
        """Write every queued change to the index; returns how many entries were rewritten."""
        done = 0
        if not self.pending():
            return done
        with self.backend.exclusive():
            while True:
                with self.sessions() as session:
                    rows = session.execute(select(SearchOutbox.id, SearchOutbox.entry_id).order_by(SearchOutbox.id).limit(BATCH)).all()
                    if not rows:
                        return done
                    wanted = {entry_id for _, entry_id in rows}
                    entries = _load(session, wanted)
                    self.backend.upsert([document_for(e) for e in entries])
                    self.backend.delete(wanted - {e.id for e in entries})
                    session.execute(delete(SearchOutbox).where(SearchOutbox.id.in_([row_id for row_id, _ in rows])))
                    session.commit()
                    done += len(wanted)

    def rebuild(self) -> int:
        """Index every entry anew (`portal reindex`); returns how many were indexed."""
        count = 0
        with self.backend.exclusive():
            self.backend.clear()
            with self.sessions() as session:
                last = 0
                while True:
                    ids = list(session.scalars(select(Entry.id).where(Entry.id > last).order_by(Entry.id).limit(BATCH)))
                    if not ids:
                        break
                    self.backend.upsert([document_for(e) for e in _load(session, set(ids))])
                    count += len(ids)
                    last = ids[-1]
                session.execute(delete(SearchOutbox))
                session.commit()
            self.backend.optimize()
        return count

    def repair(self) -> str:
        """Bring an index left behind by a crash up to date: write what is queued, and rebuild
        when the index does not hold exactly the entries of the database. Returns what it did."""
        try:
            indexed = self.backend.ids()
        except Exception:
            log.exception("search index unreadable; rebuilding")
            return f"rebuilt {self.rebuild()}"
        queued = self.drain()
        with self.sessions() as session:
            stored = set(session.scalars(select(Entry.id)))
        if queued:
            indexed = self.backend.ids()
        if indexed != stored:
            missing, extra = len(stored - indexed), len(indexed - stored)
            return f"rebuilt {self.rebuild()} ({missing} missing, {extra} not in the database)"
        return f"drained {queued}" if queued else "ok"


def _load(session: Session, ids: set[int]) -> list[Entry]:
    return list(
        session.scalars(
            select(Entry)
            .where(Entry.id.in_(ids))
            .options(selectinload(Entry.items), selectinload(Entry.files), selectinload(Entry.department))
        )
    )
