"""The job's decisions around the listing (`base` runs the listing itself): whether another job
of the source is running, whether this job is full or incremental (and since when), and which
records vanished from a complete full listing, to be archived once the grace period is over."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from types import ModuleType
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.errors import Conflict, PortalError
from portal.models import HarvestJob, HarvestRecord, HarvestSource
from portal.vocab import EntryStatus

from .fetch import Fetcher, FetchError
from .writing import Context, Outcome, withdraw

FULL_EVERY = timedelta(days=7)  # an incremental source still gets a full run (which finds deletions) this often
TIME_FORMAT = "%Y-%m-%d %H:%M"
CHINA = timezone(timedelta(hours=8))


def refuse_if_running(session: Session, source: HarvestSource, *, now: datetime, seconds: float) -> None:
    """Conflict when a job of `source` is running and started less than `seconds` ago; a job
    "running" for longer was interrupted (a crash, a killed process) and is marked failed."""
    running = list(session.scalars(select(HarvestJob).where(HarvestJob.source_id == source.id, HarvestJob.state == "running")))
    for job in running:
        if job.started_at > now - timedelta(seconds=seconds):
            raise Conflict(f"来源“{source.title or source.name}”已有采集任务正在运行（{job.started_at.astimezone(CHINA).strftime(TIME_FORMAT)} 开始），请等它结束后再试")
        job.state, job.finished_at = "failed", now
        job.error = "任务未正常结束（超过任务时限仍在“运行中”，可能进程已中断），视为失败"
    if running:
        session.commit()


def refuse_if_raced(session: Session, job: HarvestJob, *, seconds: float) -> None:
    """After `job` was committed: another job of the source that started at the same moment
    (two clicks that both passed `refuse_if_running`) and has the lower id goes on; this one
    is marked failed and refused."""
    earlier = session.scalar(select(HarvestJob.id).where(
        HarvestJob.source_id == job.source_id, HarvestJob.state == "running", HarvestJob.id < job.id,
        HarvestJob.started_at > job.started_at - timedelta(seconds=seconds),
    ).limit(1))
    if earlier is not None:
        job.state, job.finished_at, job.error = "failed", job.started_at, "同一来源的另一采集任务同时启动，本任务已取消"
        session.commit()
        raise Conflict("该来源已有采集任务正在运行，请等它结束后再试")


def _last_good(session: Session, source: HarvestSource, *, full_only: bool) -> HarvestJob | None:
    query = select(HarvestJob).where(
        HarvestJob.source_id == source.id, HarvestJob.state == "finished", HarvestJob.dry_run.is_(False), HarvestJob.error == "",
    )
    if full_only:
        query = query.where(HarvestJob.since.is_(None))
    return session.scalar(query.order_by(HarvestJob.started_at.desc(), HarvestJob.id.desc()).limit(1))


def live_records(session: Session, source: HarvestSource) -> int:
    return session.scalar(
        select(func.count(HarvestRecord.id)).where(HarvestRecord.source_id == source.id, HarvestRecord.archived_at.is_(None))
    ) or 0


@dataclass
class Plan:
    """A job's listing: since when (None: a full listing), and how many records the source
    said it holds (when its kind has `total`)."""

    since: datetime | None
    total: int | None = None


def plan_job(
    session: Session, source: HarvestSource, kind: ModuleType, fetcher: Fetcher, settings: Mapping[str, Any], *, now: datetime, full: bool,
) -> Plan:
    """Full or incremental (see `base`), and the source's count of records."""
    total = None
    if hasattr(kind, "total"):
        try:
            total = kind.total(source, fetcher)
        except FetchError:
            total = None  # the listing itself will say what is wrong
    if full or not getattr(kind, "SUPPORTS_INCREMENTAL", False):
        return Plan(None, total)
    last_good = _last_good(session, source, full_only=False)
    last_full = _last_good(session, source, full_only=True)
    if last_good is None or last_full is None or now - last_full.started_at >= FULL_EVERY:
        return Plan(None, total)
    if vanished(session, source, total):
        return Plan(None, total)  # only a full listing can tell which records vanished
    return Plan(last_good.started_at - timedelta(hours=float(settings.get("overlap_hours") or 0)), total)


def vanished(session: Session, source: HarvestSource, total: int | None) -> bool:
    """Whether the source holds fewer records than the GUID table has live ones (some vanished)."""
    return total is not None and total < live_records(session, source)


def archive_missing(ctx: Context, seen: set[str], *, now: datetime) -> Iterator[tuple[str, str, Outcome]]:
    """After a complete full listing: mark the records it lacked as missing, and withdraw the
    entries of those missing for the grace period. Yields (guid, title, outcome) of each
    archived item (a dry run only says what would be); commits each change."""
    session, grace = ctx.session, timedelta(days=float(ctx.settings.get("grace_days") or 0))
    rows = session.scalars(
        select(HarvestRecord).where(HarvestRecord.source_id == ctx.source.id, HarvestRecord.archived_at.is_(None)).order_by(HarvestRecord.id)
    ).all()
    for record in rows:
        if record.guid in seen:
            continue
        missing_since = record.missing_since or now
        due = now - missing_since >= grace
        entry = record.entry
        title = entry.title if entry is not None else ""
        details = {"missing_since": missing_since.isoformat(), "grace_days": grace.days}
        if ctx.dry_run:
            if due and entry is not None:
                yield record.guid, title, Outcome("archived", entry=entry, details=details)
            continue
        record.missing_since = missing_since
        if not due or entry is None:
            if due:
                record.archived_at = now  # never became an entry: nothing to withdraw
            session.commit()
            continue
        try:
            with session.begin_nested():
                was_published = entry.status == EntryStatus.PUBLISHED
                withdraw(ctx, entry)
                record.archived_at = now
            details["withdrawn"] = was_published
            outcome = Outcome("archived", entry=entry, details=details)
        except PortalError as error:
            outcome = Outcome("failed", "archive", f"归档失败：{error.message}", entry=entry)
        yield record.guid, title, outcome
