"""What a harvested record would change in its entry, as display strings by field: the details
of a dry run's items (and of an update's), compared the way the entry's history shows fields.
The open type compared is the one the department asked for (a pending proposal counts), so a
proposal awaiting review is not shown as a change again at every run."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from portal import open_review
from portal.entry_input import FIELD_LABELS, EntryFields, ItemFields
from portal.models import Department, Entry

COMPARED = [key for key in FIELD_LABELS if key in EntryFields.__dataclass_fields__]


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if hasattr(value, "label"):
        return str(value.label)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "、".join(map(str, value))
    return str(value)


def _item(item: Any) -> str:
    parts = [item.name, item.title, _show(item.data_type), str(item.length or ""), item.description or "",
             _show(item.share_type), _show(item.open_type)]
    if item.constraints:
        parts.append(json.dumps(item.constraints, ensure_ascii=False, sort_keys=True))
    return " | ".join(parts)


def field_values(fields: EntryFields, department: Department | None = None) -> dict[str, str]:
    """`fields` as display strings by field (the data items one per line)."""
    values = {key: _show(getattr(fields, key)) for key in COMPARED if key != "items"}
    values["items"] = "\n".join(_item(i) for i in fields.items)
    if department is not None:
        values["department"] = department.name
    return values


def entry_values(session: Session, entry: Entry) -> dict[str, str]:
    """`entry` as `field_values` shows fields, with the open type its department asked for."""
    values = {key: _show(getattr(entry, key)) for key in COMPARED if key != "items"}
    values["open_type"], values["open_condition"] = (_show(v) for v in open_review.proposed_open_type(session, entry))
    values["items"] = "\n".join(_item(i) for i in entry.items)
    values["department"] = entry.department.name if entry.department else ""
    return values


def changes(session: Session, entry: Entry, fields: EntryFields, department: Department | None = None) -> list[dict[str, str]]:
    """The fields `fields` would change in `entry`: [{field, label, old, new}]."""
    old, new = entry_values(session, entry), field_values(fields, department)
    return [
        {"field": key, "label": FIELD_LABELS.get(key, key), "old": old.get(key, ""), "new": value}
        for key, value in new.items()
        if old.get(key, "") != value
    ]


def current_items(entry: Entry) -> list[ItemFields]:
    """The entry's data items as fields (kept when a record does not list its own)."""
    return [
        ItemFields(i.title, i.name, i.data_type, i.length, i.description, i.share_type, i.open_type, dict(i.constraints or {}))
        for i in entry.items
    ]


def summary(fields: EntryFields) -> dict[str, Any]:
    """A new entry's fields for a dry run's details (JSON-safe display strings)."""
    values = field_values(fields)
    values["items"] = [asdict(i)["name"] for i in fields.items]  # type: ignore[assignment]
    return values
