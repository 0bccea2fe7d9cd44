"""The index follows the database: queued in the transaction, written after the commit, never
lost when a writer dies half-way, and never corrupted by several writing processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from flask import Flask
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from portal import catalog
from portal.resources import add_file, record_download
from portal.db import make_sessionmaker
from portal.models import Entry, SearchOutbox
from portal.search.service import Search

from ..support import NOW, ROOT, entry_fields, make_uscc


def test_changes_are_queued_in_the_same_transaction(engine: Engine, session: Session) -> None:
    from portal.accounts import create_department

    department = create_department(session, name="甲局", code=make_uscc(1), parent=None, now=NOW)
    session.commit()
    catalog.create_entry(session, department=department, fields=entry_fields(), actor=None, now=NOW)
    with make_sessionmaker(engine)() as other:
        assert other.scalar(select(func.count(SearchOutbox.id))) == 0  # not before the commit
    session.rollback()
    assert session.scalar(select(func.count(SearchOutbox.id))) == 0  # and not after a rollback
    catalog.create_entry(session, department=department, fields=entry_fields(), actor=None, now=NOW)
    session.commit()
    assert session.scalar(select(func.count(SearchOutbox.id))) == 1


def test_a_download_does_not_rewrite_the_document(session: Session, app: Flask) -> None:
    from portal.accounts import create_department

    department = create_department(session, name="甲局", code=make_uscc(1), parent=None, now=NOW)
    entry = catalog.create_entry(session, department=department, fields=entry_fields(), actor=None, now=NOW)
    session.commit()
    record = add_file(session, entry, name="说明.pdf", sha256="0" * 64, size=1, format="pdf", encoding=None,
                      normalised_sha256=None, facts=None, actor=None, now=NOW)
    session.commit()
    app.extensions["portal.search"].indexer.drain()
    record_download(session, record, "original")
    session.commit()
    assert session.scalar(select(func.count(SearchOutbox.id))) == 0


def test_app_sessions_write_the_index_after_each_commit(app: Flask) -> None:
    from portal.accounts import create_department

    search: Search = app.extensions["portal.search"]
    with app.extensions["portal.sessions"]() as session:
        department = create_department(session, name="甲局", code=make_uscc(1), parent=None, now=NOW)
        entry = catalog.create_entry(session, department=department, fields=entry_fields(), actor=None, now=NOW)
        session.commit()
        assert search.indexer.pending() == 0
        assert entry.id in search.backend.ids()


def _environment(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PORTAL_DATABASE_URL": database_url,
        "PORTAL_INSTANCE_PATH": str(tmp_path),
        "PYTHONPATH": str(ROOT),
    }


CRASHING_WRITER = textwrap.dedent(
    """
    import os, signal, sys
    from datetime import datetime, timezone
    from portal import create_app
    from portal.accounts import create_department
    from portal.catalog import create_entry
    from portal.db import make_sessionmaker
    from tests.support import entry_fields, make_uscc

    app = create_app()
    search = app.extensions["portal.search"]
    now = datetime.now(timezone.utc)
    with app.extensions["portal.sessions"]() as session:
        department = create_department(session, name="甲局", code=make_uscc(1), parent=None, now=now)
        session.commit()  # indexed normally
    original = search.backend.upsert
    def upsert_then_die(documents):
        # write half of the documents, then die before the index commit
        half = list(documents)[: len(documents) // 2 or 1]
        original(half[:1])
        os.kill(os.getpid(), signal.SIGKILL)
    search.backend.upsert = upsert_then_die
    with app.extensions["portal.sessions"]() as session:
        for n in range(int(sys.argv[1])):
            create_entry(session, department=department, fields=entry_fields(title=f"崩溃测试资源{n}"), actor=None, now=now)
        session.commit()  # the database commit succeeds; the index write is killed
    print("not reached")
    """
)


def test_a_writer_killed_half_way_loses_nothing(engine: Engine, database_url: str, tmp_path: Path, session: Session) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CRASHING_WRITER, "7"], env=_environment(database_url, tmp_path), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == -9, result.stderr  # SIGKILL
    assert "not reached" not in result.stdout
    stored = set(session.scalars(select(Entry.id)))
    assert len(stored) == 7
    assert session.scalar(select(func.count(SearchOutbox.id))) == 7  # the queue survived the crash

    from portal import create_app

    app = create_app({"DATABASE_URL": database_url, "INSTANCE_PATH": tmp_path})  # start: detect and repair
    try:
        search: Search = app.extensions["portal.search"]
        assert search.backend.ids() == stored
        assert search.indexer.pending() == 0
        with app.extensions["portal.sessions"]() as fresh:
            from portal.search.service import search_catalog

            page = search_catalog(fresh, search, None, text="崩溃测试", filters={}, page_size=50)
            assert page.total == 0  # drafts: not for the public ...
            from types import SimpleNamespace

            from portal.vocab import Role

            bureau = SimpleNamespace(role=Role.BUREAU, department_id=None)
            assert search_catalog(fresh, search, bureau, text="崩溃测试", filters={}, page_size=50).total == 7  # ... but all there
    finally:
        app.extensions["portal.engine"].dispose()


CONCURRENT_WRITER = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timezone
    from sqlalchemy import select
    from portal import create_app
    from portal.catalog import create_entry
    from portal.models import Department

    app = create_app()
    with app.extensions["portal.sessions"]() as session:
        department = session.scalar(select(Department))
        for n in range(int(sys.argv[2])):
            create_entry(session, department=department, fields=__import__("tests.support", fromlist=["x"]).entry_fields(title=f"并发{sys.argv[1]}-{n}", classification_code=f"2{sys.argv[1]}00100"), actor=None, now=datetime.now(timezone.utc))
            session.commit()
    app.extensions["portal.engine"].dispose()
    """
)


def test_several_processes_write_without_collision(engine: Engine, database_url: str, tmp_path: Path, session: Session) -> None:
    from portal.accounts import create_department

    create_department(session, name="甲局", code=make_uscc(1), parent=None, now=NOW)
    session.commit()
    env = _environment(database_url, tmp_path)
    writers = [
        subprocess.Popen([sys.executable, "-c", CONCURRENT_WRITER, str(n), "12"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for n in (1, 2, 3)
    ]
    for writer in writers:
        _out, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err
        assert "failed" not in err
    from portal import create_app

    app = create_app({"DATABASE_URL": database_url, "INSTANCE_PATH": tmp_path})
    try:
        search: Search = app.extensions["portal.search"]
        assert search.indexer.pending() == 0
        assert search.backend.ids() == set(session.scalars(select(Entry.id)))
        assert len(search.backend.ids()) == 36
    finally:
        app.extensions["portal.engine"].dispose()


def test_reindex_command_rebuilds(engine: Engine, database_url: str, tmp_path: Path, session: Session) -> None:
    env = _environment(database_url, tmp_path)
    result = subprocess.run([sys.executable, "-m", "portal.cli", "init"], env={**env, "PORTAL_DATASETS_PATH": str(ROOT / "datasets")}, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    result = subprocess.run([sys.executable, "-m", "portal.cli", "reindex"], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "12" in result.stdout, result.stdout + result.stderr
    result = subprocess.run([sys.executable, "-m", "portal.cli", "reindex", "--check"], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "ok" in result.stdout
