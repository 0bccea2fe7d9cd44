"""Backups (Art. 20): a backup of the database (SQLite's online backup, or pg_dump on
PostgreSQL) and the file store, checked by its manifest; tampering is found; a restore into a
new empty database gives the same catalog and files, and never overwrites a catalog."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, create_engine, func, inspect, select, text
from sqlalchemy.orm import Session

from portal import backups
from portal.cli import main
from portal.db import make_engine
from portal.files import FileStore
from portal.models import Entry, User

from .support import NOW, World


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    store = FileStore(tmp_path / "files")
    store.save(io.BytesIO("站点,数量\n甲,1\n".encode()))
    store.save(io.BytesIO(b"%PDF-1.4 a report"))
    return store


@pytest.fixture
def empty_database(engine: Engine, tmp_path: Path) -> Iterator[Engine]:
    """A second, empty database of the same kind as the suite's."""
    if engine.dialect.name == "sqlite":
        (tmp_path / "restored").mkdir()
        target = make_engine(f"sqlite:///{tmp_path / 'restored' / 'portal.sqlite3'}")
        yield target
        target.dispose()
        return
    name = f"{engine.url.database}_restore"
    admin = create_engine(engine.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    target = make_engine(engine.url.set(database=name).render_as_string(hide_password=False))
    yield target
    target.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _counts(engine: Engine) -> tuple[int, int]:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Entry)) or 0, session.scalar(select(func.count()).select_from(User)) or 0


def test_a_backup_restores_into_an_empty_database(engine: Engine, world: World, store: FileStore, empty_database: Engine,
                                                  tmp_path: Path) -> None:
    summary = backups.create(engine, store.root, tmp_path / "backups", now=NOW)
    assert summary.folder.name == "portal-20261125T093000Z" and summary.files == 2 and summary.revision
    assert backups.verify(summary.folder) == [] and not list((tmp_path / "backups").glob(".partial-*"))
    manifest = json.loads((summary.folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["database"]["kind"] == engine.dialect.name and any("密钥" in note for note in manifest["not_included"])

    restored = backups.restore(summary.folder, empty_database, tmp_path / "restored-files")
    assert restored.files == 2 and _counts(empty_database) == _counts(engine) == (len(world.entries), len(world.users))
    assert sorted(p.name for p in (tmp_path / "restored-files").rglob("*") if p.is_file()) == sorted(
        p.name for p in store.root.rglob("*") if p.is_file() and len(p.name) == 64
    )
    with pytest.raises(backups.BackupError, match="不是空的"):  # never over a catalog
        backups.restore(summary.folder, empty_database, tmp_path / "other-files")
    with pytest.raises(backups.BackupError, match="不是空的"):
        backups.restore(summary.folder, engine, tmp_path / "more-files")


def test_tampering_is_found_and_nothing_is_restored(engine: Engine, world: World, store: FileStore, empty_database: Engine,
                                                    tmp_path: Path) -> None:
    folder = backups.create(engine, store.root, tmp_path / "backups", now=NOW).folder
    victim = next(p for p in (folder / "files").rglob("*") if p.is_file())
    victim.write_bytes(b"changed")
    extra = folder / "files" / "ab" / ("ab" + "0" * 62)
    extra.parent.mkdir(exist_ok=True)
    extra.write_bytes(b"planted")
    dump = next(folder.glob("portal.*"))
    dump.write_bytes(dump.read_bytes()[:-10])
    problems = backups.verify(folder)
    assert any("数据库文件" in p for p in problems) and any(victim.name[:12] in p for p in problems)
    assert any("文件数或大小与清单不符" in p for p in problems)
    with pytest.raises(backups.BackupError, match="备份不完整"):
        backups.restore(folder, empty_database, tmp_path / "restored-files")
    assert inspect(empty_database).get_table_names() == []
    shutil.rmtree(folder / "files")
    (folder / "manifest.json").unlink()
    with pytest.raises(backups.BackupError, match="manifest.json"):
        backups.verify(folder)


def test_the_commands(database_url: str, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_DATABASE_URL", database_url)
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / "instance"))
    runner = CliRunner()
    made = runner.invoke(main, ["backup", "create", str(tmp_path / "bk")])
    assert made.exit_code == 0, made.output
    assert "已备份到" in made.output and "个人信息加密密钥不在备份中" in made.output
    folder = next((tmp_path / "bk").glob("portal-*"))
    assert runner.invoke(main, ["backup", "verify", str(folder)]).output.strip() == "备份完整。"
    next(folder.glob("portal.*")).write_bytes(b"broken")
    broken = runner.invoke(main, ["backup", "verify", str(folder)])
    assert broken.exit_code == 1 and "校验值不符" in broken.output
    refused = runner.invoke(main, ["backup", "restore", str(folder)])
    assert refused.exit_code == 1 and "备份不完整" in refused.output
