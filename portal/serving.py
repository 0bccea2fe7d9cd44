"""What of an entry's data a viewer receives: data items can be less shared or less open than
their entry (信息项级共享/开放属性), and those columns are removed from every preview and
download for viewers who get the data only through the entry's attributes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from .authz import Action, can
from .files import detect_encoding, python_encoding
from .models import Entry, User
from .vocab import DEPARTMENT_ROLES, OpenType, Role, ShareType


def hidden_columns(user: User | None, entry: Entry) -> set[str]:
    """Field names of `entry` that `user` may not receive (empty for the owner and the Bureau)."""
    if user is not None and (user.role == Role.BUREAU or (user.role in DEPARTMENT_ROLES and user.department_id == entry.department_id)):
        return set()
    hidden = set()
    for item in entry.items:
        open_ok = (item.open_type or entry.open_type) == OpenType.OPEN
        share_ok = user is not None and user.role in DEPARTMENT_ROLES and (item.share_type or entry.share_type) == ShareType.UNCONDITIONAL
        if not (open_ok or share_ok):
            hidden.add(item.name)
    return hidden if can(user, Action.DOWNLOAD, entry) else {item.name for item in entry.items}


def project_rows(header: list[str], rows: list[list[str]], hidden: set[str]) -> tuple[list[str], list[list[str]]]:
    keep = [i for i, name in enumerate(header) if name not in hidden]
    return [header[i] for i in keep], [[row[i] for i in keep if i < len(row)] for row in rows]


def projected_csv(path: Path, *, encoding: str | None, delimiter: str, hidden: set[str]) -> Iterator[bytes]:
    """The CSV at `path` without the `hidden` columns, re-encoded as UTF-8, streamed row by row."""
    codec = python_encoding(encoding) if encoding else (detect_encoding(path) or "gb18030")
    with open(path, "rb") as raw:
        reader = csv.reader(io.TextIOWrapper(raw, encoding=codec, errors="replace", newline=""), delimiter=delimiter)
        header = next(reader, [])
        keep = [i for i, name in enumerate(header) if name not in hidden]
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
        writer.writerow([header[i] for i in keep])
        for number, row in enumerate(reader, start=1):
            writer.writerow([row[i] for i in keep if i < len(row)])
            if number % 500 == 0:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode("utf-8")
