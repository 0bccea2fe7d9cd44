"""What keeps a resource file from release (Art. 16, 23): data that failed validation, and
personal information found by the scan that has not been masked nor covered by a recorded
consent of the right holder or public-interest decision.

A file with problems stays with its department (a draft of the data): it is withheld from every
other viewer, and an entry in the open catalog cannot be published while one of its files has
problems, unless a masked copy of that file takes its place.
"""

from __future__ import annotations

from .authz import OPEN_CATALOG
from .models import Entry, EntryFile
from .vocab import N_, OpenType

CLEARANCES = {
    "masked": N_("已脱敏"),
    "consent": N_("已取得权利人同意"),
    "public_interest": N_("已作出公共利益决定"),
}


def closed_columns(entry: Entry, open_type: OpenType | None = None) -> set[str]:
    """Field names of data items that are never released to the public (their own open type
    is narrower than 无条件开放): personal information found only there is not released either.
    `open_type` is the entry's type to judge by (the one in effect unless given: a reviewer
    judges by the proposed one)."""
    return {i.name for i in entry.items if (i.open_type or open_type or entry.open_type) != OpenType.OPEN}


def file_problems(record: EntryFile, open_type: OpenType | None = None) -> list[str]:
    """Why `record` may not be released, in Chinese; empty when it may."""
    problems = []
    if not record.valid:
        count = (record.report or {}).get("error_count", 0)
        problems.append(f"数据未通过校验（{count} 个错误）")
    closed = closed_columns(record.entry, open_type)
    exposed = [f for f in record.findings or [] if f["column"] not in closed]
    if exposed and not record.clearance:
        kinds = "、".join(dict.fromkeys(f["label"] for f in exposed))
        problems.append(f"发现个人信息（{kinds}），须先脱敏或记录权利人同意、公共利益决定")
    return problems


def masked_copy(record: EntryFile, files: list[EntryFile]) -> EntryFile | None:
    """The current masked copy of `record` among `files`, if it has one."""
    return next((f for f in files if f.derived_from_id == record.id and f.clearance == "masked"), None)


def release_problems(entry: Entry, open_type: OpenType | None = None) -> list[str]:
    """What stops `entry` from being released to the open catalog as `open_type` (the type in
    effect unless given); empty when nothing does, and always empty outside the open catalog."""
    open_type = open_type or entry.open_type
    if open_type not in OPEN_CATALOG:
        return []
    problems = []
    for record in entry.files:
        found = file_problems(record, open_type)
        copy = masked_copy(record, entry.files)
        if found and record.valid and copy is not None and not file_problems(copy, open_type):
            continue  # the masked copy is what the public gets
        problems += [f"{record.name}：{problem}" for problem in found]
    return problems
