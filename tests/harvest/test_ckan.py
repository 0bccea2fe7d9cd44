"""The CKAN source kind against a local CKAN site of recorded payloads (CKAN 2.9/2.10 package
dicts, Chinese and English records): paging, idempotent re-runs, changes, deletions after the
grace period, restoring, dry runs, listing failures, a repeated page, the organization →
department table and incremental runs. Real database, real HTTP, real fetcher."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from harvest import ckan
from harvest.base import run_job
from harvest.fetch import Fetcher
from portal.accounts import create_department
from portal.authz import OPEN_CATALOG
from portal.files import FileStore
from portal.models import (
    AuditEvent, Department, Entry, EntryVersion, HarvestItem, HarvestJob, HarvestOrgMapping, HarvestRecord, HarvestSource, OpenReview,
)
from portal.vocab import EntryStatus, OpenType, ShareType, UpdateCycle

from ..support import NOW, make_uscc
from .server import CkanSite, Clock, PayloadServer, load_payload

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture
def site() -> Iterator[CkanSite]:
    with PayloadServer() as server:
        yield CkanSite(server)


@pytest.fixture
def departments(session: Session) -> tuple[Department, Department]:
    a = create_department(session, name="经开区数据资源局", code=make_uscc(11), parent=None, now=NOW)
    b = create_department(session, name="经开区交通运输局", code=make_uscc(12), parent=None, now=NOW)
    session.commit()
    return a, b


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "files")


FETCHER = Fetcher(allow_private=True, retries=0, timeout=10)


def make_source(session: Session, url: str, default: Department, *, name: str = "city-ckan", **settings: object) -> HarvestSource:
    source = HarvestSource(
        name=name, title="市公共数据开放平台", kind="ckan", url=url, allow_private=True, schedule="manual",
        settings={"department": default.code, "page_size": 2, **settings}, active=True, created_at=NOW, updated_at=NOW,
    )
    session.add(source)
    session.commit()
    return source


def items(session: Session, job: HarvestJob) -> dict[str, HarvestItem]:
    return {i.guid: i for i in session.scalars(select(HarvestItem).where(HarvestItem.job_id == job.id))}


def counts(job: HarvestJob) -> tuple[int, int, int, int, int]:
    return job.added, job.updated, job.unchanged, job.archived, job.failed


def entry_of(session: Session, source: HarvestSource, guid: str) -> Entry:
    record = session.scalar(select(HarvestRecord).where(HarvestRecord.source_id == source.id, HarvestRecord.guid == guid))
    assert record is not None and record.entry is not None
    return record.entry


def trail(session: Session) -> tuple[int, int]:
    return session.scalar(select(func.count(EntryVersion.id))) or 0, session.scalar(select(func.count(AuditEvent.id))) or 0


PARKING, BIKES, CREDIT, INDUSTRY, SCHOOLS = (
    "0b6f2a51-1c7e-4a43-9d0e-6b1f3c2d4e01", "1c7a3b62-2d8f-4b54-8e1f-7c2a4d3e5f02", "2d8b4c73-3e9a-4c65-9f20-8d3b5e4f6a03",
    "3e9c5d84-4fab-4d76-a031-9e4c6f5a7b04", "4fad6e95-50bc-4e87-b142-af5d7a6b8c05",
)


def test_a_ckan_site_harvested_changed_and_pruned(session: Session, site: CkanSite, departments: tuple[Department, Department], store: FileStore) -> None:
    default, traffic = departments
    source = make_source(session, site.site, default)
    session.add(HarvestOrgMapping(source_id=source.id, remote_org="jingkai-traffic", department_id=traffic.id))
    session.commit()
    clock = Clock(NOW)
    seen: list[int] = []

    job = run_job(session, source, store=store, clock=clock, fetcher=FETCHER, started_by="bureau", progress=lambda p: seen.append(p.seen))
    assert (job.state, job.error, job.since) == ("finished", "", None), job.error
    assert counts(job) == (4, 0, 0, 0, 1) and seen == [1, 2, 3, 4, 5] and job.started_by == "bureau"
    searched = site.searches()
    pages = [s for s in searched if s["rows"] == "2"]
    assert [s["start"] for s in pages] == ["0", "2", "4"]  # five records, two a page
    assert all(s["sort"] == "id asc" and s["include_private"] == "false" and "fq" not in s for s in pages)
    found = items(session, job)
    assert found[CREDIT].status == "failed" and found[CREDIT].stage == "map" and "开放类型“随便”无法识别" in found[CREDIT].error
    assert session.scalar(select(func.count(Entry.id))) == 4  # nothing half-filled for the failed record

    parking = entry_of(session, source, PARKING)
    assert parking.department_id == traffic.id  # the organization → department table
    assert parking.slug == "parking-spaces" and parking.title == "经开区公共停车场泊位信息"
    assert (parking.share_type, parking.update_cycle) == (ShareType.UNCONDITIONAL, UpdateCycle.MONTHLY)
    assert [f.name for f in parking.files] == ["parking-spaces.csv"] and parking.files[0].tabular and parking.files[0].valid
    assert [i.title for i in parking.items][:2] == ["停车场名称", "所在片区"]  # read from the table by the pipeline
    assert parking.status == EntryStatus.PUBLISHED and parking.keywords == ["停车", "交通"]
    # not trusted: the declared 无条件开放 waits for the reviewers, out of the open catalog meanwhile
    assert parking.open_type == OpenType.CLOSED
    review = session.scalar(select(OpenReview).where(OpenReview.entry_id == parking.id))
    assert review is not None and review.state == "pending" and review.proposed == OpenType.OPEN and review.proposed_by == "采集：city-ckan"
    versions = session.scalars(select(EntryVersion).where(EntryVersion.entry_id == parking.id).order_by(EntryVersion.number)).all()
    assert versions[0].action == "create" and versions[0].actor == "采集：city-ckan"

    bikes = entry_of(session, source, BIKES)  # CKAN's own fields only: the source's defaults
    assert bikes.department_id == default.id and bikes.slug == "bike-share-stations"
    assert (bikes.share_type, bikes.open_type, bikes.update_cycle) == (ShareType.CONDITIONAL, OpenType.CLOSED, UpdateCycle.IRREGULAR)
    assert bikes.share_condition and bikes.classification_code == "2990100" and bikes.usage_requirements == "许可协议：Open Data Commons Attribution License"
    assert bikes.status == EntryStatus.DRAFT and not bikes.items  # no data items are made up
    notes = found[BIKES].details["notes"]
    assert any("链接（HTML）" in n for n in notes) and any(n.startswith("未发布") for n in notes)

    industry = entry_of(session, source, INDUSTRY)  # CKAN 2.9 extras in Chinese, data items in Chinese keys
    assert (industry.share_type, industry.update_cycle, industry.classification_code) == (ShareType.CONDITIONAL, UpdateCycle.QUARTERLY, "2010200")
    assert [i.name for i in industry.items] == ["company", "output", "quarter"] and industry.status == EntryStatus.PUBLISHED
    schools = entry_of(session, source, SCHOOLS)  # ckanext-scheming's top-level fields, ASCII values
    assert schools.update_cycle == UpdateCycle.YEARLY and [i.name for i in schools.items] == ["school", "stage"]

    # run again: nothing changed, nothing touched
    before, downloads = trail(session), sum("/download/" in p for p in site.server.requests)
    files_before = sorted(p.name for p in store.root.rglob("*") if p.is_file())
    again = run_job(session, source, store=store, clock=clock, fetcher=FETCHER, full=True)
    assert counts(again) == (0, 0, 4, 0, 1) and trail(session) == before
    assert sorted(p.name for p in store.root.rglob("*") if p.is_file()) == files_before
    assert sum("/download/" in p for p in site.server.requests) == downloads == 1

    # the source changes one record and removes another
    site.package("quarterly-industrial-output")["notes"] = "规模以上工业企业分季度产值（含同比增速）。"
    site.package("quarterly-industrial-output")["metadata_modified"] = "2026-11-20T00:00:00.000000"
    removed = site.remove("school-list-2025")
    clock.advance(days=1)
    changed = run_job(session, source, store=store, clock=clock, fetcher=FETCHER, full=True)
    assert counts(changed) == (0, 1, 2, 0, 1)
    change = items(session, changed)[INDUSTRY]
    assert change.status == "updated" and [c["field"] for c in change.details["changes"]] == ["abstract"]
    session.refresh(industry)
    assert industry.abstract == "规模以上工业企业分季度产值（含同比增速）。"
    record = session.scalar(select(HarvestRecord).where(HarvestRecord.guid == SCHOOLS))
    assert record is not None and record.missing_since == clock.now and record.archived_at is None
    assert schools.status == EntryStatus.PUBLISHED  # within the grace period

    clock.advance(days=8)  # past the grace period
    pruned = run_job(session, source, store=store, clock=clock, fetcher=FETCHER, full=True)
    assert counts(pruned) == (0, 0, 3, 1, 1)
    assert items(session, pruned)[SCHOOLS].status == "archived"
    session.refresh(schools)
    assert schools.status == EntryStatus.WITHDRAWN
    session.refresh(record)
    assert record.archived_at == clock.now

    site.packages.append(removed)  # it comes back
    clock.advance(days=1)
    back = run_job(session, source, store=store, clock=clock, fetcher=FETCHER, full=True)
    assert counts(back) == (0, 1, 3, 0, 1) and items(session, back)[SCHOOLS].details.get("restored") is True
    session.refresh(schools)
    session.refresh(record)
    assert schools.status == EntryStatus.PUBLISHED and record.archived_at is None and record.missing_since is None


def test_a_dry_run_writes_nothing_but_the_job(session: Session, site: CkanSite, departments: tuple[Department, Department], store: FileStore) -> None:
    source = make_source(session, site.site, departments[0])
    job = run_job(session, source, store=store, clock=Clock(NOW), fetcher=FETCHER, dry_run=True)
    assert job.state == "finished" and job.dry_run and counts(job) == (4, 0, 0, 0, 1)
    assert session.scalar(select(func.count(Entry.id))) == 0 and session.scalar(select(func.count(HarvestRecord.id))) == 0
    assert trail(session) == (0, 0) and not any("download" in p for p in site.server.requests)
    preview = items(session, job)[INDUSTRY].details
    assert preview["fields"]["share_type"] == "有条件共享" and preview["fields"]["items"] == ["company", "output", "quarter"]
    assert preview["department"] == "经开区数据资源局"

    run_job(session, source, store=store, clock=Clock(NOW), fetcher=FETCHER)
    site.package("parking-spaces")["title"] = "经开区公共停车场泊位信息（2026年）"
    before = trail(session)
    dry = run_job(session, source, store=store, clock=Clock(NOW), fetcher=FETCHER, dry_run=True, full=True)
    change = items(session, dry)[PARKING]
    assert change.status == "updated" and change.details["changes"][0]["new"] == "经开区公共停车场泊位信息（2026年）"
    assert trail(session) == before and entry_of(session, source, PARKING).title == "经开区公共停车场泊位信息"


def test_a_page_that_fails_fails_the_job_and_archives_nothing(session: Session, site: CkanSite, departments: tuple[Department, Department], store: FileStore) -> None:
    source = make_source(session, site.site, departments[0], grace_days=0)
    run_job(session, source, store=store, clock=Clock(NOW), fetcher=FETCHER)
    site.fail_start = 2
    job = run_job(session, source, store=store, clock=Clock(NOW), fetcher=FETCHER, full=True)
    assert job.state == "failed" and "500" in job.error and job.finished_at is not None
    assert counts(job) == (0, 0, 2, 0, 0)  # page 1's items kept
    assert session.scalar(select(func.count(HarvestRecord.id)).where(HarvestRecord.missing_since.is_not(None))) == 0
    assert session.scalar(select(func.count(Entry.id)).where(Entry.status == EntryStatus.WITHDRAWN)) == 0


def test_a_repeated_page_fails_the_job(session: Session, site: CkanSite, departments: tuple[Department, Department], store: FileStore) -> None:
    source = make_source(session, site.site, departments[0], grace_days=0)
    site.ignore_start = True
    job = run_job(session, source, store=store, clock=Clock(NOW), fetcher=FETCHER)
    assert job.state == "failed" and "来源重复返回同一页" in job.error
    assert job.added == 2 and session.scalar(select(func.count(HarvestRecord.id)).where(HarvestRecord.missing_since.is_not(None))) == 0


def test_an_error_envelope_is_the_remote_message(session: Session, site: CkanSite, departments: tuple[Department, Department], store: FileStore) -> None:
    source = make_source(session, site.site + "/api/3/action/", departments[0])  # the API's own address works too
    site.error = load_payload("ckan/error_search.json", site.site)
    job = run_job(session, source, store=store, clock=Clock(NOW), fetcher=FETCHER)
    assert job.state == "failed" and "Search Query is invalid" in job.error
    assert "无法列出数据集" in " ".join(ckan.check(source, FETCHER))
    site.error = None
    assert ckan.check(source, FETCHER) == []


def test_incremental_runs_ask_for_changes_since_the_last_good_run(session: Session, site: CkanSite, departments: tuple[Department, Department], store: FileStore) -> None:
    source = make_source(session, site.site, departments[0], overlap_hours=1)
    clock = Clock(NOW)
    first = run_job(session, source, store=store, clock=clock, fetcher=FETCHER)
    assert first.since is None
    site.package("parking-spaces")["notes"] = "停车场泊位信息（已更新收费标准）。"
    site.package("parking-spaces")["metadata_modified"] = "2026-11-25T10:00:00.000000"
    clock.advance(hours=2)
    asked = len(site.searches())
    job = run_job(session, source, store=store, clock=clock, fetcher=FETCHER)
    assert job.since == NOW.replace(hour=8)  # the last good run's start minus the overlap
    fqs = [s.get("fq") for s in site.searches()[asked:] if s["rows"] != "0"]
    assert fqs == ["metadata_modified:[2026-11-25T08:30:00Z TO *]"]
    assert counts(job) == (0, 1, 0, 0, 0) and items(session, job)[PARKING].status == "updated"

    site.remove("bike-share-stations")  # fewer records at the source than we hold: a full run finds which
    clock.advance(hours=2)
    pruned = run_job(session, source, store=store, clock=clock, fetcher=FETCHER)
    assert pruned.since is None and pruned.unchanged == 3
    assert session.scalar(select(HarvestRecord.missing_since).where(HarvestRecord.guid == BIKES)) == clock.now

    clock.advance(days=8)  # the last full run is a week old: full again
    weekly = run_job(session, source, store=store, clock=clock, fetcher=FETCHER)
    assert weekly.since is None and weekly.archived == 1


def test_records_added_and_removed_between_runs_make_the_run_full(session: Session, site: CkanSite, departments: tuple[Department, Department], store: FileStore) -> None:
    source = make_source(session, site.site, departments[0], grace_days=0)
    clock = Clock(NOW)
    run_job(session, source, store=store, clock=clock, fetcher=FETCHER)
    site.remove("bike-share-stations")  # as many records as before: one went, one came
    newcomer = dict(site.package("school-list-2025"), id="5b000000-0000-4000-8000-000000000001", name="school-list-2026",
                    title="2026年经开区学校名录", metadata_modified="2026-11-25T10:30:00.000000")
    site.packages.append(newcomer)
    clock.advance(hours=2)
    job = run_job(session, source, store=store, clock=clock, fetcher=FETCHER)
    assert job.since is None and (job.added, job.archived) == (1, 1)
    fqs = [s.get("fq") for s in site.searches() if s["rows"] == "2"]
    assert fqs == [None] * 3 + ["metadata_modified:[2026-11-25T08:30:00Z TO *]"] + [None] * 3  # full, incremental, then full again
    assert entry_of(session, source, BIKES).status == EntryStatus.DRAFT  # archived (it was a draft: nothing to withdraw)


def test_open_types_of_a_trusted_source_take_effect(session: Session, site: CkanSite, departments: tuple[Department, Department], store: FileStore) -> None:
    source = make_source(session, site.site, departments[0], trust_open_type=True)
    run_job(session, source, store=store, clock=Clock(NOW), fetcher=FETCHER)
    parking, schools = entry_of(session, source, PARKING), entry_of(session, source, SCHOOLS)
    assert parking.open_type == OpenType.OPEN and schools.open_type == OpenType.OPEN
    assert all(e.status == EntryStatus.PUBLISHED and e.open_type in OPEN_CATALOG for e in (parking, schools))
    review = session.scalar(select(OpenReview).where(OpenReview.entry_id == parking.id))
    assert review is not None and review.state == "approved" and review.reviewer == "采集：city-ckan"
    bikes = entry_of(session, source, BIKES)
    assert bikes.open_type == OpenType.CLOSED  # the default is not a declaration: never opened on its own


def test_package_parsing() -> None:
    package = load_payload("ckan/packages.json", "http://ckan.example")[4]
    record = ckan.parse_package(package)
    assert not isinstance(record, ckan.ParseFailure)
    assert record.guid == SCHOOLS and record.organization == "jingkai-education" and record.organization_title == "经开区社会事业局"
    assert record.extras["update_cycle"] == "yearly" and "data_items" in record.extras and "tracking_summary" not in record.extras
    assert record.issued.startswith("2025-02-01") and record.tags == ["教育"]
    relative = ckan.parse_package({"id": "x", "resources": [{"url": "/files/a.csv", "format": "text/csv"}]}, site="http://ckan.example/")
    assert not isinstance(relative, ckan.ParseFailure) and relative.resources[0].url == "http://ckan.example/files/a.csv"
    assert relative.resources[0].format == "CSV"
    assert ckan.parse_package({"title": "无标识"}) == ckan.ParseFailure(guid="", title="无标识", error="来源的数据集没有 id")
    assert ckan.api_base("https://data.example.cn/") == "https://data.example.cn/api/3/action/"
    assert ckan.api_base("https://data.example.cn/open/api/3/action/package_search?q=x") == "https://data.example.cn/open/api/3/action/"
    assert ckan.api_base("https://data.example.cn/api/action") == "https://data.example.cn/api/action/"
