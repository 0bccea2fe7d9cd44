"""Backups (Art. 20: "备份"): everything the portal cannot make again, in one folder, checked.

A backup folder `portal-<UTC time>/` holds:
- the database: SQLite through its online backup API (`portal.sqlite3`, consistent while the
  portal runs), PostgreSQL through `pg_dump --format=custom` (`portal.pgdump`);
- `files/`: the content-addressed file store (originals, normalised tables, masked copies), each
  file under its sha256, so that a copy is checked by its own name;
- `manifest.json`: the format, the time, the database's migration revision and checksum, and
  the number and bytes of the files.
It is written as `.partial-<name>` and renamed only when complete, so a folder without that
prefix is a whole backup. `verify` recomputes every checksum.

Not in it, on purpose: the personal-data key (`PORTAL_PERSONAL_DATA_KEY` or the instance's key
file) — kept apart from the data it protects, as the README says —, the search index (`portal
reindex` rebuilds it) and the derived download files (made again on demand).

`restore` puts a backup into an empty database and file store (a new instance before `portal
init`): it never overwrites a catalog. No Flask here.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import OperationalError

FORMAT = 1
MANIFEST = "manifest.json"
DUMPS = {"sqlite": "portal.sqlite3", "postgresql": "portal.pgdump"}
CHUNK = 1 << 20


class BackupError(Exception):
    """What went wrong, in Chinese, for the command line."""


@dataclass(frozen=True)
class Summary:
    folder: Path
    database: str  # sqlite | postgresql
    revision: str | None
    files: int
    bytes: int


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _store_files(root: Path) -> Iterator[Path]:
    """The files of a content-addressed store: `xx/<sha256>` (not its tmp/ and derived/)."""
    if not root.is_dir():
        return
    for prefix in sorted(p for p in root.iterdir() if p.is_dir() and len(p.name) == 2):
        for path in sorted(prefix.iterdir()):
            if path.is_file() and len(path.name) == 64 and path.name.startswith(prefix.name):
                yield path


def _libpq_url(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _run(command: list[str]) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=6 * 3600)
    except FileNotFoundError as missing:
        raise BackupError(f"找不到 {command[0]}：备份或恢复 PostgreSQL 数据库需要安装 PostgreSQL 客户端（postgresql-client）") from missing
    if done.returncode != 0:
        raise BackupError(f"{command[0]} 失败（退出码 {done.returncode}）：{done.stderr.strip()[-500:]}")


def create(engine: Engine, store_root: Path, destination: Path, *, now: datetime) -> Summary:
    """Write a backup folder into `destination` (created if needed)."""
    kind = engine.url.get_backend_name()
    if kind not in DUMPS:
        raise BackupError(f"不支持备份 {kind} 数据库")
    name = f"portal-{now:%Y%m%dT%H%M%S}Z"
    folder, partial = destination / name, destination / f".partial-{name}"
    if folder.exists():
        raise BackupError(f"备份 {folder} 已经存在")
    shutil.rmtree(partial, ignore_errors=True)
    (partial / "files").mkdir(parents=True)
    dump = partial / DUMPS[kind]
    if kind == "sqlite":
        raw = engine.raw_connection()
        try:
            target = sqlite3.connect(dump)
            with target:
                raw.driver_connection.backup(target)  # type: ignore[union-attr]
            target.close()
        finally:
            raw.close()
    else:
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={dump}", f"--dbname={_libpq_url(engine)}"])
    count = size = 0
    for path in _store_files(store_root):
        copy = partial / "files" / path.parent.name / path.name
        copy.parent.mkdir(exist_ok=True)
        shutil.copyfile(path, copy)
        count, size = count + 1, size + path.stat().st_size
    revision = _revision(engine)
    manifest = {
        "format": FORMAT, "created_at": now.isoformat(),
        "database": {"kind": kind, "file": dump.name, "sha256": _sha256(dump), "revision": revision},
        "files": {"count": count, "bytes": size},
        "not_included": ["个人信息加密密钥（PORTAL_PERSONAL_DATA_KEY），须另行保管", "全文检索索引：portal reindex 重建", "派生的下载文件：按需重新生成"],
    }
    (partial / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    for written in (dump, partial / MANIFEST):
        with open(written, "rb") as stream:
            os.fsync(stream.fileno())
    partial.rename(folder)
    return Summary(folder, kind, revision, count, size)


def _manifest(folder: Path) -> dict:  # type: ignore[type-arg]
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise BackupError(f"{folder} 不是完整的备份：读不到 {MANIFEST}") from error
    if manifest.get("format") != FORMAT or manifest.get("database", {}).get("kind") not in DUMPS:
        raise BackupError(f"{folder} 的备份格式不受支持")
    return manifest  # type: ignore[no-any-return]


def verify(folder: Path) -> list[str]:
    """What is wrong with the backup in `folder` (empty when it is whole)."""
    manifest = _manifest(folder)
    problems = []
    database = manifest["database"]
    dump = folder / database["file"]
    if not dump.is_file():
        problems.append(f"缺少数据库文件 {database['file']}")
    elif _sha256(dump) != database["sha256"]:
        problems.append(f"数据库文件 {database['file']} 的校验值不符")
    count = size = 0
    for path in _store_files(folder / "files"):
        count, size = count + 1, size + path.stat().st_size
        if _sha256(path) != path.name:
            problems.append(f"文件 {path.name[:12]}… 的内容与其校验值不符")
    if (count, size) != (manifest["files"]["count"], manifest["files"]["bytes"]):
        problems.append(f"文件数或大小与清单不符：清单 {manifest['files']['count']} 个、{manifest['files']['bytes']} 字节，实有 {count} 个、{size} 字节")
    return problems


def restore(folder: Path, engine: Engine, store_root: Path) -> Summary:
    """Put the backup in `folder` into `engine`'s database and `store_root`, both empty."""
    manifest = _manifest(folder)
    if problems := verify(folder):
        raise BackupError("备份不完整，未恢复：" + "；".join(problems[:5]))
    kind = engine.url.get_backend_name()
    if kind != manifest["database"]["kind"]:
        raise BackupError(f"这是 {manifest['database']['kind']} 数据库的备份，不能恢复到 {kind} 数据库")
    if kind == "sqlite":
        Path(engine.url.database or "").parent.mkdir(parents=True, exist_ok=True)
    try:
        tables = inspect(engine).get_table_names()
    except OperationalError as error:
        raise BackupError(f"连接不上目标数据库：{error.orig}") from error
    if tables:
        raise BackupError("目标数据库不是空的：只能恢复到新的空数据库（在 portal init 之前）")
    if any(_store_files(store_root)):
        raise BackupError(f"目标文件目录 {store_root} 不是空的")
    dump = folder / manifest["database"]["file"]
    if kind == "sqlite":
        engine.dispose()
        target = Path(engine.url.database or "")
        for leftover in (Path(f"{target}-wal"), Path(f"{target}-shm")):  # of the empty database just opened
            leftover.unlink(missing_ok=True)
        shutil.copyfile(dump, target)
    else:
        _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", f"--dbname={_libpq_url(engine)}", str(dump)])
    count = size = 0
    for path in _store_files(folder / "files"):
        target = store_root / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        count, size = count + 1, size + path.stat().st_size
    return Summary(folder, kind, manifest["database"]["revision"], count, size)
