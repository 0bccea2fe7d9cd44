"""The harvest job: what every source kind needs.

- A stable remote identifier (GUID) per record, kept in `HarvestRecord` (GUID → entry), never
  the title or slug.
- Idempotent upserts with change detection by `RemoteRecord.content_hash()`: a re-run with
  nothing changed touches nothing (no entry version, no audit row, no file).
- Records that vanished from the source are marked `missing_since` and, once the source's
  grace period has passed, their entries withdrawn (`catalog.withdraw_entry`) and the record
  `archived_at`; a record that comes back is restored. Only a complete listing (a full run
  whose listing ended without error) can mark records missing.
- Per-item status (added, updated, unchanged, archived, failed) with the stage and the error
  in `HarvestItem`; one bad record never fails the job: each item is written in a savepoint
  of its own and committed, so a job's progress survives a crash.
- A dry run computes the same statuses and the fields that would change, and writes nothing
  but the job and its items.
- A job time limit: past it, the job stops between two items as "timed-out" (nothing is
  archived).

Each source kind module (`harvest.KINDS`) provides:
    SUPPORTS_INCREMENTAL: bool
    def records(source: HarvestSource, fetcher: Fetcher, *, since: datetime | None)
        -> Iterator[RemoteRecord | ParseFailure]
    def check(source: HarvestSource, fetcher: Fetcher) -> list[str]   # problems, [] when fine
    def total(source: HarvestSource, fetcher: Fetcher) -> int | None   # optional: records now at the source
`records` raises `FetchError` when the listing itself fails (the job then fails, its items so
far kept, nothing archived); a single record it cannot parse is yielded as a `ParseFailure`.

Full and incremental runs. A job is incremental when its kind supports it, `full` is not set,
an earlier job finished without a job error (not a dry run, not limited), a full run finished
within the last `FULL_EVERY` (7 days), and the source (when its kind has `total`) holds no fewer
records than the GUID table has live ones (fewer means records vanished: only a full listing
can tell which). It asks for changes since that job's start minus the source's overlap
(`HarvestJob.since`). An incremental listing cannot see deletions, so it never archives; when
after it the GUID table holds more live records than the source said it has (records were
added and others removed), the same job lists again in full (its `since` then None). Other
deletions are found by the full runs, at least weekly. Archiving needs a complete full listing; a record missing from one is marked
`missing_since`, and withdrawn once missing for `grace_days`.

A job refuses to start (`Conflict`) while another job of the same source is running and
started less than the time limit ago (a double-clicked "run"); an older "running" job is a
crashed one and is marked failed.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import ModuleType

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.files import FileStore
from portal.models import HarvestItem, HarvestJob, HarvestOrgMapping, HarvestRecord, HarvestSource
from portal.vocab import EntryStatus

from . import jobs
from .fetch import Fetcher, FetchError
from .records import RemoteRecord
from .settings import effective_settings
from .writing import Context, Outcome, process

log = logging.getLogger(__name__)


@dataclass
class ParseFailure:
    """A remote record a source kind could not read into a `RemoteRecord`."""

    guid: str
    error: str
    title: str = ""


@dataclass
class Progress:
    """Counts so far, for a progress display; `total` when the source said how many."""

    seen: int = 0
    total: int | None = None
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    archived: int = 0
    failed: int = 0


def source_kind(kind: str) -> ModuleType:
    """The module of a source kind (`harvest.KINDS`)."""
    from . import KINDS

    if kind not in KINDS:
        raise ValueError(f"未知的来源类型：{kind}")
    return importlib.import_module(f"{__package__}.{kind}")


def run_job(
    session: Session,
    source: HarvestSource,
    *,
    store: FileStore,
    clock: Callable[[], datetime],
    fetcher: Fetcher | None = None,
    dry_run: bool = False,
    full: bool = False,
    time_limit: float | None = None,
    started_by: str = "",
    progress: Callable[[Progress], None] | None = None,
    limit: int | None = None,
) -> HarvestJob:
    """Run one job of `source` and return it, finished. Commits as it goes (the job row first,
    then each item). Incremental when the kind supports it, `full` is not set and an earlier
    job finished without error (since that job's start minus the overlap); `fetcher` defaults
    to one built from the source (`allow_private`); `time_limit` (seconds) defaults to the
    source's setting. `clock` gives the current time. `limit` stops after that many records (a
    preview, usually with `dry_run`); a limited job never archives. Raises `Conflict` when a job
    of the source is already running."""
    settings = effective_settings(source)
    kind = source_kind(source.kind)
    fetcher = fetcher or Fetcher(allow_private=source.allow_private)
    seconds = float(time_limit if time_limit is not None else int(settings["time_limit_minutes"]) * 60)
    now, guard = clock(), max(seconds, 60.0)  # a job "running" for longer than this was interrupted
    jobs.refuse_if_running(session, source, now=now, seconds=guard)
    job = HarvestJob(
        source_id=source.id, state="running", dry_run=dry_run, since=None, started_at=now, started_by=started_by[:100],
        added=0, updated=0, unchanged=0, archived=0, failed=0, error="",
    )
    session.add(job)
    session.commit()
    jobs.refuse_if_raced(session, job, seconds=guard)
    org_map = {m.remote_org: m.department for m in session.scalars(select(HarvestOrgMapping).where(HarvestOrgMapping.source_id == source.id))}
    ctx = Context(session, source, settings, store, fetcher, clock, org_map, dry_run)
    run = _Run(ctx, job, kind, progress, started=time.monotonic(), seconds=seconds, limit=limit)
    run.execute(full=full)
    return job


class _Run:
    """One job in progress: its items, counts and the GUIDs seen."""

    def __init__(self, ctx: Context, job: HarvestJob, kind: ModuleType, progress: Callable[[Progress], None] | None, *,
                 started: float, seconds: float, limit: int | None) -> None:
        self.ctx, self.job, self.kind, self.report = ctx, job, kind, progress
        self.started, self.seconds, self.limit = started, seconds, limit
        self.seen: set[str] = set()
        self.progress = Progress()

    @property
    def session(self) -> Session:
        return self.ctx.session

    def execute(self, *, full: bool) -> None:
        job, ctx = self.job, self.ctx
        complete = stopped = False
        try:
            plan = jobs.plan_job(ctx.session, ctx.source, self.kind, ctx.fetcher, ctx.settings, now=job.started_at, full=full)
            job.since = plan.since
            self.progress.total = plan.total if plan.since is None else None
            self.session.commit()
            stopped = self._list()
            if not stopped and job.since is not None and self.limit is None and jobs.vanished(ctx.session, ctx.source, plan.total):
                # records came and went since the last run: list in full to find which went
                job.since, self.progress.total = None, plan.total
                self.session.commit()
                stopped = self._list()
            complete = not stopped
        except FetchError as error:
            self._fail(error.message)
        except Exception as error:  # a source kind's bug: the job fails, its items so far stay
            log.exception("harvest job %s of %s failed", job.id, ctx.source.name)
            self._fail(f"读取来源时出现内部错误（{type(error).__name__}），详见服务器日志")
        if complete and job.since is None and self.limit is None and job.state == "running":
            for outcome in jobs.archive_missing(ctx, self.seen, now=ctx.clock()):
                self._record_item(*outcome)
        if job.state == "running":
            job.state = "finished"
        job.finished_at = ctx.clock()
        self.session.commit()

    def _fail(self, message: str) -> None:
        self.session.rollback()
        self.job.state, self.job.error = "failed", message[:2000]
        self.session.commit()

    def _list(self) -> bool:
        """Process every record of the listing; True when stopped early (time or count limit)."""
        iterator = self.kind.records(self.ctx.source, self.ctx.fetcher, since=self.job.since)
        done = 0
        try:
            for record in iterator:
                if time.monotonic() - self.started > self.seconds:
                    self.job.state = "timed-out"
                    self.job.error = f"超过任务时限（{self.seconds / 60:g} 分钟），已在处理 {done} 条记录后停止，未归档任何记录"
                    self.session.commit()
                    return True
                if self.limit is not None and done >= self.limit:
                    self.job.error = f"预览：只处理了前 {self.limit} 条记录，未归档任何记录"
                    self.session.commit()
                    return True
                if record.guid and record.guid in self.seen:
                    continue
                if record.guid:
                    self.seen.add(record.guid)
                self._process(record)
                done += 1
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()
        return False

    def _process(self, record: RemoteRecord | ParseFailure) -> None:
        ctx, guid = self.ctx, record.guid
        known = self._known(guid)
        if isinstance(record, ParseFailure):
            outcome = Outcome("failed", "parse", record.error, entry=known.entry if known else None)
        else:
            try:
                outcome = process(ctx, record, known)
            except Exception as error:  # one bad record never fails the job
                log.exception("harvest of %s from %s failed", guid, ctx.source.name)
                self.session.rollback()
                known = self._known(guid)
                outcome = Outcome("failed", "write", f"处理该记录时出现内部错误（{type(error).__name__}），详见服务器日志",
                                  entry=known.entry if known else None)
        if isinstance(record, RemoteRecord):  # what the mapping table of the sources page offers
            for key in ("organization", "organization_title"):
                if value := getattr(record, key):
                    outcome.details.setdefault(key, value)
        if not ctx.dry_run and guid:
            self._keep(known, guid, outcome)
        self._record_item(guid, record.title, outcome)

    def _known(self, guid: str) -> HarvestRecord | None:
        if not guid:
            return None
        return self.session.scalar(select(HarvestRecord).where(HarvestRecord.source_id == self.ctx.source.id, HarvestRecord.guid == guid[:500]))

    def _keep(self, known: HarvestRecord | None, guid: str, outcome: Outcome) -> None:
        """The GUID table's row of a record seen in this job."""
        now = self.ctx.clock()
        if known is None:
            known = HarvestRecord(source_id=self.ctx.source.id, guid=guid[:500], first_seen_at=now, content_hash="")
            self.session.add(known)
        known.last_seen_at, known.missing_since = now, None
        if outcome.entry is not None:
            known.entry_id = outcome.entry.id
            if known.archived_at is not None and outcome.entry.status != EntryStatus.WITHDRAWN:
                known.archived_at = None  # it came back and was restored
        known.content_hash = outcome.content_hash  # "" for a failure: the next job looks again

    def _record_item(self, guid: str, title: str, outcome: Outcome) -> None:
        job = self.job
        self.session.add(HarvestItem(
            job_id=job.id, guid=guid[:500], title=(title or "")[:500], status=outcome.status, stage=outcome.stage,
            error=outcome.error, entry_id=outcome.entry.id if outcome.entry is not None else None, details=outcome.details,
        ))
        setattr(job, outcome.status, getattr(job, outcome.status) + 1)
        self.session.commit()
        self.progress.seen += 1
        setattr(self.progress, outcome.status, getattr(job, outcome.status))
        if self.report is not None:
            self.report(self.progress)
