"""The audit trail: written with the change it records, hash-chained, tampering found by
`verify` and by `portal audit verify`, concurrent appends keep one chain."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from portal import audit, catalog
from portal.db import make_sessionmaker
from portal.models import AuditEvent

from .support import NOW, World, entry_fields

ROOT = Path(__file__).parents[1]


def test_catalog_changes_are_recorded_in_their_transaction(session: Session, world: World) -> None:
    before = session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) or 0
    entry = catalog.create_entry(session, department=world.dept_a, fields=entry_fields(), actor=world.users["editor_a"], now=NOW)
    session.rollback()  # a change that is not committed leaves no record either
    assert session.scalar(select(AuditEvent).where(AuditEvent.id > before)) is None

    entry = catalog.create_entry(session, department=world.dept_a, fields=entry_fields(title="新的资源"), actor=world.users["editor_a"], now=NOW)
    session.commit()
    event, proposal = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).all()[1::-1]
    assert event.action == "entry:create" and event.actor == "editor_a" and event.role == "editor"
    assert proposal.action == "review:propose" and proposal.details["to"] == "open"  # open only once reviewed
    assert event.department_id == world.dept_a.id and entry.resource_code in event.target
    assert "title" in event.details["fields"] and event.details["version"] == 1
    assert audit.verify(session).ok


def _chain(session: Session, count: int) -> list[AuditEvent]:
    events = [audit.record(session, action="data:view", actor=None, now=NOW, target=f"对象{i}") for i in range(count)]
    session.commit()
    return events


def test_editing_a_row_is_found(session: Session, world: World) -> None:
    events = _chain(session, 5)
    assert audit.verify(session).ok
    session.execute(text("UPDATE audit_event SET target = '改过的' WHERE id = :id"), {"id": events[2].id})
    session.commit()
    result = audit.verify(session)
    assert result.problems == [f"第 {events[2].id} 条记录的内容被改动（哈希不符）"]


def test_deleting_a_row_is_found(session: Session, world: World) -> None:
    events = _chain(session, 5)
    session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": events[1].id})
    session.commit()
    assert audit.verify(session).problems == [f"第 {events[2].id} 条记录之前的记录被删除或改动（链接不符）"]


def test_an_undeclared_action_is_refused(session: Session) -> None:
    with pytest.raises(ValueError):
        audit.record(session, action="entry:explode", actor=None, now=NOW)


def test_concurrent_appends_keep_one_chain(engine: Engine, world: World) -> None:
    sessions = make_sessionmaker(engine)
    errors: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            for i in range(15):
                with sessions() as session:
                    audit.record(session, action="data:download", actor=None, now=NOW, target=f"{worker}-{i}")
                    session.commit()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=append, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    with sessions() as session:
        result = audit.verify(session)
        assert result.ok, result.problems
        assert result.rows >= 60


def test_portal_audit_verify_exits_1_on_tampering(database_url: str, tmp_path: Path, session: Session, world: World) -> None:
    events = _chain(session, 3)
    environment = {**os.environ, "PORTAL_DATABASE_URL": database_url, "PORTAL_INSTANCE_PATH": str(tmp_path), "PORTAL_LANG": "zh"}
    command = [sys.executable, "-m", "portal.cli", "audit", "verify"]
    done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0 and "哈希链完整" in done.stdout, done.stderr
    session.execute(text("UPDATE audit_event SET actor = '别人' WHERE id = :id"), {"id": events[0].id})
    session.commit()
    done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 1 and f"第 {events[0].id} 条记录的内容被改动" in done.stderr


def test_csv_export_neutralises_formulas(session: Session) -> None:
    audit.record(session, action="data:view", actor=None, now=NOW, target="=HYPERLINK(1)")
    session.commit()
    text_ = "".join(audit.csv_rows(audit.search_events(session)))
    assert text_.startswith("\ufeffid,at,actor") and "'=HYPERLINK(1)" in text_
