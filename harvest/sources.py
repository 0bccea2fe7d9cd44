"""The Bureau's harvest sources: add, change, validate, the organization → department mapping,
schedules and which sources are due; jobs and their items for the report pages. Every change is
audited (harvest:source-add, harvest:source-change, harvest:mapping), and so is every job its
starter ran (harvest:run, `record_run`); the audit rows never hold a secret (a password in the
URL, a token in the settings).

Plain functions over a `Session`; "now" is passed in; nothing here knows of Flask. Errors are
`portal.errors.Invalid` ({field: Chinese message}) and `NotFound`.

Schedules (`harvest.SCHEDULES`) are counted in China days (UTC+8): a daily source is due when
its last job started before today, a weekly one when it started before this week's Monday, a
monthly one before the 1st of this month; never while a job of the source is running, never a
manual or inactive source. Previews (dry runs) do not count as jobs of the schedule.
"""

from __future__ import annotations

import copy
import importlib
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal import audit
from portal.errors import Invalid, NotFound
from portal.models import Department, Entry, HarvestItem, HarvestJob, HarvestOrgMapping, HarvestSource, User
from portal.vocab import N_

from . import KINDS, SCHEDULES, STATUSES
from .fetch import FetchError, Fetcher

NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,59}")
TITLE_LENGTH = 200
URL_LENGTH = 2000
ORG_LENGTH = 200  # HarvestOrgMapping.remote_org
CHINA = timezone(timedelta(hours=8))
# A job still "running" past its source's time limit was cut off (a crash, a restart): it no
# longer blocks its source, and the next job marks it failed (`harvest.jobs.refuse_if_running`).
DEFAULT_TIME_LIMIT_MINUTES = 60
# Settings and URL parts never written to the audit trail, by the name of their key.
SECRET = re.compile(r"token|password|passwd|secret|api_?key|auth|credential", re.IGNORECASE)
REDACTED = "***"
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


# -- validation ----------------------------------------------------------------------------


def _url_problem(url: str) -> str | None:
    """Why `url` cannot be a source's URL (http or https with a host), or None."""
    if not url:
        return N_("请填写采集源的地址")
    if len(url) > URL_LENGTH:
        return N_("地址过长")
    if any(c.isspace() or ord(c) < 32 for c in url):
        return N_("地址中不能有空白或控制字符")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return N_("地址格式不正确")
    if parts.scheme.lower() not in ("http", "https"):
        return N_("地址须以 http:// 或 https:// 开头")
    if not parts.hostname:
        return N_("地址中缺少主机名")
    return None


def _mapping() -> Any:
    """`harvest.mapping` (imported when first needed: it builds on the catalog)."""
    return importlib.import_module("harvest.mapping")


def _checked_settings(session: Session, base: dict[str, Any], changes: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, str]]:
    """`changes` merged over `base` (itself over the defaults), and the errors of the result."""
    mapping = _mapping()
    defaults: dict[str, Any] = copy.deepcopy(mapping.DEFAULT_SETTINGS)  # never a dict shared with the defaults
    errors: dict[str, str] = {}
    for key in changes or {}:
        if key not in defaults:
            errors[key] = N_("没有这一设置项")
    merged = copy.deepcopy({**defaults, **{k: v for k, v in base.items() if k in defaults}, **{k: v for k, v in (changes or {}).items() if k in defaults}})
    if isinstance(merged.get("department"), str):
        merged["department"] = merged["department"].strip().upper()  # a unified social credit code
    errors.update(mapping.validate_settings(session, merged) or {})
    return merged, errors


def _clean_text(value: str, limit: int) -> str:
    return " ".join((value or "").split())[:limit]


# -- what the audit trail may hold -----------------------------------------------------------


def redacted_url(url: str) -> str:
    """`url` without a password (user:password@host) or secret-looking query values."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = f"{userinfo.split(':', 1)[0]}:{REDACTED}@{host}" if ":" in userinfo else netloc
    query = "&".join(
        f"{pair.split('=', 1)[0]}={REDACTED}" if "=" in pair and SECRET.search(pair.split("=", 1)[0]) else pair
        for pair in parts.query.split("&")
    ) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redacted_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """`settings` with the value of every secret-looking key replaced."""
    return {k: (REDACTED if SECRET.search(k) and v not in ("", None) else v) for k, v in settings.items()}


def _facts(source: HarvestSource) -> dict[str, Any]:
    """What the audit trail keeps of a source."""
    return {
        "name": source.name, "title": source.title, "kind": source.kind, "url": redacted_url(source.url),
        "allow_private": bool(source.allow_private), "schedule": source.schedule, "active": bool(source.active),
        "settings": redacted_settings(dict(source.settings or {})),
    }


# -- sources -------------------------------------------------------------------------------


def add_source(
    session: Session,
    *,
    name: str,
    kind: str,
    url: str,
    title: str = "",
    allow_private: bool = False,
    schedule: str = "manual",
    settings: dict[str, Any] | None = None,
    actor: User | None,
    now: datetime,
    actor_name: str = "",
) -> HarvestSource:
    """Add a source; `settings` are merged over `mapping.DEFAULT_SETTINGS`. Without a default
    department, the zone's top-level department (the one without a parent, when there is exactly
    one: the management committee) becomes it, so that a plain catalog harvests into valid
    entries; the Bureau changes it or maps organizations on the source's page. Invalid with
    every problem at once; audited as harvest:source-add."""
    name, url, title = (name or "").strip(), (url or "").strip(), _clean_text(title, TITLE_LENGTH)
    if not (settings or {}).get("department"):
        roots = session.scalars(select(Department.code).where(Department.parent_id.is_(None)).limit(2)).all()
        if len(roots) == 1:
            settings = {**(settings or {}), "department": roots[0]}
    errors: dict[str, str] = {}
    if not NAME.fullmatch(name):
        errors["name"] = N_("名称只能由小写字母、数字和连字符组成，以字母或数字开头，不超过 60 个字符")
    elif session.scalar(select(HarvestSource.id).where(HarvestSource.name == name)) is not None:
        errors["name"] = N_("已有同名的采集源")
    if kind not in KINDS:
        errors["kind"] = N_("不支持该类型的采集源")
    if (problem := _url_problem(url)) is not None:
        errors["url"] = problem
    if schedule not in SCHEDULES:
        errors["schedule"] = N_("没有这一采集周期")
    merged, setting_errors = _checked_settings(session, {}, settings)
    errors.update(setting_errors)
    if errors:
        raise Invalid(errors)
    source = HarvestSource(
        name=name, kind=kind, url=url, title=title or name, allow_private=bool(allow_private), schedule=schedule,
        settings=merged, active=True, created_at=now, updated_at=now,
    )
    session.add(source)
    session.flush()
    audit.record(session, action="harvest:source-add", actor=actor, actor_name=actor_name, now=now, target=name, details=_facts(source))
    return source


def update_source(
    session: Session,
    source: HarvestSource,
    *,
    title: str | None = None,
    url: str | None = None,
    allow_private: bool | None = None,
    schedule: str | None = None,
    active: bool | None = None,
    settings: dict[str, Any] | None = None,
    actor: User | None,
    now: datetime,
    actor_name: str = "",
) -> bool:
    """Change the given fields of `source` (None keeps a field; `settings` are merged over the
    current ones). The name and kind never change. False when nothing changed; Invalid with every
    problem at once; audited as harvest:source-change with the fields before and after."""
    errors: dict[str, str] = {}
    changes: dict[str, Any] = {}
    if title is not None:
        changes["title"] = _clean_text(title, TITLE_LENGTH) or source.name
    if url is not None:
        url = url.strip()
        if (problem := _url_problem(url)) is not None:
            errors["url"] = problem
        changes["url"] = url
    if allow_private is not None:
        changes["allow_private"] = bool(allow_private)
    if schedule is not None:
        if schedule not in SCHEDULES:
            errors["schedule"] = N_("没有这一采集周期")
        changes["schedule"] = schedule
    if active is not None:
        changes["active"] = bool(active)
    if settings is not None:
        merged, setting_errors = _checked_settings(session, dict(source.settings or {}), settings)
        errors.update(setting_errors)
        changes["settings"] = merged
    if errors:
        raise Invalid(errors)
    before = _facts(source)
    changed = {k: v for k, v in changes.items() if getattr(source, k) != v}
    if not changed:
        return False
    for key, value in changed.items():
        setattr(source, key, value)
    source.updated_at = now
    session.flush()
    after = _facts(source)
    keys = [k for k in after if before[k] != after[k]] or list(changed)
    audit.record(
        session, action="harvest:source-change", actor=actor, actor_name=actor_name, now=now, target=source.name,
        details={"before": {k: before[k] for k in keys}, "after": {k: after[k] for k in keys}},
    )
    return True


def get_source(session: Session, name: str) -> HarvestSource:
    source = session.scalar(select(HarvestSource).where(HarvestSource.name == name))
    if source is None:
        raise NotFound(N_("没有找到该采集源"))
    return source


def list_sources(session: Session) -> list[HarvestSource]:
    """Every source, by name."""
    return list(session.scalars(select(HarvestSource).order_by(HarvestSource.name)))


# -- the organization → department mapping ---------------------------------------------------


def org_mapping(session: Session, source: HarvestSource) -> dict[str, Department]:
    """The source's remote organizations and their departments, by remote name."""
    rows = session.scalars(
        select(HarvestOrgMapping).where(HarvestOrgMapping.source_id == source.id).order_by(HarvestOrgMapping.remote_org)
    )
    return {row.remote_org: row.department for row in rows}


def set_org_mapping(
    session: Session, source: HarvestSource, mapping: dict[str, str], *, actor: User | None, now: datetime, actor_name: str = ""
) -> bool:
    """Make `mapping` ({remote organization: department code}) the source's whole mapping: an
    organization left out, or mapped to "", is removed. Invalid names the organizations whose
    code is unknown; False when nothing changed; audited as harvest:mapping."""
    wanted: dict[str, str] = {}
    errors: dict[str, str] = {}
    for remote, code in mapping.items():
        remote, code = (remote or "").strip(), (code or "").strip()
        if not remote or not code:
            continue
        if len(remote) > ORG_LENGTH:
            errors[remote[:ORG_LENGTH]] = N_("来源机构名称过长")
            continue
        wanted[remote] = code
    departments = {d.code: d for d in session.scalars(select(Department).where(Department.code.in_(set(wanted.values()))))}
    for remote, code in wanted.items():
        if code not in departments:
            errors[remote] = N_("没有该统一社会信用代码的部门")
    if errors:
        raise Invalid(errors)
    rows = {row.remote_org: row for row in session.scalars(select(HarvestOrgMapping).where(HarvestOrgMapping.source_id == source.id))}
    before = {remote: row.department.code for remote, row in rows.items()}
    if before == wanted:
        return False
    for remote, row in rows.items():
        if remote not in wanted:
            session.delete(row)
        elif row.department_id != departments[wanted[remote]].id:
            row.department = departments[wanted[remote]]
    for remote, code in wanted.items():
        if remote not in rows:
            session.add(HarvestOrgMapping(source_id=source.id, remote_org=remote, department=departments[code]))
    session.flush()
    audit.record(
        session, action="harvest:mapping", actor=actor, actor_name=actor_name, now=now, target=source.name,
        details={"before": before, "after": wanted},
    )
    return True


ORG_DETAIL_KEYS = ("organization", "organization_title", "remote_org")
# The reason `harvest.mapping` gives for a record whose organization maps to no department.
UNMAPPED_ORG = re.compile(r"来源组织“(.+?)”没有对应的部门")


def remote_orgs_seen(session: Session, source: HarvestSource, *, jobs: int = 5) -> list[str]:
    """The remote organization names the source's last `jobs` jobs met, sorted: those their
    items' details name, and those of records that failed for want of a department. Offered as
    rows of the mapping table; empty before any job."""
    job_ids = list(session.scalars(
        select(HarvestJob.id).where(HarvestJob.source_id == source.id).order_by(HarvestJob.id.desc()).limit(jobs)
    ))
    names: set[str] = set()
    if job_ids:
        for details, error in session.execute(select(HarvestItem.details, HarvestItem.error).where(HarvestItem.job_id.in_(job_ids))):
            for key in ORG_DETAIL_KEYS:
                value = details.get(key) if isinstance(details, dict) else None
                if isinstance(value, str) and value.strip():
                    names.add(value.strip()[:ORG_LENGTH])
            if error and (match := UNMAPPED_ORG.search(error)):
                names.add(match.group(1)[:ORG_LENGTH])
    return sorted(names)


# -- jobs ----------------------------------------------------------------------------------


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
    return _aware(job.started_at) > now - timedelta(minutes=minutes)


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


def departments(session: Session) -> list[Department]:
    """Every department, by name: the choices of the default department and the mapping."""
    return list(session.scalars(select(Department).order_by(Department.name)))


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


# -- schedules -----------------------------------------------------------------------------


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
        if last is None or _aware(last) < start:
            due.append(source)
    return due


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


# -- checking ------------------------------------------------------------------------------


CHECK_TIMEOUT = 15.0  # seconds: a check answers the Bureau while it waits
CHECK_RETRIES = 1


def check_source(source: HarvestSource, fetcher: Fetcher | None = None) -> list[str]:
    """What keeps `source` from being harvested, as Chinese messages ([] when it looks fine):
    the kind module's `check`, a fetch failure turned into its message. The default fetcher
    waits less and retries less than a job's."""
    try:
        module = importlib.import_module(f"harvest.{source.kind}")
    except ModuleNotFoundError as error:
        if error.name != f"harvest.{source.kind}":
            raise
        return [N_("尚不支持该类型的采集源")]
    try:
        fetcher = fetcher or Fetcher(allow_private=bool(source.allow_private), timeout=CHECK_TIMEOUT, retries=CHECK_RETRIES)
        return list(module.check(source, fetcher))
    except FetchError as error:
        return [error.message]
