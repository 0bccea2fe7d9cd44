"""Loading Frictionless data packages: the sample datasets, idempotency, bad packages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.catalog import entry_warnings
from portal.datapackages import load_datasets
from portal.files import FileStore
from portal.models import DataItem, Department, Entry, EntryFile, EntryVersion
from portal.vocab import EntryStatus, OpenType, ShareType

from .support import NOW, ROOT

DATASETS = ROOT / "datasets"


def counts(session: Session) -> tuple[int, ...]:
    return tuple(session.scalar(select(func.count()).select_from(t)) or 0 for t in (Department, Entry, DataItem, EntryFile, EntryVersion))


def test_sample_datasets_load_once(session: Session, tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    results = load_datasets(session, DATASETS, store=store, now=NOW)
    session.commit()
    packages = sorted(p.parent.name for p in DATASETS.glob("*/datapackage.json"))
    assert sorted(r.name for r in results) == packages
    assert {r.action for r in results} == {"created"}, [r.error for r in results if r.error]
    assert [r.warnings for r in results if r.warnings] == []  # every open sample can be released
    first = counts(session)
    assert first[0] == len(json.loads((DATASETS / "departments.json").read_text(encoding="utf-8")))

    again = load_datasets(session, DATASETS, store=store, now=NOW)
    session.commit()
    assert {r.action for r in again} == {"unchanged"}
    assert counts(session) == first

    entries = session.scalars(select(Entry)).all()
    assert all(e.status == EntryStatus.PUBLISHED and e.items and e.files for e in entries)
    assert {e.share_type for e in entries} == set(ShareType)
    assert {e.open_type for e in entries} == set(OpenType)
    assert any(entry_warnings(e) for e in entries)  # the 人口 base library that is not unconditionally shared
    personal = [e for e in entries if e.personal_information]
    assert personal and all(e.open_type == OpenType.CLOSED for e in personal)
    gbk = [f for e in entries for f in e.files if f.encoding == "gb18030"]
    assert gbk and all(store.path(f.sha256).exists() and store.path(f.normalised_sha256).exists() for f in gbk)
    assert all(f.valid for e in entries for f in e.files), [(f.name, f.report) for e in entries for f in e.files if not f.valid]
    registration = next(f for e in entries for f in e.files if f.name == "enterprise-registration.csv")
    assert registration.clearance == "public_interest" and "企业信息公示暂行条例" in registration.clearance_note


def test_a_changed_package_updates_its_entry_with_a_version(session: Session, tmp_path: Path) -> None:
    root = tmp_path / "datasets"
    shutil.copytree(DATASETS, root)
    store = FileStore(tmp_path / "files")
    load_datasets(session, root, store=store, now=NOW)
    descriptor_path = root / "air-quality-hourly" / "datapackage.json"
    descriptor = json.loads(descriptor_path.read_text(encoding="utf-8"))
    descriptor["title"] = "经开区空气质量小时监测数据（修订）"
    descriptor_path.write_text(json.dumps(descriptor, ensure_ascii=False), encoding="utf-8")
    results = {r.name: r.action for r in load_datasets(session, root, store=store, now=NOW)}
    assert results["air-quality-hourly"] == "updated"
    assert set(results.values()) == {"updated", "unchanged"}
    entry = session.scalar(select(Entry).where(Entry.slug == "air-quality-hourly"))
    assert entry is not None and entry.title.endswith("（修订）")
    history = session.scalars(select(EntryVersion).where(EntryVersion.entry_id == entry.id).order_by(EntryVersion.number.desc())).first()
    assert history is not None and history.actor == "数据包导入" and history.changes[0]["field"] == "title"


def test_a_bad_package_is_reported_and_the_others_still_load(session: Session, tmp_path: Path) -> None:
    root = tmp_path / "datasets"
    shutil.copytree(DATASETS, root)
    bad = root / "resident-registration" / "datapackage.json"
    descriptor = json.loads(bad.read_text(encoding="utf-8"))
    descriptor["catalog"].update(open_type="无条件开放", security_level="一般")  # personal information is never open
    bad.write_text(json.dumps(descriptor, ensure_ascii=False), encoding="utf-8")
    escape = root / "air-quality-hourly" / "datapackage.json"
    descriptor = json.loads(escape.read_text(encoding="utf-8"))
    descriptor["resources"][0]["path"] = "../../../../etc/passwd"
    escape.write_text(json.dumps(descriptor, ensure_ascii=False), encoding="utf-8")
    results = {r.name: r for r in load_datasets(session, root, store=FileStore(tmp_path / "files"), now=NOW)}
    assert results["resident-registration"].action == "failed"
    assert "个人信息" in results["resident-registration"].error
    assert results["air-quality-hourly"].action == "failed" and "超出" in results["air-quality-hourly"].error
    assert sum(r.action == "created" for r in results.values()) == len(results) - 2
    slugs = set(session.scalars(select(Entry.slug)))
    assert "resident-registration" not in slugs and "air-quality-hourly" not in slugs
