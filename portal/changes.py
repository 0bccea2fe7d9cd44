"""The incremental change feed: which entries a viewer sees were created, changed or removed
since a point, from the entries' versions (`EntryVersion`).

One item per entry, at the entry's latest relevant version, in the order the versions were
written; a cursor continues where the last page ended, and the cursor of the last page is where
the next poll starts. Kinds:

- "created": the viewer sees the entry now and did not at the starting point (a new entry, or
  one newly published, approved for the open catalog, or shared);
- "changed": the viewer saw it at the starting point and still does;
- "removed": the viewer saw it at some time after the starting point (or at it) and no longer
  does (withdrawn, closed, no longer shared). Only the entry's id and resource code are given:
  nothing of what the entry has become.

What is safe: an entry the viewer never saw after the starting point is not mentioned at all,
not even as removed; what the viewer saw at each version is worked out by undoing the versions'
recorded changes of status, share type and open type from the entry as it is now, and asking
`authz.can` of each state. Items carry no actor, no field values and no version numbers (which
are the public's only through the history page, where the owner and the auditor read them).
Cursors are sealed (encrypted with a key from the app's secret), so they do not tell how many
versions hidden entries had between two items either.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .authz import Action, can
from .errors import Invalid
from .models import Entry, EntryVersion, User
from .vocab import EntryStatus, OpenType, ShareType

LIMIT = 100
MAX_LIMIT = 1000
# Fields whose changes decide visibility, with their vocabulary (versions record labels).
VISIBILITY_FIELDS = {"status": EntryStatus, "share_type": ShareType, "open_type": OpenType}
ACTIONS = {  # EntryVersion.action -> what the feed calls it
    "create": "created",
    "update": "changed",
    "file": "files-changed",
    "publish": "published",
    "withdraw": "withdrawn",
    "review": "review-approved",
}


@dataclass(frozen=True)
class State:
    """What visibility depends on, at one moment of an entry's life."""

    department_id: int
    status: EntryStatus
    share_type: ShareType
    open_type: OpenType


@dataclass(frozen=True)
class Change:
    kind: str  # created | changed | removed
    at: datetime  # when the version that put the entry here was written
    position: int  # the version's id: the feed's order
    entry: Entry  # for "removed", only `id` and `resource_code` may be shown
    action: str | None  # what that version did (ACTIONS), None for "removed"


@dataclass(frozen=True)
class ChangePage:
    changes: list[Change]
    cursor: int  # where the next request continues (a sealed form of it goes to the client)
    has_more: bool


def _state(entry: Entry) -> State:
    return State(entry.department_id, entry.status, entry.share_type, entry.open_type)


def _before(state: State, version: Any) -> State | None:
    """The state before `version`, undoing its recorded changes (None: the entry did not exist)."""
    if version.action == "create":
        return None
    values: dict[str, Any] = {}
    for change in version.changes or []:
        vocabulary = VISIBILITY_FIELDS.get(change.get("field", ""))
        if vocabulary is None:
            continue
        try:
            values[change["field"]] = vocabulary.parse(change.get("old", ""))
        except ValueError:
            continue  # not recorded in a readable form: assume unchanged
    return State(
        state.department_id,
        values.get("status", state.status),
        values.get("share_type", state.share_type),
        values.get("open_type", state.open_type),
    )


def _visible(viewer: User | None, state: State | None) -> bool:
    return state is not None and can(viewer, Action.VIEW_ENTRY, state)


def _change_of(viewer: User | None, entry: Entry, versions: list[Any]) -> Change | None:
    """The item of `entry` given its versions after the starting point (oldest first), if any."""
    now_visible = can(viewer, Action.VIEW_ENTRY, entry)
    state: State | None = _state(entry)
    removal: Any = None
    for version in reversed(versions):
        after = state
        state = _before(after, version) if after is not None else None
        if removal is None and _visible(viewer, state) and not _visible(viewer, after):
            removal = version
    if now_visible:
        last = versions[-1]
        kind = "changed" if _visible(viewer, state) else "created"
        return Change(kind, last.at, last.id, entry, ACTIONS.get(last.action, "changed"))
    if removal is not None:
        return Change("removed", removal.at, removal.id, entry, None)
    return None


def changes_since(
    session: Session, viewer: User | None, *, since: datetime | None = None, cursor: int | None = None, limit: int = LIMIT,
) -> ChangePage:
    """The changes `viewer` may know of after `cursor` (a position from an earlier page), else
    after the time `since`, else from the beginning; at most `limit` items, oldest first."""
    newest = session.scalar(select(func.max(EntryVersion.id))) or 0
    if cursor is not None:
        after = EntryVersion.id > cursor
    elif since is not None:
        after = EntryVersion.at > since
    else:
        after = EntryVersion.id > 0
    versions: dict[int, list[Any]] = {}
    columns = (EntryVersion.id, EntryVersion.entry_id, EntryVersion.at, EntryVersion.action, EntryVersion.changes)
    for version in session.execute(select(*columns).where(after, EntryVersion.id <= newest).order_by(EntryVersion.id)):
        versions.setdefault(version.entry_id, []).append(version)
    entries = session.scalars(select(Entry).where(Entry.id.in_(select(EntryVersion.entry_id).where(after, EntryVersion.id <= newest))))
    found = [change for entry in entries if (change := _change_of(viewer, entry, versions.get(entry.id, [])))]
    found.sort(key=lambda change: change.position)
    if len(found) > limit:
        return ChangePage(found[:limit], found[limit - 1].position, True)
    return ChangePage(found, max(newest, cursor or 0), False)


# -- cursors --------------------------------------------------------------------------------


def _fernet(secret: str | bytes) -> Fernet:
    raw = secret.encode("utf-8") if isinstance(secret, str) else secret
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"portal change feed cursor\0" + raw).digest()))


def seal_cursor(position: int, secret: str | bytes) -> str:
    """`position` as an opaque token for the client."""
    return _fernet(secret).encrypt(str(position).encode("ascii")).decode("ascii")


def open_cursor(token: str, secret: str | bytes) -> int:
    """The position a token from `seal_cursor` holds; Invalid if it is not one."""
    try:
        text = _fernet(secret).decrypt(token.strip().encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError, ValueError):
        raise Invalid({"cursor": "cursor 无效或已过期，请用 since 参数重新开始"}) from None
    if not text.isdigit():
        raise Invalid({"cursor": "cursor 无效"})
    return int(text)


def parse_limit(text: str | None) -> int:
    try:
        limit = int(text or LIMIT)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid({"limit": f"limit 应为 1 到 {MAX_LIMIT} 之间的整数"})
    return limit
