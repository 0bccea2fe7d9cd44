"""What of an entry's data a viewer receives: data items can be less shared or less open than
their entry (信息项级共享/开放属性), and those columns are removed from every preview and
download for viewers who get the data only through the entry's attributes; and files not yet
releasable (`release`) are shown only to their department.
"""

from __future__ import annotations

from .authz import Action, can
from .models import Entry, EntryFile, User
from .release import file_problems
from .vocab import DEPARTMENT_ROLES, EntryStatus, OpenType, Role, ShareType


def hidden_columns(user: User | None, entry: Entry) -> set[str]:
    """Field names of `entry` that `user` may not receive (empty for the owner and the Bureau)."""
    if sees_all_files(user, entry):
        return set()
    hidden = set()
    for item in entry.items:
        open_ok = (item.open_type or entry.open_type) == OpenType.OPEN
        share_ok = user is not None and user.role in DEPARTMENT_ROLES and (item.share_type or entry.share_type) == ShareType.UNCONDITIONAL
        if not (open_ok or share_ok):
            hidden.add(item.name)
    return hidden if can(user, Action.DOWNLOAD, entry) else {item.name for item in entry.items}


def beyond_public(user: User | None, entry: Entry) -> bool:
    """Whether `user` receives data of `entry` that the public does not (an access the audit
    trail records): the entry is not open to all, or the viewer gets columns the public does not."""
    if entry.status != EntryStatus.PUBLISHED or entry.open_type != OpenType.OPEN:
        return True
    return bool(hidden_columns(None, entry) - hidden_columns(user, entry))


def project_rows(header: list[str], rows: list[list[str]], hidden: set[str]) -> tuple[list[str], list[list[str]]]:
    keep = [i for i, name in enumerate(header) if name not in hidden]
    return [header[i] for i in keep], [[row[i] for i in keep if i < len(row)] for row in rows]


def sees_all_files(user: User | None, entry: Entry) -> bool:
    """The owning department and the Bureau see every file, including those not yet releasable."""
    return user is not None and (user.role == Role.BUREAU or (user.role in DEPARTMENT_ROLES and user.department_id == entry.department_id))


def released_files(user: User | None, entry: Entry) -> list[EntryFile]:
    """The current files of `entry` that `user` may see and download: files that failed
    validation or hold personal information not yet dealt with stay with their department."""
    if sees_all_files(user, entry):
        return list(entry.files)
    return [f for f in entry.files if not file_problems(f)]
