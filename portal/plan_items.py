"""The items of an open-data plan (开放计划, Art. 17): what a department plans to open, entry by
entry, and how the form's rows become valid items.

An item names an entry of the plan's department (by id, resource code or exact title) or, for
an entry still to be created, its planned title; a target open type (无条件开放 or 依申请开放:
依法不予开放 is no target) the entry can legally reach; and a target date within the plan's year
or later. `build_items` checks a whole list and reports Chinese errors per row and field;
`portal.plans` owns the plan itself, its workflow and the audit rows. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Department, Entry, PlanItem
from .vocab import OpenType, SecurityLevel

TARGET_TYPES = (OpenType.OPEN, OpenType.ON_APPLICATION)  # planning to open: 依法不予开放 is no target
MAX_ITEMS = 200


@dataclass(frozen=True)
class ItemInput:
    """One item as the form gives it. `entry` names an entry of the plan's department by id or
    resource code (or its exact title); leave it empty and give `planned_title` for an entry
    still to be created. Strings are accepted for the open type (value or label) and the date
    (ISO)."""

    entry: int | str | None = None
    planned_title: str = ""
    target_open_type: OpenType | str | None = None
    target_date: date | str | None = None
    note: str = ""


def find_entry(session: Session, department: Department, ref: int | str | None) -> Entry | None:
    """The entry `ref` names: an id, a resource code, or else an exact title unique within
    `department`. Any department's entry by id or code (the caller checks the department)."""
    text = str(ref if ref is not None else "").strip()
    if not text:
        return None
    if text.isascii() and text.isdigit() and len(text) < 10:
        return session.get(Entry, int(text))
    found = session.scalar(select(Entry).where(Entry.resource_code == text))
    if found is None:
        titled = session.scalars(select(Entry).where(Entry.department_id == department.id, Entry.title == text).limit(2)).all()
        found = titled[0] if len(titled) == 1 else None
    return found


def why_unopenable(entry: Entry, target: OpenType) -> str:
    """Why `entry` can never reach `target` (Art. 16, 23), or ""."""
    if entry.security_level in (SecurityLevel.IMPORTANT, SecurityLevel.CORE):
        return "该目录条目为重要数据或核心数据，只能依法不予开放"
    if entry.personal_information and target == OpenType.OPEN:
        return "该目录条目含个人信息，不能无条件开放（第十六条）"
    return ""


def _parse_date(value: date | str | None) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None


def _parse_type(value: OpenType | str | None) -> OpenType | None:
    if isinstance(value, OpenType):
        return value
    try:
        return OpenType.parse(value or "")
    except ValueError:
        return None


def build_items(session: Session, department: Department, year: int, items: Sequence[ItemInput], errors: dict[str, str]) -> list[PlanItem]:
    """Validated, unattached items; Chinese errors by "items.<n>.<field>" (n from 1) into `errors`."""
    if len(items) > MAX_ITEMS:
        errors["items"] = f"一个计划最多列出{MAX_ITEMS}项"
        return []
    built: list[PlanItem] = []
    seen: dict[int, int] = {}
    for n, given in enumerate(items, start=1):
        key = f"items.{n}"
        ref = str(given.entry if given.entry is not None else "").strip()
        planned = given.planned_title.strip()
        target = _parse_type(given.target_open_type)
        entry = find_entry(session, department, ref) if ref else None
        if ref and entry is None:
            errors[f"{key}.entry"] = f"第{n}项：没有找到目录条目“{ref[:60]}”"
        elif entry is not None and entry.department_id != department.id:
            errors[f"{key}.entry"] = f"第{n}项：目录条目不属于本部门"
        elif entry is not None and entry.id in seen:
            errors[f"{key}.entry"] = f"第{n}项：该目录条目已列在第{seen[entry.id]}项"
        elif entry is not None and target is not None and (why := why_unopenable(entry, target)):
            errors[f"{key}.entry"] = f"第{n}项：{why}"
        elif not ref and not planned:
            errors[f"{key}.entry"] = f"第{n}项：请选择本部门的目录条目，或填写拟新建的数据资源名称"
        if len(planned) > 200:
            errors[f"{key}.planned_title"] = f"第{n}项：数据资源名称不能超过200个字"
        if target is None:
            errors[f"{key}.target_open_type"] = f"第{n}项：请选择目标开放类型"
        elif target not in TARGET_TYPES:
            errors[f"{key}.target_open_type"] = f"第{n}项：目标开放类型只能是无条件开放或依申请开放"
        when = _parse_date(given.target_date)
        if when is None:
            errors[f"{key}.target_date"] = f"第{n}项：请填写计划完成日期"
        elif when.year < year:
            errors[f"{key}.target_date"] = f"第{n}项：计划完成日期应在{year}年内或之后"
        if len(given.note) > 2000:
            errors[f"{key}.note"] = f"第{n}项：备注不能超过2000个字"
        if entry is not None:
            seen.setdefault(entry.id, n)
        if target is not None and when is not None:
            built.append(PlanItem(
                position=n - 1, entry_id=entry.id if entry is not None else None, planned_title=planned[:200],
                target_open_type=target, target_date=when, note=given.note.strip(),
            ))
    return built


def plannable_entries(session: Session, department: Department) -> list[Entry]:
    """The department's entries a plan item may name (the picker's choices)."""
    return list(session.scalars(select(Entry).where(Entry.department_id == department.id).order_by(Entry.resource_code)))
