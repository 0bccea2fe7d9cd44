"""Catalog adjustments (Art. 10): who opens one and with what, the 10-working-day clock from the
event (National Day, and a provisional next year), closing when every entry named is updated,
cancelling, exactly one transition on a double cancel, and the department's work list."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal import adjustments as adj
from portal import work
from portal.catalog import update_entry, withdraw_entry
from portal.errors import Conflict, Forbidden, Invalid, NotFound
from portal.models import Adjustment, AuditEvent, Entry
from portal.vocab import EntryStatus, OpenType, Role, ShareType
from portal.workdays import Calendar

from .support import World, at, entry_fields

CAL = Calendar()


def _entries(world: World, n: int = 2) -> list[Entry]:
    return [e for e in world.entries if e.status != EntryStatus.WITHDRAWN][:n]


def _open(session: Session, world: World, *, user: str = "editor_a", event_on: date = date(2026, 9, 28),
          entries: list[Entry] | None = None, when: str = "2026-09-29") -> Adjustment:
    made = adj.open_adjustment(
        session, department=world.dept_a, cause="law", event="《某某条例》修订，第十二条调整登记事项", event_on=event_on,
        entry_ids=[e.id for e in entries or _entries(world)], actor=world.users[user], now=at(when),
    )
    session.commit()
    return made


def _touch(session: Session, world: World, entry: Entry, when: str = "2026-10-09") -> None:
    assert update_entry(session, entry, entry_fields(title=entry.title, abstract=f"按调整更新：{entry.id}", share_type=entry.share_type,
                                                     open_type=entry.open_type, security_level=entry.security_level),
                        actor=world.users["editor_a"], now=at(when))
    session.commit()


def _actions(session: Session, prefix: str = "adjustment:") -> list[str]:
    return [e.action for e in session.scalars(select(AuditEvent).where(AuditEvent.action.startswith(prefix)).order_by(AuditEvent.id))]


@pytest.mark.parametrize("user", ["bureau", "editor_a", "admin_a"])
def test_the_bureau_and_the_department_open_an_adjustment(session: Session, world: World, user: str) -> None:
    entries = _entries(world)
    made = _open(session, world, user=user, entries=entries)
    assert made.state == "open" and made.department_id == world.dept_a.id and made.clock_rule == "workdays"
    assert [(t.entry_id, t.version_at_open, t.updated_version) for t in made.targets] == [(e.id, e.version, None) for e in entries]
    assert _actions(session) == ["adjustment:open"]
    assert adj.may_see(world.users["auditor"], made) and adj.may_see(world.users["provider_a"], made)


@pytest.mark.parametrize("user", ["provider_a", "editor_b", "admin_b", "reviewer", "auditor", "citizen"])
def test_others_may_not_open_one(session: Session, world: World, user: str) -> None:
    with pytest.raises(Forbidden):
        _open(session, world, user=user)


@pytest.mark.parametrize("changes, fields", [
    ({"cause": "weather"}, {"cause"}),
    ({"event": " 修订 "}, {"event"}),
    ({"event_on": None}, {"event_on"}),
    ({"event_on": date(2026, 9, 30)}, {"event_on"}),  # after today (2026-09-29)
    ({"entry_ids": []}, {"entries"}),
    ({"cause": "", "event": "", "entry_ids": []}, {"cause", "event", "entries"}),
])
def test_what_an_adjustment_needs(session: Session, world: World, changes: dict[str, object], fields: set[str]) -> None:
    values: dict[str, object] = {
        "department": world.dept_a, "cause": "function", "event": "职能划转至乙局", "event_on": date(2026, 9, 28),
        "entry_ids": [_entries(world)[0].id],
    } | changes
    with pytest.raises(Invalid) as raised:
        adj.open_adjustment(session, actor=world.users["editor_a"], now=at("2026-09-29"), **values)  # type: ignore[arg-type]
    assert set(raised.value.errors) == fields


def test_only_the_departments_live_entries(session: Session, world: World) -> None:
    other = world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.PUBLISHED)
    other.department_id = world.dept_b.id
    session.commit()
    with pytest.raises(Invalid, match="只能选择甲局"):
        _open(session, world, user="bureau", entries=[other])
    with pytest.raises(Invalid, match="只能选择甲局"):
        adj.open_adjustment(session, department=world.dept_a, cause="law", event="条例修订", event_on=date(2026, 9, 28),
                            entry_ids=[999999], actor=world.users["bureau"], now=at("2026-09-29"))
    withdrawn = world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.WITHDRAWN)
    with pytest.raises(Invalid, match="已撤销"):
        _open(session, world, entries=[withdrawn])
    assert withdrawn not in adj.adjustable_entries(session, world.dept_a)
    with pytest.raises(Forbidden):  # staff of A may not open one for B
        adj.open_adjustment(session, department=world.dept_b, cause="law", event="条例修订", event_on=date(2026, 9, 28),
                            entry_ids=[other.id], actor=world.users["editor_a"], now=at("2026-09-29"))


@pytest.mark.parametrize("event_on, today, due, provisional, summary", [
    (date(2026, 9, 28), date(2026, 9, 29), date(2026, 10, 16), False, "剩余 9 个工作日"),  # National Day; 10-10 a make-up day
    (date(2026, 9, 28), date(2026, 10, 19), date(2026, 10, 16), False, "已超期 1 个工作日"),
    (date(2026, 12, 28), date(2026, 12, 29), date(2027, 1, 12), True, "剩余 9 个工作日（暂定）"),  # 2027's notice not held
])
def test_the_clock_runs_from_the_event(event_on: date, today: date, due: date, provisional: bool, summary: str, session: Session, world: World) -> None:
    made = _open(session, world, event_on=event_on, when=str(today))
    state = adj.clock(CAL, made, today)
    assert state is not None
    assert (state.due.date, state.provisional, state.kind.article, state.summary) == (due, provisional, "第十条", summary)
    assert state.overdue == (today > due)


def test_it_closes_when_every_entry_is_updated(session: Session, world: World) -> None:
    first, second = _entries(world)
    made = _open(session, world, entries=[first, second])
    assert adj.close_updated(session, at("2026-10-09")) == []
    _touch(session, world, first)
    assert adj.close_updated(session, at("2026-10-09")) == []  # one of two: still open
    session.commit()
    assert made.state == "open"
    assert {t.entry_id: t.updated_version for t in made.targets} == {first.id: first.version, second.id: None}
    assert [t.id for t in adj.tasks(session, CAL, date(2026, 10, 9))] == [made.id]

    withdraw_entry(session, second, actor=world.users["admin_a"], now=at("2026-10-12"))  # withdrawing is an update too
    session.commit()  # the catalog closes the adjustment in the transaction of the change that completes it
    assert adj.tasks(session, CAL, date(2026, 10, 12)) == []
    assert adj.close_updated(session, at("2026-10-12")) == []
    assert made.state == "done" and made.closed_at == at("2026-10-12") and made.version == 1
    assert adj.clock(CAL, made, date(2026, 10, 12)) is None and adj.finished_late(CAL, made) is False
    assert _actions(session) == ["adjustment:open", "adjustment:close"]
    assert adj.refresh(session, made, now=at("2026-10-13")) is False  # nothing more to do


def test_closing_after_one_entrys_change(session: Session, world: World) -> None:
    first, second = _entries(world)
    mine, other = _open(session, world, entries=[first]), _open(session, world, entries=[second])
    _touch(session, world, first)  # the catalog calls close_for_entry for the changed entry
    assert (mine.state, other.state) == ("done", "open")
    assert adj.close_for_entry(session, second, now=at("2026-10-09")) == []
    assert adj.close_for_entry(session, first, now=at("2026-10-09")) == []


def test_done_after_the_due_date_is_late(session: Session, world: World) -> None:
    entry = _entries(world, 1)[0]
    made = _open(session, world, entries=[entry])
    _touch(session, world, entry, "2026-10-19")
    assert made.state == "done" and adj.finished_late(CAL, made) is True


def test_cancel_and_a_double_cancel(session: Session, world: World) -> None:
    made = _open(session, world)
    with pytest.raises(Forbidden):
        adj.cancel(session, made, actor=world.users["editor_a"], now=at("2026-09-30"), reason="误发起")
    with pytest.raises(Invalid):
        adj.cancel(session, made, actor=world.users["admin_a"], now=at("2026-09-30"), reason="")
    adj.cancel(session, made, actor=world.users["admin_a"], now=at("2026-09-30"), reason="该条例修订不涉及本部门目录")
    session.commit()
    assert made.state == "cancelled" and made.note == "该条例修订不涉及本部门目录"
    with pytest.raises(Conflict):
        adj.cancel(session, made, actor=world.users["bureau"], now=at("2026-09-30"), reason="再次撤销试试")
    assert adj.tasks(session, CAL, date(2026, 9, 30)) == []
    assert _actions(session) == ["adjustment:open", "adjustment:cancel"]


def test_a_stale_cancel_is_refused(session: Session, world: World) -> None:
    made = _open(session, world)
    session.execute(update(Adjustment).values(version=Adjustment.version + 1).execution_options(synchronize_session=False))  # another writer
    with pytest.raises(Conflict):
        adj.cancel(session, made, actor=world.users["bureau"], now=at("2026-09-30"), reason="重复的调整任务")


def test_the_bureaus_adjustment_is_the_bureaus_to_cancel(session: Session, world: World) -> None:
    made = _open(session, world, user="bureau")
    assert not adj.may_cancel(world.users["admin_a"], made) and adj.may_cancel(world.users["bureau"], made)
    with pytest.raises(Forbidden):
        adj.cancel(session, made, actor=world.users["admin_a"], now=at("2026-09-30"), reason="本部门认为无需调整")


def test_who_sees_what(session: Session, world: World) -> None:
    made = _open(session, world)
    for name in ("bureau", "auditor", "editor_a", "provider_a", "admin_a"):
        assert adj.get_adjustment(session, made.id, world.users[name]) is made
    for name in ("editor_b", "reviewer", "citizen"):
        with pytest.raises(NotFound):
            adj.get_adjustment(session, made.id, world.users[name])
    assert adj.visible_adjustments(session, world.users["admin_b"]) == []
    assert adj.visible_adjustments(session, world.users["bureau"], state="open") == [made]
    assert adj.visible_adjustments(session, world.users["bureau"], state="done") == []
    for name in ("reviewer", "citizen"):
        with pytest.raises(Forbidden):
            adj.visible_adjustments(session, world.users[name])


def test_an_open_adjustment_is_the_departments_work(session: Session, world: World) -> None:
    made = _open(session, world, event_on=date(2026, 9, 28))
    [task] = adj.tasks(session, CAL, date(2026, 10, 19))
    assert (task.kind, task.id, task.department_id, task.waiting_for) == ("adjustment", made.id, world.dept_a.id, "更新目录")
    assert task.title.startswith("甲局：") and task.due == date(2026, 10, 16) and task.overdue
    assert task.assignee.roles == frozenset({Role.EDITOR, Role.DEPT_ADMIN})
    tasks = work.all_tasks(session, CAL, date(2026, 10, 19))
    mine = {name: [t.id for t in work.work_for(world.users[name], tasks) if t.kind == "adjustment"] for name in world.users}
    assert mine == {
        "editor_a": [made.id], "admin_a": [made.id], "bureau": [made.id],  # the Bureau: because it is overdue
        "provider_a": [], "editor_b": [], "provider_b": [], "admin_b": [], "reviewer": [], "auditor": [], "citizen": [],
    }
