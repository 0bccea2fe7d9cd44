"""The authorization matrix: role x action x ownership x entry attributes, written out."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from portal.authz import Action, can
from portal.vocab import EntryStatus, OpenType, Role, ShareType

A, B = 1, 2  # department ids


@dataclass
class U:
    role: Role
    department_id: int | None = None


@dataclass
class E:
    share_type: ShareType
    open_type: OpenType
    status: EntryStatus = EntryStatus.PUBLISHED
    department_id: int = A


@dataclass
class D:
    id: int


USERS = {
    "anonymous": None,
    "public": U(Role.PUBLIC),
    "auditor": U(Role.AUDITOR),
    "reviewer": U(Role.REVIEWER),
    "editor-own": U(Role.EDITOR, A),
    "editor-other": U(Role.EDITOR, B),
    "provider-own": U(Role.PROVIDER, A),
    "provider-other": U(Role.PROVIDER, B),
    "admin-own": U(Role.DEPT_ADMIN, A),
    "admin-other": U(Role.DEPT_ADMIN, B),
    "bureau": U(Role.BUREAU),
}

ENTRIES = {
    "open": E(ShareType.UNCONDITIONAL, OpenType.OPEN),
    "on-application": E(ShareType.CONDITIONAL, OpenType.ON_APPLICATION),
    "conditional-closed": E(ShareType.CONDITIONAL, OpenType.CLOSED),
    "not-shared": E(ShareType.NONE, OpenType.CLOSED),
    "unconditional-closed": E(ShareType.UNCONDITIONAL, OpenType.CLOSED),
    "draft": E(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.DRAFT),
    "withdrawn": E(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.WITHDRAWN),
}

# Letters: V view, D download, E edit, P publish, W withdraw, U upload, H history,
# C clear personal information (mask, consent, public interest); "-" no.
ACTIONS = "VDEPWUHC"
LETTER = {
    "V": Action.VIEW_ENTRY,
    "D": Action.DOWNLOAD,
    "E": Action.EDIT_ENTRY,
    "P": Action.PUBLISH_ENTRY,
    "W": Action.WITHDRAW_ENTRY,
    "U": Action.UPLOAD_FILE,
    "H": Action.VIEW_HISTORY,
    "C": Action.CLEAR_FILE,
}
# user -> entry -> allowed actions
MATRIX = {
    "anonymous": {"open": "VD", "on-application": "V", "conditional-closed": "", "not-shared": "", "unconditional-closed": "", "draft": "", "withdrawn": ""},
    "public": {"open": "VD", "on-application": "V", "conditional-closed": "", "not-shared": "", "unconditional-closed": "", "draft": "", "withdrawn": ""},
    "auditor": {"open": "VDH", "on-application": "VH", "conditional-closed": "H", "not-shared": "H", "unconditional-closed": "H", "draft": "H", "withdrawn": "H"},
    "reviewer": {"open": "VD", "on-application": "V", "conditional-closed": "V", "not-shared": "V", "unconditional-closed": "V", "draft": "", "withdrawn": ""},
    "editor-own": {e: "VDEUH" for e in ENTRIES},
    "provider-own": {e: "VDUHC" for e in ENTRIES},
    "admin-own": {e: "VDEPWUHC" for e in ENTRIES},
    "bureau": {e: "VDEPWUHC" for e in ENTRIES},
    **{
        other: {"open": "VD", "on-application": "V", "conditional-closed": "V", "not-shared": "", "unconditional-closed": "VD", "draft": "", "withdrawn": ""}
        for other in ("editor-other", "provider-other", "admin-other")
    },
}

CASES = [
    pytest.param(user, entry, letter, letter in MATRIX[user][entry], id=f"{user}-{entry}-{letter}")
    for user in USERS
    for entry in ENTRIES
    for letter in ACTIONS
]


@pytest.mark.parametrize("user, entry, letter, allowed", CASES)
def test_entry_matrix(user: str, entry: str, letter: str, allowed: bool) -> None:
    assert can(USERS[user], LETTER[letter], ENTRIES[entry]) is allowed  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "user, department, allowed",
    [
        ("anonymous", A, False),
        ("public", A, False),
        ("auditor", A, False),
        ("reviewer", A, False),
        ("editor-own", A, True),
        ("editor-own", B, False),
        ("provider-own", A, False),
        ("admin-own", A, True),
        ("admin-other", A, False),
        ("bureau", A, True),
        ("bureau", B, True),
    ],
)
def test_create_entry_in_department(user: str, department: int, allowed: bool) -> None:
    assert can(USERS[user], Action.CREATE_ENTRY, D(department)) is allowed  # type: ignore[arg-type]


@pytest.mark.parametrize("user, allowed", [("anonymous", False), ("public", False), ("editor-own", True), ("provider-own", False), ("bureau", True)])
def test_create_entry_anywhere(user: str, allowed: bool) -> None:
    """Without a department: may the user create entries at all (shows the "new" link)."""
    assert can(USERS[user], Action.CREATE_ENTRY) is allowed  # type: ignore[arg-type]


@pytest.mark.parametrize("user", USERS)
def test_only_the_auditor_reads_the_audit_trail(user: str) -> None:
    assert can(USERS[user], Action.READ_AUDIT) is (user == "auditor")  # type: ignore[arg-type]


def test_every_action_is_in_the_matrix() -> None:
    assert set(LETTER.values()) | {Action.CREATE_ENTRY, Action.READ_AUDIT} == set(Action)
