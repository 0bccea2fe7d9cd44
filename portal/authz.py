"""Who may do what: one pure function, `can(user, action, obj)`.

Every view and command asks it on the server; templates ask it only to hide buttons. The
catalog's visibility query (`catalog.visible_clause`) expresses the same rule for
`Action.VIEW_ENTRY` in SQL, and a test checks the two agree for every role and entry.

The rules (Art. 12-18, 24):
- the Bureau (区数据资源局) may do everything;
- a department's editor, provider and administrator see every entry of their own department;
  editors and administrators compile its entries, providers and both others upload files,
  only the administrator publishes and withdraws; providers and administrators decide how
  personal information found in a file is dealt with (mask it, or record consent or a
  public-interest decision);
- other departments' staff see the share catalog (published entries not 不予共享) besides the
  open catalog, and download 无条件共享 entries directly;
- the disclosure reviewer sees every published entry (to review its open attribute);
- everyone, signed in or not, sees the open catalog (published, 无条件开放 or 依申请开放) and
  downloads 无条件开放 entries;
- the auditor reads every entry's change history and the audit trail, which nobody else reads
  (not even the Bureau, whose own actions it records), and otherwise sees only the open catalog.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from .vocab import DEPARTMENT_ROLES, EntryStatus, OpenType, Role, ShareType

OPEN_CATALOG = frozenset({OpenType.OPEN, OpenType.ON_APPLICATION})


class Action(StrEnum):
    VIEW_ENTRY = "entry:view"
    DOWNLOAD = "entry:download"
    CREATE_ENTRY = "entry:create"  # obj: the department the entry is created in
    EDIT_ENTRY = "entry:edit"
    PUBLISH_ENTRY = "entry:publish"
    WITHDRAW_ENTRY = "entry:withdraw"
    UPLOAD_FILE = "entry:upload"
    CLEAR_FILE = "entry:clear-personal-information"  # mask a file, or record consent / public interest
    READ_AUDIT = "audit:read"  # no object
    VIEW_HISTORY = "entry:history"


class Actor(Protocol):
    role: Role
    department_id: int | None


class EntryLike(Protocol):
    department_id: int
    status: EntryStatus
    share_type: ShareType
    open_type: OpenType


class DepartmentLike(Protocol):
    id: int


def _owns(user: Actor, department_id: int) -> bool:
    return user.role in DEPARTMENT_ROLES and user.department_id == department_id


def can(user: Actor | None, action: Action, obj: EntryLike | DepartmentLike | None = None) -> bool:
    """True when `user` (None for an anonymous visitor) may perform `action` on `obj`."""
    if action == Action.READ_AUDIT:  # separation of duties: the auditor, and not even the Bureau
        return user is not None and user.role == Role.AUDITOR
    if user is not None and user.role == Role.BUREAU:
        return True
    if action == Action.CREATE_ENTRY:
        return user is not None and user.role in {Role.EDITOR, Role.DEPT_ADMIN} and (
            obj is None or _owns(user, obj.id)  # type: ignore[union-attr]
        )
    if obj is None:
        return False
    entry: EntryLike = obj  # type: ignore[assignment]
    owner = user is not None and _owns(user, entry.department_id)
    published = entry.status == EntryStatus.PUBLISHED
    role = user.role if user is not None else None

    if action == Action.VIEW_ENTRY:
        if owner:
            return True
        if not published:
            return False
        if role == Role.REVIEWER:
            return True
        if role in DEPARTMENT_ROLES and entry.share_type != ShareType.NONE:
            return True
        return entry.open_type in OPEN_CATALOG
    if action == Action.DOWNLOAD:
        if owner:
            return True
        if not published:
            return False
        if role in DEPARTMENT_ROLES and entry.share_type == ShareType.UNCONDITIONAL:
            return True
        return entry.open_type == OpenType.OPEN
    if action == Action.EDIT_ENTRY:
        return owner and role in {Role.EDITOR, Role.DEPT_ADMIN}
    if action in (Action.PUBLISH_ENTRY, Action.WITHDRAW_ENTRY):
        return owner and role == Role.DEPT_ADMIN
    if action == Action.UPLOAD_FILE:
        return owner
    if action == Action.CLEAR_FILE:
        return owner and role in {Role.PROVIDER, Role.DEPT_ADMIN}
    if action == Action.VIEW_HISTORY:
        return owner or role == Role.AUDITOR
    return False
