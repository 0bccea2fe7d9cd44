"""The harvest job itself (`harvest.base`): refusing a second run, the time limit, limited
previews, counts committed as items are, unreadable records, files that fail or are refused,
and records that vanish without ever having become entries. Driven through the CKAN kind
against a local CKAN site (real database, real HTTP)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from harvest.base import Progress, run_job
from harvest.fetch import Fetcher
from portal.accounts import create_department
from portal.db import make_sessionmaker
from portal.errors import Conflict
from portal.files import FileStore
from portal.models import Department, Entry, HarvestItem, HarvestJob, HarvestRecord, HarvestSource
from portal.vocab import EntryStatus

from ..support import NOW, make_uscc
from .server import CkanSite, Clock, PayloadServer, Reply

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
FETCHER = Fetcher(allow_private=True, retries=0, timeout=10)


@pytest.fixture
def site() -> Iterator[CkanSite]:
    with PayloadServer() as server:
        yield CkanSite(server)


@pytest.fixture
def department(session: Session) -> Department:
    department = create_department(session, name="经开区数据资源局", code=make_uscc(31), parent=None, now=NOW)
    session.commit()
    return department


@pytest.fixture
def source(session: Session, site: CkanSite, department: Department) -> HarvestSource:
    source = HarvestSource(
        name="city-ckan", title="市公共数据开放平台", kind="ckan", url=site.site, allow_private=True, schedule="manual",
        settings={"department": department.code, "page_size": 2}, active=True, created_at=NOW, updated_at=NOW,
    )
    session.add(source)
    session.commit()
    return source


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "files")


def job_items(session: Session, job: HarvestJob) -> dict[str, HarvestItem]:
    return {i.title: i for i in session.scalars(select(HarvestItem).where(HarvestItem.job_id == job.id))}


def package_with_file(site: CkanSite, *, name: str, guid: str, path: str, fmt: str = "CSV") -> dict[str, Any]:
    package = copy.deepcopy(site.package("parking-spaces"))
    package.update(id=guid, name=name, title=f"测试资源 {name}")
    package["organization"] = {"name": "elsewhere", "title": "别处"}
    package["resources"][0].update(url=site.site + path, format=fmt, name=f"{name} 文件")
    site.packages.append(package)
    return package


def test_a_second_run_is_refused_while_one_runs(session: Session, source: HarvestSource, store: FileStore) -> None:
    running = HarvestJob(source_id=source.id, state="running", dry_run=False, started_at=NOW - timedelta(minutes=5), started_by="甲")
    session.add(running)
    session.commit()
    with pytest.raises(Conflict, match="已有采集任务正在运行"):
        run_job(session, source, store=store, clock=Clock(NOW), fetcher=FETCHER)
    assert session.scalar(select(func.count(HarvestJob.id))) == 1
    later = Clock(NOW + timedelta(hours=2))  # past the time limit: that job was interrupted
    job = run_job(session, source, store=store, clock=later, fetcher=FETCHER)
    session.refresh(running)
    assert job.state == "finished" and running.state == "failed" and "未正常结束" in running.error


def test_the_time_limit_stops_the_job_and_archives_nothing(session: Session, source: HarvestSource, store: FileStore) -> None:
    run_job(session, source, store=store, clock=Clock(NOW), fetcher=FETCHER)
    job = run_job(session, source, store=store, clock=Clock(NOW), fetcher=FETCHER, full=True, time_limit=0)
    assert job.state == "timed-out" and "超过任务时限" in job.error and job.finished_at is not None
    assert session.scalar(select(func.count(HarvestRecord.id)).where(HarvestRecord.missing_since.is_not(None))) == 0
    after = run_job(session, source, store=store, clock=Clock(NOW + timedelta(hours=1)), fetcher=FETCHER)
    assert after.since is not None  # the timed-out job is no base; the first one is


def test_a_limited_preview(session: Session, source: HarvestSource, store: FileStore) -> None:
    job = run_job(session, source, store=store, clock=Clock(NOW), fetcher=FETCHER, dry_run=True, limit=2)
    assert job.state == "finished" and job.added == 2 and "只处理了前 2 条" in job.error
    assert session.scalar(select(func.count(Entry.id))) == 0
    real = run_job(session, source, store=store, clock=Clock(NOW), fetcher=FETCHER, limit=3)
    assert real.added + real.failed == 3 and session.scalar(select(func.count(HarvestRecord.id))) == 3
    full = run_job(session, source, store=store, clock=Clock(NOW + timedelta(minutes=5)), fetcher=FETCHER)
    assert full.since is None and full.added == 2  # a limited job is no base for an incremental run


def test_counts_are_committed_as_items_are(session: Session, engine: Engine, source: HarvestSource, store: FileStore) -> None:
    polled: list[tuple[int, int, int]] = []

    def poll(progress: Progress) -> None:  # what a progress page reads, from another session
        with make_sessionmaker(engine)() as other:
            job = other.scalars(select(HarvestJob).order_by(HarvestJob.id.desc())).first()
            assert job is not None and job.state == "running"
            polled.append((job.added, job.failed, progress.seen))

    run_job(session, source, store=store, clock=Clock(NOW), fetcher=FETCHER, progress=poll)
    assert polled == [(1, 0, 1), (2, 0, 2), (2, 1, 3), (3, 1, 4), (4, 1, 5)]


def test_an_unreadable_record_is_a_failed_item(session: Session, site: CkanSite, source: HarvestSource, store: FileStore) -> None:
    site.packages.append({"id": "", "title": "没有标识的记录", "name": "no-id"})
    job = run_job(session, source, store=store, clock=Clock(NOW), fetcher=FETCHER)
    item = job_items(session, job)["没有标识的记录"]
    assert (job.state, item.status, item.stage, item.error) == ("finished", "failed", "parse", "来源的数据集没有 id")


def test_files_that_fail_or_are_refused(session: Session, site: CkanSite, source: HarvestSource, store: FileStore) -> None:
    source.settings = {**source.settings, "max_resource_mb": 1}
    session.commit()
    package_with_file(site, name="missing-file", guid="5a000000-0000-4000-8000-000000000001", path="/files/missing.csv")
    package_with_file(site, name="huge-file", guid="5a000000-0000-4000-8000-000000000002", path="/files/huge.csv")
    package_with_file(site, name="tool", guid="5a000000-0000-4000-8000-000000000003", path="/files/tool.exe", fmt="EXE")
    site.server.route("/files/huge.csv", Reply(200, b"a,b\n" + b"1,2\n" * 400_000, {"Content-Type": "text/csv"}))
    site.server.route("/files/tool.exe", Reply(200, b"MZ\x90\x00" + b"\x00" * 100, {"Content-Type": "application/octet-stream"}))
    job = run_job(session, source, store=store, clock=Clock(NOW), fetcher=FETCHER)
    found = job_items(session, job)
    missing, huge, tool = found["测试资源 missing-file"], found["测试资源 huge-file"], found["测试资源 tool"]
    assert (missing.status, missing.stage) == ("failed", "resource") and "下载失败" in missing.error and "404" in missing.error
    assert missing.details["entry"] == "added" and missing.entry_id is not None  # the entry stays
    assert (huge.status, huge.stage) == ("failed", "resource") and "大小上限" in huge.error
    assert tool.status == "added" and any("tool.exe" in note and "未保存" in note for note in tool.details["notes"])
    entry = session.get(Entry, missing.entry_id)
    assert entry is not None and entry.status == EntryStatus.DRAFT and not entry.files  # no data items, no file: not published

    site.server.route("/files/missing.csv", Reply(200, "站点,数量\n甲,1\n".encode(), {"Content-Type": "text/csv"}))
    again = run_job(session, source, store=store, clock=Clock(NOW + timedelta(minutes=5)), fetcher=FETCHER, full=True)
    retried = job_items(session, again)["测试资源 missing-file"]
    session.refresh(entry)
    assert retried.status == "updated" and retried.details["files"] == ["missing.csv"]
    assert [f.name for f in entry.files] == ["missing.csv"] and entry.status == EntryStatus.PUBLISHED


def test_records_that_never_became_entries_vanish_quietly(session: Session, site: CkanSite, source: HarvestSource, store: FileStore) -> None:
    source.settings = {**source.settings, "grace_days": 0}
    session.commit()
    run_job(session, source, store=store, clock=Clock(NOW), fetcher=FETCHER)
    site.remove("credit-evaluation")  # its record failed: it has no entry
    job = run_job(session, source, store=store, clock=Clock(NOW + timedelta(minutes=5)), fetcher=FETCHER, full=True)
    assert (job.archived, job.failed) == (0, 0)
    record = session.scalar(select(HarvestRecord).where(HarvestRecord.guid == "2d8b4c73-3e9a-4c65-9f20-8d3b5e4f6a03"))
    assert record is not None and record.archived_at is not None and record.entry_id is None


def test_a_file_the_source_removed_leaves_the_entry_with_its_history(session: Session, site: CkanSite, source: HarvestSource, store: FileStore) -> None:
    package = package_with_file(site, name="two-files", guid="5a000000-0000-4000-8000-000000000004", path="/files/stations.csv")
    package["resources"].append({**package["resources"][0], "id": "5a000000-0000-4000-8000-0000000000f2",
                                 "url": site.site + "/files/counts.csv", "name": "two-files 计数"})
    site.server.route("/files/stations.csv", Reply(200, "站点,数量\n甲,1\n".encode(), {"Content-Type": "text/csv"}))
    site.server.route("/files/counts.csv", Reply(200, "站点,数量\n乙,2\n".encode(), {"Content-Type": "text/csv"}))
    first = job_items(session, run_job(session, source, store=store, clock=Clock(NOW), fetcher=FETCHER))["测试资源 two-files"]
    entry = session.get(Entry, first.entry_id)
    assert entry is not None and sorted(f.name for f in entry.files) == ["counts.csv", "stations.csv"]

    package["resources"] = package["resources"][:1]  # the source took counts.csv away...
    site.server.route("/files/stations.csv", Reply(404, b"gone for now"))  # ... and stations.csv fails today
    failed = job_items(session, run_job(session, source, store=store, clock=Clock(NOW + timedelta(minutes=5)), fetcher=FETCHER, full=True))
    session.refresh(entry)
    assert failed["测试资源 two-files"].status == "failed" and len(entry.files) == 2  # after a failure nothing is removed

    site.server.route("/files/stations.csv", Reply(200, "站点,数量\n甲,1\n".encode(), {"Content-Type": "text/csv"}))
    job = run_job(session, source, store=store, clock=Clock(NOW + timedelta(minutes=10)), fetcher=FETCHER, full=True)
    item = job_items(session, job)["测试资源 two-files"]
    session.refresh(entry)
    assert item.status == "updated" and item.details["removed_files"] == ["counts.csv"]
    assert [f.name for f in entry.files] == ["stations.csv"] and len(entry.all_files) == 2  # the history keeps it
    again = job_items(session, run_job(session, source, store=store, clock=Clock(NOW + timedelta(minutes=15)), fetcher=FETCHER, full=True))
    assert again["测试资源 two-files"].status == "unchanged"
