"""Resource rows: revisions by name, the same content twice, download counts per format."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import catalog
from portal.models import DownloadCount, Entry
from portal.resources import add_file, download_counts, record_download

from .support import NOW, World, entry_fields


def _add(session: Session, entry: Entry, name: str, digit: str):  # type: ignore[no-untyped-def]
    return add_file(session, entry, name=name, sha256=digit * 64, size=10, format="pdf", encoding=None,
                    normalised_sha256=None, facts=None, actor=None, now=NOW)


def test_files_are_replaced_by_name_and_kept_once_by_content(session: Session, world: World) -> None:
    entry = catalog.create_entry(session, department=world.dept_a, fields=entry_fields(), actor=None, now=NOW)
    first = _add(session, entry, "a.pdf", "1")
    assert _add(session, entry, "a.pdf", "1") is first and entry.version == 2
    second = _add(session, entry, "a.pdf", "2")
    assert [f.id for f in entry.files] == [second.id] and entry.version == 3
    assert [f.id for f in entry.all_files] == [first.id, second.id] and first.replaced_by_id == second.id
    change = catalog.entry_history(session, entry)[0].changes[0]
    assert change["field"] == "files" and "111111111111" in change["old"] and "222222222222" in change["new"]
    _add(session, entry, "b.pdf", "2")
    assert [f.name for f in entry.files] == ["a.pdf", "b.pdf"]


def test_downloads_are_counted_per_format_on_both_databases(session: Session, world: World) -> None:
    entry = catalog.create_entry(session, department=world.dept_a, fields=entry_fields(), actor=None, now=NOW)
    record = _add(session, entry, "a.pdf", "1")
    session.commit()
    for fmt in ("original", "csv", "csv", "json"):
        record_download(session, record, fmt)
    session.commit()
    assert download_counts(session, record) == {"original": 1, "csv": 2, "json": 1}
    assert len(session.scalars(select(DownloadCount)).all()) == 3
    session.refresh(entry)
    assert entry.downloads == 4
