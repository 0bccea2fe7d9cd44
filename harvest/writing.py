"""One harvested record into the catalog, through the catalog's own domain functions: the entry
created or updated (`catalog`), its files (`resource_files`), the source's open type taken as
reviewed when the source is trusted (`open_review.record_imported`), and the entry published
when it can be. Every change is made as "采集：<source name>" (no user), so each entry version
and audit row says where it came from.

`process` decides an item's outcome; `base` keeps the GUID table, the item rows and the
commits. Nothing here commits; the steps that may fail on their own (the entry's write, each
file, publishing) run in savepoints, so a file that fails leaves the entry as it was written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import catalog, open_review
from portal.authz import OPEN_CATALOG
from portal.errors import Invalid, PortalError
from portal.files import FileStore
from portal.models import Department, Entry, HarvestRecord, HarvestSource
from portal.release import release_problems
from portal.resources import clear_file
from portal.vocab import EntryStatus

from . import preview
from .fetch import Fetcher
from .mapping import Mapped, MappingError, map_record
from .records import RemoteRecord
from .resource_files import harvest_files

IMPORTED_REVIEW = "采集来源“{source}”已审查并声明该开放属性，按已审查记录；文件扫描结果见本记录"
INHERITED_CLEARANCE = "采集来源“{source}”（{url}）已向社会公开此文件，个人信息的公开依据以来源平台的记录为准（采集时继承）"


@dataclass
class Context:
    """What every item of a job needs."""

    session: Session
    source: HarvestSource
    settings: dict[str, Any]
    store: FileStore
    fetcher: Fetcher
    clock: Callable[[], datetime]
    org_map: dict[str, Department]
    dry_run: bool = False

    @property
    def actor_name(self) -> str:
        return f"采集：{self.source.name}"[:100]


@dataclass
class Outcome:
    """What became of one record: the item's status, stage and error, and what the GUID table
    keeps (`content_hash` "" makes the next job look at the record again)."""

    status: str
    stage: str = ""
    error: str = ""
    entry: Entry | None = None
    details: dict[str, Any] = field(default_factory=dict)
    content_hash: str = ""


def process(ctx: Context, record: RemoteRecord, known: HarvestRecord | None) -> Outcome:
    """The outcome of `record` (the GUID table's row for it, if any), written unless a dry run."""
    digest = record.content_hash()
    entry = known.entry if known is not None else None
    restoring = known is not None and known.archived_at is not None
    if entry is not None and known is not None and known.content_hash == digest and not restoring:
        return Outcome("unchanged", entry=entry, content_hash=digest)
    try:
        mapped = map_record(ctx.session, ctx.source, record, ctx.org_map)
    except MappingError as error:
        return Outcome("failed", error.stage, error.message, entry=entry)
    if entry is not None and not mapped.items_declared:
        mapped.fields = replace(mapped.fields, items=preview.current_items(entry))
    if ctx.dry_run:
        return _preview(ctx, mapped, entry, restoring, digest)
    return _write(ctx, mapped, entry, restoring, digest)


def _preview(ctx: Context, mapped: Mapped, entry: Entry | None, restoring: bool, digest: str) -> Outcome:
    resources = [r.name or r.url for r in mapped.resources]
    if entry is None:
        summary = {"fields": preview.summary(mapped.fields), "department": mapped.department.name, "resources": resources}
        return Outcome("added", details=summary, content_hash=digest)
    changed = preview.changes(ctx.session, entry, mapped.fields)
    details: dict[str, Any] = {"changes": changed, "resources": resources}
    if restoring:
        details["restored"] = True
    return Outcome("updated" if changed or restoring else "unchanged", entry=entry, details=details, content_hash=digest)


def _free(ctx: Context, column: Any, value: str | None) -> str | None:
    if value and ctx.session.scalar(select(Entry.id).where(column == value)) is None:
        return value
    return None


def _write(ctx: Context, mapped: Mapped, entry: Entry | None, restoring: bool, digest: str) -> Outcome:
    session, now = ctx.session, ctx.clock()
    details: dict[str, Any] = {}
    version = entry.version if entry is not None else 0
    try:
        with session.begin_nested():
            if entry is None:
                entry = catalog.create_entry(
                    session, department=mapped.department, fields=mapped.fields, actor=None, actor_name=ctx.actor_name, now=now,
                    slug=_free(ctx, Entry.slug, mapped.slug), resource_code=_free(ctx, Entry.resource_code, mapped.resource_code),
                )
                created = True
            else:
                details["changes"] = preview.changes(session, entry, mapped.fields)
                catalog.update_entry(session, entry, mapped.fields, actor=None, actor_name=ctx.actor_name, now=now)
                created = False
                if entry.department_id != mapped.department.id:
                    details["notes"] = [f"来源的部门已变为“{mapped.department.name}”，本平台的提供方未改变（须由区数据资源局调整）"]
    except PortalError as error:
        return Outcome("failed", "write", error.message, entry=entry)
    notes: list[str] = details.setdefault("notes", [])
    failures: list[str] = []
    if ctx.settings.get("download_resources", True):
        files = harvest_files(ctx, entry, mapped.resources)
        failures += files.failures
        notes += files.notes
        if files.added:
            details["files"] = files.added
        if files.removed:
            details["removed_files"] = files.removed
    _settle_open_type(ctx, mapped, entry, notes)
    _publish(ctx, entry, restoring, notes)
    if not notes:
        details.pop("notes")
    status = "added" if created else ("updated" if restoring or entry.version != version else "unchanged")
    if restoring:
        details["restored"] = True
    if failures:
        details["entry"] = status
        return Outcome("failed", "resource", "；".join(failures), entry=entry, details=details)
    if status == "unchanged":
        details.pop("changes", None)
    return Outcome(status, entry=entry, details=details, content_hash=digest)


def _settle_open_type(ctx: Context, mapped: Mapped, entry: Entry, notes: list[str]) -> None:
    """A trusted source's declared open type takes effect as reviewed (personal information in
    its public files recorded as cleared on its decision when `trust_clearance`); otherwise a
    proposal waits for the reviewers."""
    review = open_review.pending(ctx.session, entry)
    if review is None:
        return
    trusted = bool(ctx.settings.get("trust_open_type")) and mapped.open_declared and review.proposed in OPEN_CATALOG
    if not trusted:
        notes.append(f"开放类型“{review.proposed.label}”已提交政务公开审查，审查同意前不进入开放目录")
        return
    now = ctx.clock()
    with ctx.session.begin_nested():
        if ctx.settings.get("trust_clearance"):
            note = INHERITED_CLEARANCE.format(source=ctx.source.title or ctx.source.name, url=ctx.source.url)
            for record in entry.files:
                if record.findings and not record.clearance and record.valid:
                    clear_file(ctx.session, record, basis="public_interest", note=note, actor=None, now=now, actor_name=ctx.actor_name)
        open_review.record_imported(
            ctx.session, entry, conclusion=IMPORTED_REVIEW.format(source=ctx.source.title or ctx.source.name),
            actor_name=ctx.actor_name, now=now,
        )
    if open_review.pending(ctx.session, entry) is not None:
        problems = release_problems(entry, review.proposed)
        notes.append("开放类型待政务公开审查：" + "；".join(problems))


def _publish(ctx: Context, entry: Entry, restoring: bool, notes: list[str]) -> None:
    """Publish a draft (or restore an archived entry) when it can be; note why not."""
    wanted = (restoring and entry.status == EntryStatus.WITHDRAWN) or (
        bool(ctx.settings.get("publish", True)) and entry.status == EntryStatus.DRAFT
    )
    if not wanted:
        return
    if not entry.items:
        notes.append("未发布：来源没有给出信息项，也没有可读出信息项的表格文件")
        return
    if problems := release_problems(entry):
        notes.append("未发布：" + "；".join(problems))
        return
    try:
        with ctx.session.begin_nested():
            catalog.publish_entry(ctx.session, entry, actor=None, now=ctx.clock(), actor_name=ctx.actor_name)
    except Invalid as refused:
        notes.append("未发布：" + refused.message)


def withdraw(ctx: Context, entry: Entry) -> None:
    """Archive: take the entry out of the published catalog (it stays with its department)."""
    catalog.withdraw_entry(ctx.session, entry, actor=None, now=ctx.clock(), actor_name=ctx.actor_name)
