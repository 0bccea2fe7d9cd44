"""Which harvest sources are due for a scheduled job (`portal tick` starts them).

Schedules (`harvest.SCHEDULES`) are counted in China days (UTC+8): a daily source is due when
its last job started before today, a weekly one when it started before this week's Monday, a
monthly one before the 1st of this month; never while a job of the source is running, never a
manual or inactive source. Previews (dry runs) do not count as jobs of the schedule. "Now" is
passed in.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import HarvestJob, HarvestSource

from .job_history import aware, running_job

CHINA = timezone(timedelta(hours=8))


def period_start(schedule: str, now: datetime) -> datetime | None:
    """The start (China time, as UTC) of the current period of `schedule`: today, this week
    (Monday), this month. None for a manual source."""
    today: date = now.astimezone(CHINA).date()
    if schedule == "daily":
        start = today
    elif schedule == "weekly":
        start = today - timedelta(days=today.weekday())
    elif schedule == "monthly":
        start = today.replace(day=1)
    else:
        return None
    return datetime.combine(start, time(0), tzinfo=CHINA).astimezone(timezone.utc)


def due_sources(session: Session, now: datetime) -> list[HarvestSource]:
    """The active scheduled sources whose last job (previews aside) started before the current
    period of their schedule (or that have none), and with no job running; by name."""
    due: list[HarvestSource] = []
    for source in session.scalars(
        select(HarvestSource).where(HarvestSource.active.is_(True), HarvestSource.schedule != "manual").order_by(HarvestSource.name)
    ):
        start = period_start(source.schedule, now)
        if start is None or running_job(session, source, now) is not None:
            continue
        last = session.scalar(
            select(func.max(HarvestJob.started_at)).where(HarvestJob.source_id == source.id, HarvestJob.dry_run.is_(False))
        )
        if last is None or aware(last) < start:
            due.append(source)
    return due
