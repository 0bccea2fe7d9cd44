"""The Bureau's harvest sources: add, change, find and list them, their settings merged over
the defaults and checked, and a source checked against its remote catalog (`check_source`).
Every change is audited (harvest:source-add, harvest:source-change); the audit rows never hold
a secret (a password in the URL, a token in the settings).

Plain functions over a `Session`; "now" is passed in; nothing here knows of Flask. Errors are
`portal.errors.Invalid` ({field: Chinese message}) and `NotFound`.

The rest of what the Bureau manages lives beside it: the organization → department mapping
(`org_mapping`), the jobs, their items and the harvest:run audit (`job_history`), and which
sources are due (`schedules`).
"""

from __future__ import annotations

import copy
import importlib
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import audit
from portal.errors import Invalid, NotFound
from portal.models import Department, HarvestSource, User
from portal.vocab import N_

from . import KINDS, SCHEDULES
from .fetch import FetchError, Fetcher

NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,59}")
TITLE_LENGTH = 200
URL_LENGTH = 2000
# Settings and URL parts never written to the audit trail, by the name of their key.
SECRET = re.compile(r"token|password|passwd|secret|api_?key|auth|credential", re.IGNORECASE)
REDACTED = "***"


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


def departments(session: Session) -> list[Department]:
    """Every department, by name: the choices of the default department and the mapping."""
    return list(session.scalars(select(Department).order_by(Department.name)))


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
