"""Test helpers: valid codes, entry fields, a world of every role and entry kind, login, China's
clock, and users acting at once."""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from portal import open_review
from portal.accounts import create_department, create_user
from portal.catalog import EntryFields, ItemFields, create_entry
from portal.codes import USCC_CHARSET, org_code_check_char, uscc_check_char
from portal.db import make_sessionmaker
from portal.errors import Conflict
from portal.models import Department, Entry, User
from portal.vocab import (
    ClassificationKind,
    DataType,
    EntryStatus,
    FormatClass,
    OpenType,
    Role,
    SecurityLevel,
    ShareType,
    UpdateCycle,
)

ROOT = Path(__file__).parents[1]
NOW = datetime(2026, 11, 25, 9, 30, tzinfo=timezone.utc)
PASSWORD = "Zone-Test-Pass-2026"
CHINA = timezone(timedelta(hours=8))


def at(day: str, hour: int = 10) -> datetime:
    """`hour` o'clock of `day` (YYYY-MM-DD), China time."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=CHINA)


def make_uscc(n: int) -> str:
    """A valid unified social credit code of a government organ, distinct for each n."""
    body = f"{n:08d}"
    first16 = "11340172" + body
    first17 = first16 + org_code_check_char(body)
    assert all(c in USCC_CHARSET for c in first17)
    return first17 + uscc_check_char(first17)


def csrf_token(client: FlaskClient, url: str = "/login") -> str:
    page = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> None:
    response = client.post("/login", data={"login": username, "password": password, "csrf_token": csrf_token(client)})
    assert response.status_code == 302, response.get_data(as_text=True)


def entry_fields(**overrides: object) -> EntryFields:
    values: dict[str, object] = dict(
        title="测试数据资源",
        classification_kind=ClassificationKind.THEME,
        classification_path="生态环保/大气环境",
        classification_code="2050100",
        format_class=FormatClass.SPREADSHEET,
        format_type="CSV",
        share_type=ShareType.UNCONDITIONAL,
        open_type=OpenType.OPEN,
        update_cycle=UpdateCycle.DAILY,
        security_level=SecurityLevel.GENERAL,
        abstract="用于测试的数据资源。",
        items=[ItemFields("监测站点", "station", DataType.C, 50, "站点名称"), ItemFields("空气质量指数", "aqi", DataType.I)],
    )
    values.update(overrides)
    if values["share_type"] == ShareType.NONE and not values.get("legal_basis"):
        values["legal_basis"] = "《中华人民共和国个人信息保护法》第二十五条"
    if values["share_type"] == ShareType.CONDITIONAL and not values.get("share_condition"):
        values["share_condition"] = "仅限履行市场监管职责使用"
    if values["open_type"] == OpenType.ON_APPLICATION and not values.get("open_condition"):
        values["open_condition"] = "申请人须说明用途"
    return EntryFields(**values)  # type: ignore[arg-type]


@dataclass
class World:
    """Two departments (A owns every kind of entry, B owns one), and one user of every role."""

    dept_a: Department
    dept_b: Department
    users: dict[str, User]
    entries: list[Entry] = field(default_factory=list)

    def entry(self, share: ShareType, open_: OpenType, status: EntryStatus) -> Entry:
        return next(e for e in self.entries if (e.share_type, e.open_type, e.status) == (share, open_, status))


ROLE_USERS = {
    # name: (role, department key)
    "editor_a": (Role.EDITOR, "a"),
    "provider_a": (Role.PROVIDER, "a"),
    "admin_a": (Role.DEPT_ADMIN, "a"),
    "editor_b": (Role.EDITOR, "b"),
    "provider_b": (Role.PROVIDER, "b"),
    "admin_b": (Role.DEPT_ADMIN, "b"),
    "reviewer": (Role.REVIEWER, None),
    "bureau": (Role.BUREAU, None),
    "auditor": (Role.AUDITOR, None),
    "citizen": (Role.PUBLIC, None),
}


def reviewed(session: Session, entry: Entry) -> Entry:
    """`entry` with the open type its department asked for in effect, as if reviewed (`open_review`)."""
    open_review.record_imported(session, entry, conclusion="测试数据，开放属性视为已审查", actor_name="测试", now=NOW)
    return entry


def build_world(session: Session, users: tuple[str, ...] = tuple(ROLE_USERS)) -> World:
    dept_a = create_department(session, name="甲局", code=make_uscc(1), parent=None, now=NOW)
    dept_b = create_department(session, name="乙局", code=make_uscc(2), parent=None, now=NOW)
    departments = {"a": dept_a, "b": dept_b}
    made = {}
    for name in users:
        role, dept = ROLE_USERS[name]
        made[name], _ = create_user(
            session, username=name, role=role, department=departments.get(dept or ""), password=PASSWORD, display_name=name, now=NOW
        )
    world = World(dept_a, dept_b, made)
    for number, (share, open_, status) in enumerate(itertools.product(ShareType, OpenType, EntryStatus), start=1):
        level = SecurityLevel.IMPORTANT if open_ == OpenType.CLOSED else SecurityLevel.GENERAL
        entry = create_entry(
            session,
            department=dept_a,
            fields=entry_fields(title=f"甲局资源{number:02d}-{share.value}-{open_.value}-{status.value}", share_type=share, open_type=open_, security_level=level),
            actor=None,
            now=NOW,
            status=EntryStatus.PUBLISHED if status == EntryStatus.PUBLISHED else EntryStatus.DRAFT,
        )
        reviewed(session, entry)
        entry.status = status
        world.entries.append(entry)
    session.commit()
    return world




def at_once(engine: Engine, usernames: Sequence[str], prepare: Callable[[Session, User], Callable[[], object]], *, done: str) -> list[str]:
    """The users named acting at the same moment, each in a thread and a session of its own:
    `prepare(session, user)` reads what the user sees and returns the action, and all act
    together once every one has read (a barrier), each then committing. The outcomes, in the
    order the actions ended: `done` for one committed, "conflict" for one refused with
    `Conflict` (and rolled back). Any other error in a thread is raised again here."""
    sessions = make_sessionmaker(engine)
    outcomes: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(usernames))

    def act(username: str) -> None:
        try:
            with sessions() as own:
                action = prepare(own, own.scalars(select(User).where(User.username == username)).one())
                barrier.wait()
                try:
                    action()
                    own.commit()
                    outcomes.append(done)
                except Conflict:
                    own.rollback()
                    outcomes.append("conflict")
        except BaseException as error:
            errors.append(error)  # before breaking the barrier: the others then fail with BrokenBarrierError
            barrier.abort()

    threads = [threading.Thread(target=act, args=(name,)) for name in usernames]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return outcomes
