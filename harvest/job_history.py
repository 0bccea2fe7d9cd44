"""The jobs of the harvest sources as the Bureau sees them: the newest jobs, a job and its items
a page at a time (the report pages and `portal harvest report`), whether a job is still
running, marking the jobs a crash left "running" as failed, and auditing a job someone started
(harvest:run, `record_run`). `base` runs the jobs; `jobs` decides how.

Plain functions over a `Session`; "now" is passed in. Errors are `portal.errors.Invalid` and
`NotFound`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal import audit
from portal.errors import Invalid, NotFound
from portal.models import Entry, HarvestItem, HarvestJob, HarvestSource, User
from portal.vocab import N_

from . import STATUSES

# A job still "running" past its source's time limit was cut off (a crash, a restart): it no
# longer blocks its source, and the next job marks it failed (`harvest.jobs.refuse_if_running`).
DEFAULT_TIME_LIMIT_MINUTES = 60
ITEMS_PER_PAGE = 100
JOB_STATES: dict[str, str] = {
    "running": N_("进行中"),
    "finished": N_("已完成"),
    "failed": N_("失败"),
    "timed-out": N_("超时停止"),
}
STAGES: dict[str, str] = {
    "fetch": N_("获取"),
    "parse": N_("解析"),
    "map": N_("字段对应"),
    "validate": N_("校验"),
    "write": N_("写入目录"),
    "resource": N_("资源文件"),
    "archive": N_("归档"),
}
INTERRUPTED = N_("采集任务意外中止，详情见服务器日志")


def jobs_of(session: Session, source: HarvestSource, limit: int = 20) -> list[HarvestJob]:
    """The source's last `limit` jobs, newest first."""
    return list(session.scalars(
        select(HarvestJob).where(HarvestJob.source_id == source.id).order_by(HarvestJob.id.desc()).limit(limit)
    ))


def last_jobs(session: Session) -> dict[int, HarvestJob]:
    """The newest job of every source that has one, by source id."""
    newest = select(func.max(HarvestJob.id)).group_by(HarvestJob.source_id)
    return {job.source_id: job for job in session.scalars(select(HarvestJob).where(HarvestJob.id.in_(newest)))}


def get_job(session: Session, job_id: int) -> HarvestJob:
    job = session.get(HarvestJob, job_id)
    if job is None:
        raise NotFound(N_("没有找到该采集任务"))
    return job


def is_running(job: HarvestJob, now: datetime) -> bool:
    """True while `job` runs: "running", and started less than its source's time limit ago;
    an older "running" job was cut off and blocks nothing (as `run_job` decides)."""
    if job.state != "running":
        return False
    limit = (job.source.settings or {}).get("time_limit_minutes")
    minutes = limit if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0 else DEFAULT_TIME_LIMIT_MINUTES
    return aware(job.started_at) > now - timedelta(minutes=minutes)


def running_job(session: Session, source: HarvestSource, now: datetime) -> HarvestJob | None:
    """The job of `source` running now, if any (dry runs included)."""
    job = session.scalar(
        select(HarvestJob).where(HarvestJob.source_id == source.id, HarvestJob.state == "running").order_by(HarvestJob.id.desc()).limit(1)
    )
    return job if job is not None and is_running(job, now) else None


def newest_job_id(session: Session, source: HarvestSource) -> int:
    """The id of the source's newest job, 0 when it has none: a job started after this call
    has a greater id."""
    return session.scalar(select(func.max(HarvestJob.id)).where(HarvestJob.source_id == source.id)) or 0


def interrupt_jobs(session: Session, source: HarvestSource, *, after_id: int, now: datetime, error: str = INTERRUPTED) -> list[HarvestJob]:
    """After the job itself raised (a bug, a lost database connection): mark the source's jobs
    newer than `after_id` still "running" as failed with `error`, so that they block nothing and
    their pages say what happened. The caller commits."""
    jobs = list(session.scalars(
        select(HarvestJob).where(HarvestJob.source_id == source.id, HarvestJob.id > after_id, HarvestJob.state == "running")
    ))
    for job in jobs:
        job.state, job.finished_at, job.error = "failed", now, error
    session.flush()
    return jobs


def record_run(
    session: Session, job: HarvestJob, *, actor: User | None, now: datetime, actor_name: str = "", full: bool = False,
    limit: int | None = None,
) -> None:
    """Audit a job someone started (harvest:run), once it ended: who, which source, how and with
    what result. The caller commits."""
    audit.record(
        session, action="harvest:run", actor=actor, actor_name=actor_name, now=now, target=f"{job.source.name} #{job.id}",
        details={
            "job": job.id, "state": job.state, "dry_run": bool(job.dry_run), "full": full, "limit": limit,
            **{status: getattr(job, status) for status in STATUSES},
        },
    )


@dataclass
class ItemRow:
    item: HarvestItem
    entry_slug: str | None  # the entry's slug, for its link; None when there is no entry


@dataclass
class ItemPage:
    rows: list[ItemRow]
    total: int  # items matching the filter
    page: int
    pages: int
    counts: dict[str, int]  # every item of the job, by status


def job_items(session: Session, job: HarvestJob, *, status: str | None = None, page: int = 1, per_page: int = ITEMS_PER_PAGE) -> ItemPage:
    """The job's items in the order they were met, `status` only when given, a page at a time."""
    counts = dict(session.execute(
        select(HarvestItem.status, func.count(HarvestItem.id)).where(HarvestItem.job_id == job.id).group_by(HarvestItem.status)
    ).all())
    query = select(HarvestItem, Entry.slug).outerjoin(Entry, Entry.id == HarvestItem.entry_id).where(HarvestItem.job_id == job.id)
    if status:
        if status not in STATUSES:
            raise Invalid({"status": N_("没有这一状态")})
        query = query.where(HarvestItem.status == status)
    total = counts.get(status, 0) if status else sum(counts.values())
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    rows = session.execute(query.order_by(HarvestItem.id).offset((page - 1) * per_page).limit(per_page)).all()
    return ItemPage([ItemRow(item, slug) for item, slug in rows], total, page, pages, counts)


def aware(moment: datetime) -> datetime:
    """`moment` with its time zone; a naive one (as SQLite gives it back) is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
