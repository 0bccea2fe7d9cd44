"""The catalog's entries: creation, editing, publishing, files and history.

Input is checked by `entry_input.parse_entry` (re-exported here). Every change goes through
`_record`, which writes an `EntryVersion` with the fields that changed, in the same transaction
as the change.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import adjustments, audit, open_review
from .authz import OPEN_CATALOG
from .entry_input import (
    FIELD_LABELS,
    RESOURCE_CODE,
    SLUG,
    EntryFields,
    ItemFields,
    entry_warnings,
    is_base_library,
    parse_entry,
)
from .errors import Invalid
from .release import CLEARANCES, release_problems
from .models import DataItem, Department, Entry, EntryFile, EntryVersion, User
from .vocab import N_, EntryStatus, OpenType

__all__ = [  # the catalog's public names, including those of entry_input
    "FIELD_LABELS", "EntryFields", "ItemFields", "create_entry", "entry_history",
    "entry_warnings", "is_base_library", "next_resource_code", "parse_entry", "publish_entry", "record_change", "snapshot",
    "update_entry", "withdraw_entry",
]


# -- writing -------------------------------------------------------------------------------


def next_resource_code(session: Session, classification_code: str) -> str:
    """The classification code followed by the next free six-digit sequence number."""
    codes = session.scalars(select(Entry.resource_code).where(Entry.classification_code == classification_code))
    numbers = [int(m.group(2)) for c in codes if (m := RESOURCE_CODE.fullmatch(c))]
    return f"{classification_code}/{max(numbers, default=0) + 1:06d}"


def create_entry(
    session: Session,
    *,
    department: Department,
    fields: EntryFields,
    actor: User | None,
    now: datetime,
    actor_name: str = "",
    slug: str | None = None,
    resource_code: str | None = None,
    status: EntryStatus = EntryStatus.DRAFT,
) -> Entry:
    """Add an entry to `department`'s catalog, as a draft unless told otherwise."""
    code = resource_code or next_resource_code(session, fields.classification_code)
    errors = {}
    if not RESOURCE_CODE.fullmatch(code) or not code.startswith(fields.classification_code + "/"):
        errors["resource_code"] = N_("资源代码应为“分类代码/6位顺序号”")
    elif session.scalar(select(Entry.id).where(Entry.resource_code == code)):
        errors["resource_code"] = f"资源代码 {code} 已被使用"
    slug = slug or code.replace("/", "-")
    if not SLUG.fullmatch(slug):
        errors["slug"] = N_("标识只能包含小写字母、数字和连字符")
    elif session.scalar(select(Entry.id).where(Entry.slug == slug)):
        errors["slug"] = f"标识 {slug} 已被使用"
    if errors:
        raise Invalid(errors)
    entry = Entry(slug=slug, resource_code=code, department=department, status=status, created_at=now, updated_at=now, version=0)
    session.add(entry)
    _assign(entry, fields)
    if fields.open_type in OPEN_CATALOG:  # in effect only once reviewed (`open_review`)
        entry.open_type, entry.open_condition = OpenType.CLOSED, ""
    if status == EntryStatus.PUBLISHED and entry.publish_date is None:
        entry.publish_date = now.date()
    session.flush()
    _record(session, entry, action="create", changes=_diff({}, snapshot(entry)), actor=actor, actor_name=actor_name, now=now)
    open_review.file_proposal(session, entry, fields.open_type, fields.open_condition, actor=actor, actor_name=actor_name, now=now)
    return entry


def update_entry(session: Session, entry: Entry, fields: EntryFields, *, actor: User | None, now: datetime, actor_name: str = "") -> bool:
    """Apply `fields` to `entry`; records a version and returns True only if anything changed.
    An open type that needs review is not applied but proposed to the reviewers (`open_review`),
    which counts as a change."""
    before = snapshot(entry)
    in_effect = entry.open_type, entry.open_condition
    held = open_review.needs_review(entry, fields.open_type, fields.open_condition)
    proposal = open_review.pending(session, entry)
    _assign(entry, fields)
    if held:
        entry.open_type, entry.open_condition = in_effect
    changes = _diff(before, snapshot(entry))
    if held and entry.status == EntryStatus.PUBLISHED and (problems := release_problems(entry, fields.open_type)):
        raise Invalid({"open_type": "资源已发布，改为开放前须先处理其文件：" + "；".join(problems)})
    if changes:
        entry.updated_at = now
        session.flush()
        _record(session, entry, action="update", changes=changes, actor=actor, actor_name=actor_name, now=now)
    proposed = open_review.file_proposal(session, entry, fields.open_type, fields.open_condition, actor=actor, actor_name=actor_name, now=now)
    return bool(changes) or proposed is not proposal


def publish_entry(session: Session, entry: Entry, *, actor: User | None, now: datetime, actor_name: str = "") -> None:
    """Release an entry into the catalog; it then shows in the share and open catalogs by its attributes."""
    if entry.status == EntryStatus.PUBLISHED:
        return  # a repeated click changes nothing
    if not entry.items:
        raise Invalid({"items": N_("发布前须至少登记一个信息项")})
    if problems := release_problems(entry):
        raise Invalid({"files": "不能发布到开放目录：" + "；".join(problems)})
    before = snapshot(entry)
    entry.status = EntryStatus.PUBLISHED
    entry.publish_date = entry.publish_date or now.date()
    entry.updated_at = now
    _record(session, entry, action="publish", changes=_diff(before, snapshot(entry)), actor=actor, now=now, actor_name=actor_name)


def withdraw_entry(session: Session, entry: Entry, *, actor: User | None, now: datetime, actor_name: str = "") -> None:
    """Take an entry out of the published catalog; it stays in its department's list."""
    if entry.status != EntryStatus.PUBLISHED:
        return
    before = snapshot(entry)
    entry.status = EntryStatus.WITHDRAWN
    entry.updated_at = now
    _record(session, entry, action="withdraw", changes=_diff(before, snapshot(entry)), actor=actor, now=now, actor_name=actor_name)


def _assign(entry: Entry, fields: EntryFields) -> None:
    values = asdict(fields)
    items = values.pop("items")
    for key, value in values.items():
        setattr(entry, key, value)
    current = {item.name: item for item in entry.items}
    entry.items = []
    for position, item in enumerate(items):
        row = current.pop(item["name"], None) or DataItem()
        for key, value in item.items():
            setattr(row, key, value)
        row.position = position
        entry.items.append(row)


# -- history -------------------------------------------------------------------------------


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if hasattr(value, "label"):
        return value.label
    if isinstance(value, (list, tuple)):
        return "、".join(map(str, value))
    return str(value)


def _show_item(item: DataItem) -> str:
    parts = [item.name, item.title, item.data_type.value, str(item.length or ""), item.description]
    if item.share_type or item.open_type:
        parts += [_show(item.share_type), _show(item.open_type)]
    if item.constraints:
        parts.append(json.dumps(item.constraints, ensure_ascii=False, sort_keys=True))
    return " | ".join(parts)


def _show_file(record: EntryFile) -> str:
    shown = f"{record.name} ({record.sha256[:12]})"
    if record.clearance:
        shown += f" [{CLEARANCES[record.clearance]}：{record.clearance_note}]"
    return shown


def snapshot(entry: Entry) -> dict[str, str]:
    """The entry as display strings by field, for comparing two versions."""
    values = {key: _show(getattr(entry, key)) for key in FIELD_LABELS if key not in ("items", "files", "department")}
    values["department"] = entry.department.name if entry.department else ""
    values["items"] = "\n".join(_show_item(i) for i in entry.items)
    values["files"] = "\n".join(_show_file(f) for f in entry.files)
    return values


def _diff(before: dict[str, str], after: dict[str, str]) -> list[dict[str, str]]:
    return [
        {"field": key, "old": before.get(key, ""), "new": after.get(key, "")}
        for key in FIELD_LABELS
        if before.get(key, "") != after.get(key, "")
    ]


def record_change(session: Session, entry: Entry, *, action: str, before: dict[str, str], actor: User | None, now: datetime, actor_name: str = "") -> bool:
    """Record a version of `entry` with what changed since `before` (a `snapshot`); False when nothing did."""
    session.flush()
    session.expire(entry, ["files"])
    changes = _diff(before, snapshot(entry))
    if changes:
        _record(session, entry, action=action, changes=changes, actor=actor, actor_name=actor_name, now=now)
    return bool(changes)


def _record(session: Session, entry: Entry, *, action: str, changes: list[dict[str, str]], actor: User | None, now: datetime, actor_name: str = "") -> None:
    entry.version += 1
    session.add(
        EntryVersion(
            entry_id=entry.id,
            number=entry.version,
            user_id=actor.id if actor else None,
            actor=actor.display_name if actor else actor_name or "系统",
            at=now,
            action=action,
            changes=changes,
        )
    )
    audit.record(
        session, action=f"entry:{action}", actor=actor, actor_name=actor_name, now=now,
        target=f"{entry.resource_code} {entry.title}", details={"version": entry.version, "fields": [c["field"] for c in changes]},
    )
    session.flush()
    adjustments.close_for_entry(session, entry, now=now)  # an adjustment naming it may now be done (Art. 10)


def entry_history(session: Session, entry: Entry) -> list[EntryVersion]:
    return list(session.scalars(select(EntryVersion).where(EntryVersion.entry_id == entry.id).order_by(EntryVersion.number.desc())))
