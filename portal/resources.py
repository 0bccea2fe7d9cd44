"""The resource files of catalog entries, as rows: revisions, derived (masked) copies, the
clearance of personal information, and download counts per format.

The pipeline (`pipeline`) produces what a file is; this module records it. Every change here is
recorded as a version of the entry (`catalog.record_change`) in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .catalog import record_change, snapshot
from .entry_input import ItemFields
from .errors import Invalid
from .models import DataItem, DownloadCount, Entry, EntryFile, User

if TYPE_CHECKING:
    from .pipeline import TableFacts


def add_file(
    session: Session,
    entry: Entry,
    *,
    name: str,
    sha256: str,
    size: int,
    format: str,
    encoding: str | None,
    normalised_sha256: str | None,
    facts: TableFacts | None,
    actor: User | None,
    now: datetime,
    title: str = "",
    replaces: EntryFile | None = None,
    actor_name: str = "",
) -> EntryFile:
    """Record a new file of `entry`, or a new revision of `replaces` (by default the current file
    of the same name), which then leaves the current files but keeps its row and report. The
    same content as the file it would replace changes nothing. Columns the data dictionary did
    not have become data items."""
    current = replaces or next((f for f in entry.files if f.name == name), None)
    if current is not None and current.sha256 == sha256:
        return current
    before = snapshot(entry)
    record = EntryFile(
        name=name, title=(title or (current.title if current else "") or name)[:200], sha256=sha256, size=size,
        format=format, encoding=encoding, created_at=now, created_by_id=actor.id if actor else None,
        tabular=facts is not None, normalised_sha256=normalised_sha256,
    )
    if facts is not None:
        record.row_count, record.table_schema, record.report = facts.rows, facts.schema, facts.report
        record.quality, record.findings = facts.quality, facts.findings
        _add_items(entry, facts.new_items)
    else:
        record.quality = {"machine_readable": False}
    entry.all_files.append(record)
    session.flush()
    if current is not None:
        _retire(entry, current, by=record, now=now)
    entry.updated_at = entry.data_updated_at = now
    record_change(session, entry, action="file", before=before, actor=actor, actor_name=actor_name, now=now)
    return record


def add_derived_file(
    session: Session, source: EntryFile, *, name: str, sha256: str, size: int, facts: TableFacts, actor: User | None, now: datetime
) -> EntryFile:
    """Record the masked copy of `source` (replacing an earlier masked copy of it)."""
    entry = source.entry
    before = snapshot(entry)
    earlier = next((f for f in entry.files if f.derived_from_id == source.id), None)
    record = EntryFile(
        name=name, title=f"{source.title}（脱敏）"[:200], sha256=sha256, size=size, format="csv", encoding="utf-8",
        created_at=now, created_by_id=actor.id if actor else None, tabular=True, normalised_sha256=sha256,
        row_count=facts.rows, table_schema=facts.schema, report=facts.report, quality=facts.quality, findings=facts.findings,
        derived_from_id=source.id, clearance="masked", clearance_note="按扫描发现的个人信息自动脱敏",
        cleared_by_id=actor.id if actor else None, cleared_at=now,
    )
    entry.all_files.append(record)
    session.flush()
    if earlier is not None:
        _retire(entry, earlier, by=record, now=now)
    entry.updated_at = entry.data_updated_at = now
    record_change(session, entry, action="file", before=before, actor=actor, now=now)
    return record


def update_facts(session: Session, record: EntryFile, facts: TableFacts, *, actor: User | None, now: datetime) -> None:
    """Replace what the pipeline found in `record` (after a new check of the same content)."""
    entry = record.entry
    before = snapshot(entry)
    record.table_schema, record.report, record.quality = facts.schema, facts.report, facts.quality
    record.findings, record.row_count = facts.findings, facts.rows
    _add_items(entry, facts.new_items)
    record_change(session, entry, action="file", before=before, actor=actor, now=now)


def _retire(entry: Entry, record: EntryFile, *, by: EntryFile, now: datetime) -> None:
    """Take `record` (and the masked copies made from it) out of the current files."""
    for old in entry.all_files:
        if old.replaced_at is None and (old is record or (old.derived_from_id == record.id and old is not by)):
            old.replaced_at, old.replaced_by_id = now, by.id


def remove_file(session: Session, record: EntryFile, *, actor: User | None, now: datetime, actor_name: str = "") -> None:
    """Take `record` (and the masked copies made from it) out of its entry's current files, as
    a new version of the entry; its revisions stay in the history with their reports. The
    caller checks that the actor may (Action.UPLOAD_FILE) and commits."""
    entry = record.entry
    before = snapshot(entry)
    for f in entry.all_files:
        if f.replaced_at is None and (f is record or f.derived_from_id == record.id):
            f.replaced_at = now
    entry.updated_at = entry.data_updated_at = now
    record_change(session, entry, action="file", before=before, actor=actor, now=now, actor_name=actor_name)


def _add_items(entry: Entry, items: list[ItemFields]) -> None:
    for item in items:
        entry.items.append(
            DataItem(position=len(entry.items), title=item.title[:100], name=item.name, data_type=item.data_type,
                     length=item.length, description=item.description, constraints=dict(item.constraints))
        )


def clear_file(session: Session, record: EntryFile, *, basis: str, note: str, actor: User | None, now: datetime, actor_name: str = "") -> None:
    """Record that the personal information in `record` may be released because the right holder
    consented or a public-interest decision was made (Art. 16); `note` names the document."""
    note = (note or "").strip()
    errors = {}
    if basis not in ("consent", "public_interest"):
        errors["basis"] = "请选择依据：权利人同意或公共利益决定"
    if len(note) < 4:
        errors["note"] = "请写明同意书或决定的名称、文号和日期"
    if not record.findings:
        errors["file"] = "该文件没有发现个人信息"
    if errors:
        raise Invalid(errors)
    if record.clearance == basis and record.clearance_note == note[:2000]:
        return  # a repeated submission changes nothing
    entry = record.entry
    before = snapshot(entry)
    record.clearance, record.clearance_note = basis, note[:2000]
    record.cleared_by_id, record.cleared_at = (actor.id if actor else None), now
    record_change(session, entry, action="file", before=before, actor=actor, now=now, actor_name=actor_name)


def revisions(entry: Entry, record: EntryFile) -> list[EntryFile]:
    """`record` and the revisions it replaced, newest first."""
    by_successor = {f.replaced_by_id: f for f in entry.all_files if f.replaced_by_id is not None and f.derived_from_id is None}
    chain, current = [], record
    while current is not None:
        chain.append(current)
        current = by_successor.get(current.id)
    return chain


def record_download(session: Session, record: EntryFile, fmt: str) -> None:
    """One more download of `record` in format `fmt`, and of its entry, counted in the database
    without a new version (the entry's search document picks the count up when next indexed)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(DownloadCount).values(file_id=record.id, format=fmt, count=1)
    session.execute(statement.on_conflict_do_update(index_elements=["file_id", "format"], set_={"count": DownloadCount.count + 1}))
    session.execute(update(Entry).where(Entry.id == record.entry_id).values(downloads=Entry.downloads + 1))


def download_counts(session: Session, record: EntryFile) -> dict[str, int]:
    rows = session.execute(select(DownloadCount.format, DownloadCount.count).where(DownloadCount.file_id == record.id))
    return {fmt: count for fmt, count in rows}


__all__ = ["update_facts", "add_derived_file", "add_file", "clear_file", "download_counts", "record_download", "revisions"]
