"""Data security incidents (Art. 21): who reports, sees and handles them, the report's checks in
Chinese, the whole workflow from report to closing with its timeline and audit rows (never the
reporter's text), the police report recorded later, exactly one change on a double click, and
the Bureau's work list and `portal tick` notice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from portal import incidents, notifications, work
from portal.accounts import create_user
from portal.errors import Conflict, Forbidden, Invalid, NotFound
from portal.models import AuditEvent, Entry, Notification, SecurityIncident, User
from portal.vocab import Role
from portal.workdays import Calendar

from .support import NOW, PASSWORD, World, at, at_once

CAL = Calendar()
SECRET = "张三 身份证 340104199001011234"  # personal data in the free text: never in the audit trail


def _report(session: Session, world: World, *, user: str = "provider_a", when: str = "2026-09-29", **changes: Any) -> SecurityIncident:
    values: dict[str, Any] = {
        "department": world.dept_a, "kind": "leak", "title": "企业登记数据疑似泄露",
        "description": f"发现接口被异常批量调用，导出记录含{SECRET}，已关闭接口。", "discovered_at": at("2026-09-28", 15),
        "entries": [world.entries[0].resource_code], "personal_information": True,
    } | changes
    made = incidents.report(session, actor=world.users[user], now=at(when), **values)
    session.commit()
    return made


def _audit(session: Session) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action.startswith("incident:")).order_by(AuditEvent.id)))


# -- who may do what -----------------------------------------------------------------------


@pytest.mark.parametrize("user", ["provider_a", "admin_a", "bureau"])
def test_the_department_and_the_bureau_report(session: Session, world: World, user: str) -> None:
    made = _report(session, world, user=user)
    assert (made.state, made.version, made.department_id, made.reported_by_id) == ("reported", 0, world.dept_a.id, world.users[user].id)
    assert [a.entry_id for a in made.affected] == [world.entries[0].id] and made.personal_information
    assert [(e.action, e.actor) for e in made.events] == [("report", user)]
    [row] = _audit(session)
    assert (row.action, row.actor, row.target) == ("incident:report", user, f"数据安全事件 #{made.id} 甲局")
    assert row.details == {"department": world.dept_a.id, "kind": "leak", "entries": [world.entries[0].id],
                           "personal_information": True, "police_reported": False}


@pytest.mark.parametrize("user", ["editor_a", "provider_b", "admin_b", "reviewer", "auditor", "citizen"])
def test_others_may_not_report(session: Session, world: World, user: str) -> None:
    with pytest.raises(Forbidden):
        _report(session, world, user=user)
    assert session.scalar(select(SecurityIncident.id)) is None and _audit(session) == []


def test_who_sees_an_incident(session: Session, world: World) -> None:
    made = _report(session, world)
    for name in ("bureau", "auditor", "editor_a", "provider_a", "admin_a"):
        assert incidents.get_incident(session, made.id, world.users[name]) is made
    for name in ("editor_b", "provider_b", "admin_b", "reviewer", "citizen"):  # not even another department
        with pytest.raises(NotFound):
            incidents.get_incident(session, made.id, world.users[name])
    with pytest.raises(NotFound):
        incidents.get_incident(session, made.id, None)
    with pytest.raises(NotFound):
        incidents.get_incident(session, 999999, world.users["bureau"])
    assert incidents.visible_incidents(session, world.users["admin_b"]) == []
    assert incidents.visible_incidents(session, world.users["editor_a"]) == [made]
    assert incidents.visible_incidents(session, world.users["auditor"], state="reported") == [made]
    assert incidents.visible_incidents(session, world.users["bureau"], state="closed") == []
    for user in (world.users["reviewer"], world.users["citizen"], None):
        with pytest.raises(Forbidden):
            incidents.visible_incidents(session, user)


def test_who_acts_on_an_incident(session: Session, world: World) -> None:
    made = _report(session, world)
    for name in ("provider_a", "admin_a", "editor_a", "auditor", "admin_b"):
        with pytest.raises(Forbidden):
            incidents.acknowledge(session, made, actor=world.users[name], now=at("2026-09-29", 11))
    for name in ("editor_a", "auditor", "provider_b", "reviewer"):
        with pytest.raises(Forbidden):
            incidents.add_note(session, made, note="我来补充一下情况", actor=world.users[name], now=at("2026-09-29", 11))
    assert [n for n in world.users if incidents.may_note(world.users[n], made)] == ["provider_a", "admin_a", "bureau"]
    assert [n for n in world.users if incidents.may_handle(world.users[n])] == ["bureau"]
    assert made.state == "reported" and made.version == 0 and [e.action for e in made.events] == ["report"]


# -- what a report needs -------------------------------------------------------------------


@pytest.mark.parametrize("changes, fields", [
    ({"kind": "fire"}, {"kind"}),
    ({"title": "  "}, {"title"}),
    ({"title": "长" * 201}, {"title"}),
    ({"description": "数据泄露了"}, {"description"}),
    ({"discovered_at": None}, {"discovered_at"}),
    ({"discovered_at": at("2026-09-29", 12)}, {"discovered_at"}),  # after "now" (10:00)
    ({"discovered_at": at("1999-12-31")}, {"discovered_at"}),
    ({"entries": ["no-such-entry"]}, {"entries"}),
    ({"entries": [f"x{n}" for n in range(51)]}, {"entries"}),
    ({"police_reported": True}, {"police_reported_on", "police_reference"}),
    ({"police_reported": True, "police_reported_on": date(2026, 9, 30), "police_reference": "合公经开受字〔2026〕1号"}, {"police_reported_on"}),
    ({"police_reported": True, "police_reported_on": date(2026, 9, 27), "police_reference": "合公经开受字〔2026〕1号"}, {"police_reported_on"}),
    ({"police_reported": True, "police_reported_on": date(2026, 9, 28), "police_reference": "号" * 101}, {"police_reference"}),
    ({"kind": "", "title": "", "description": "", "discovered_at": None}, {"kind", "title", "description", "discovered_at"}),
])
def test_what_a_report_needs(session: Session, world: World, changes: dict[str, Any], fields: set[str]) -> None:
    with pytest.raises(Invalid) as raised:
        _report(session, world, **changes)
    assert set(raised.value.errors) == fields
    assert session.scalar(select(SecurityIncident.id)) is None


def test_the_messages_are_chinese(session: Session, world: World) -> None:
    with pytest.raises(Invalid) as raised:
        _report(session, world, kind="", title="", description="太短", discovered_at=at("2026-10-01"),
                police_reported=True, police_reported_on=None, police_reference="")
    assert raised.value.errors == {
        "kind": "请选择事件类型：数据泄露、数据篡改、数据非法使用、网络攻击或其他安全事件",
        "title": "请填写事件名称",
        "description": "请描述事件经过、影响范围和已采取的措施（不少于10个字）",
        "discovered_at": "发现事件的时间不能晚于现在",
        "police_reported_on": "已报告公安部门的，请填写报告日期",
        "police_reference": "已报告公安部门的，请填写公安部门的受案回执编号或报案记录编号",
    }
    with pytest.raises(Invalid) as raised:
        incidents.report(session, department=None, kind="leak", title="t", description="d", discovered_at=None,
                         actor=world.users["bureau"], now=at("2026-09-29"))
    assert raised.value.errors == {"department": "请选择发生事件的部门"}


def test_affected_entries_are_the_departments_by_code_or_slug(session: Session, world: World) -> None:
    first, second = world.entries[0], world.entries[1]
    made = _report(session, world, entries=[first.resource_code, second.slug, first.slug, ""])
    assert [a.entry_id for a in made.affected] == [first.id, second.id]  # once each, in the order given
    other = session.get(Entry, world.entries[2].id)
    assert other is not None
    other.department_id = world.dept_b.id
    session.commit()
    with pytest.raises(Invalid) as raised:  # another department's entry is "not found", as an unknown one
        _report(session, world, entries=[other.resource_code, "no-such"])
    assert raised.value.errors == {"entries": f"没有找到甲局的目录条目：{other.resource_code}、no-such"}
    assert incidents.split_refs(" a1, b2，c3、d4；e5\n f6 ") == ["a1", "b2", "c3", "d4", "e5", "f6"]
    assert _report(session, world, entries=[]).affected == []


def test_police_details_only_when_reported(session: Session, world: World) -> None:
    quiet = _report(session, world, police_reported=False, police_reported_on=date(2026, 9, 28), police_reference="不该保存")
    assert (quiet.police_reported, quiet.police_reported_on, quiet.police_reference) == (False, None, "")
    told = _report(session, world, police_reported=True, police_reported_on=date(2026, 9, 28), police_reference=" 合公经开受字〔2026〕1号 ")
    assert (told.police_reported, told.police_reported_on, told.police_reference) == (True, date(2026, 9, 28), "合公经开受字〔2026〕1号")


# -- the workflow --------------------------------------------------------------------------


def test_the_whole_workflow(session: Session, world: World) -> None:
    made = _report(session, world)
    with pytest.raises(Conflict):  # not acknowledged yet
        incidents.close(session, made, result="已处置完毕", actor=world.users["bureau"], now=at("2026-09-29", 11))
    incidents.add_note(session, made, note="已排查日志，确认泄露范围为300条", actor=world.users["admin_a"], now=at("2026-09-29", 11))
    incidents.acknowledge(session, made, actor=world.users["bureau"], now=at("2026-09-29", 14), note="请甲局保存日志，配合公安部门调查")
    session.commit()
    assert (made.state, made.version, made.acknowledged_by_id) == ("acknowledged", 2, world.users["bureau"].id)
    assert made.acknowledged_at == at("2026-09-29", 14)
    with pytest.raises(Invalid) as raised:
        incidents.add_note(session, made, note="好", actor=world.users["bureau"], now=at("2026-09-30"))
    assert raised.value.errors == {"note": "请填写处置情况（不少于4个字）"}
    incidents.add_note(session, made, note=f"已约谈涉事人员{SECRET}", actor=world.users["bureau"], now=at("2026-09-30"))
    with pytest.raises(Invalid) as raised:
        incidents.close(session, made, result=" ", actor=world.users["bureau"], now=at("2026-10-09"))
    assert raised.value.errors == {"result": "请写明处置结果（不少于4个字）"}
    with pytest.raises(Forbidden):
        incidents.close(session, made, result="部门自行结案", actor=world.users["admin_a"], now=at("2026-10-09"))
    incidents.close(session, made, result=f"接口已加固，涉及{SECRET}等人员已告知", actor=world.users["bureau"], now=at("2026-10-09"))
    session.commit()
    assert (made.state, made.version, made.closed_by_id, made.closed_at) == ("closed", 4, world.users["bureau"].id, at("2026-10-09"))
    assert made.result.startswith("接口已加固")
    assert [(e.action, e.actor, e.note[:6]) for e in made.events] == [
        ("report", "provider_a", ""), ("note", "admin_a", "已排查日志，"), ("acknowledge", "bureau", "请甲局保存日"),
        ("note", "bureau", "已约谈涉事人"), ("close", "bureau", ""),
    ]
    for act in (
        lambda: incidents.add_note(session, made, note="结案后补充一句", actor=world.users["bureau"], now=at("2026-10-10")),
        lambda: incidents.close(session, made, result="再次结案试试", actor=world.users["bureau"], now=at("2026-10-10")),
        lambda: incidents.acknowledge(session, made, actor=world.users["bureau"], now=at("2026-10-10")),
    ):
        with pytest.raises(Conflict) as raised:
            act()
        assert raised.value.status == 409 and "已结案" in raised.value.message
    rows = _audit(session)
    assert [r.action for r in rows] == ["incident:report", "incident:note", "incident:acknowledge", "incident:note", "incident:close"]
    assert [r.actor for r in rows] == ["provider_a", "admin_a", "bureau", "bureau", "bureau"]
    assert all(r.target == f"数据安全事件 #{made.id} 甲局" for r in rows)
    assert not any("张三" in str(r.details) or "3401" in str(r.details) or "张三" in r.target for r in rows)


def test_the_police_report_recorded_later(session: Session, world: World) -> None:
    made = _report(session, world)
    with pytest.raises(Invalid) as raised:
        incidents.add_note(session, made, note="已向公安分局报案", police_reported=True, actor=world.users["admin_a"], now=at("2026-09-30"))
    assert set(raised.value.errors) == {"police_reported_on", "police_reference"} and not made.police_reported
    incidents.add_note(session, made, note="已向公安分局报案", police_reported=True, police_reported_on=date(2026, 9, 30),
                       police_reference="合公经开受字〔2026〕88号", actor=world.users["admin_a"], now=at("2026-09-30"))
    session.commit()
    assert (made.police_reported, made.police_reported_on, made.police_reference) == (True, date(2026, 9, 30), "合公经开受字〔2026〕88号")
    with pytest.raises(Invalid) as raised:
        incidents.add_note(session, made, note="再次报案记录", police_reported=True, police_reported_on=date(2026, 9, 30),
                           police_reference="另一个编号", actor=world.users["admin_a"], now=at("2026-09-30"))
    assert raised.value.errors == {"police_reported": "已记录该事件报告公安部门的情况，无需再次记录"}
    assert made.police_reference == "合公经开受字〔2026〕88号"
    assert [r.details for r in _audit(session) if r.action == "incident:note"] == [{"police_reported": True}]


def test_a_stale_click_is_refused(session: Session, world: World) -> None:
    made = _report(session, world)
    session.execute(update(SecurityIncident).values(version=SecurityIncident.version + 1).execution_options(synchronize_session=False))
    with pytest.raises(Conflict) as raised:
        incidents.acknowledge(session, made, actor=world.users["bureau"], now=at("2026-09-29", 11))
    assert "刚刚已被他人处理" in raised.value.message


@pytest.mark.parametrize("step, done", [("acknowledge", "acknowledged"), ("note", "noted")])
def test_a_double_click_makes_one_change(engine: Engine, session: Session, world: World, step: str, done: str) -> None:
    made = _report(session, world)

    def act(own: Session, actor: User) -> Callable[[], object]:
        mine = own.get(SecurityIncident, made.id)
        assert mine is not None and mine.state == "reported"
        if step == "acknowledge":
            return lambda: incidents.acknowledge(own, mine, actor=actor, now=at("2026-09-29", 11))
        return lambda: incidents.add_note(own, mine, note="已通知技术人员排查", actor=actor, now=at("2026-09-29", 11))

    outcomes = at_once(engine, ("bureau", "bureau"), act, done=done)
    assert sorted(outcomes) == sorted(["conflict", done])
    session.expire_all()
    fresh = session.get(SecurityIncident, made.id)
    assert fresh is not None and fresh.version == 1 and [e.action for e in fresh.events] == ["report", step]
    assert [r.action for r in _audit(session)] == ["incident:report", f"incident:{step}"]


# -- my work and notices -------------------------------------------------------------------


def test_an_open_incident_waits_for_the_bureau(session: Session, world: World) -> None:
    made = _report(session, world)
    [task] = incidents.tasks(session, CAL, date(2026, 9, 29))
    assert (task.kind, task.id, task.title, task.state, task.waiting_for) == ("incident", made.id, "甲局：数据泄露", "已报告，待受理", "受理")
    assert (task.flags, task.clock, task.department_id, task.assignee.roles) == (("数据安全事件待处置",), None, world.dept_a.id, frozenset({Role.BUREAU}))
    mine = {name: [t.id for t in work.work_for(world.users[name], work.all_tasks(session, CAL, date(2026, 9, 29))) if t.kind == "incident"]
            for name in world.users}
    assert mine == {name: ([made.id] if name == "bureau" else []) for name in world.users}
    incidents.acknowledge(session, made, actor=world.users["bureau"], now=at("2026-09-29", 11))
    assert [t.waiting_for for t in incidents.tasks(session, CAL, date(2026, 9, 29))] == ["处置并结案"]
    incidents.close(session, made, result="已处置完毕，接口加固", actor=world.users["bureau"], now=at("2026-09-30"))
    assert incidents.tasks(session, CAL, date(2026, 9, 30)) == []


def test_tick_tells_every_bureau_administrator_once(session: Session, world: World) -> None:
    create_user(session, username="bureau2", role=Role.BUREAU, department=None, password=PASSWORD, display_name="bureau2", now=NOW)
    made = _report(session, world)
    report = notifications.tick(session, CAL, date(2026, 9, 29), at("2026-09-29", 12))
    session.commit()
    rows = list(session.scalars(select(Notification).where(Notification.task_kind == "incident").order_by(Notification.id)))
    told = {session.get(User, n.user_id).username: n.text for n in rows}  # type: ignore[union-attr]
    assert set(told) == {"bureau", "bureau2"} and report.written >= 2
    assert told["bureau"] == f"数据安全事件 #{made.id}（甲局：数据泄露）待受理：数据安全事件待处置"
    assert all(n.task_id == made.id for n in rows) and "张三" not in str(told)
    assert notifications.tick(session, CAL, date(2026, 9, 29), at("2026-09-29", 13)).written == 0  # once only
    incidents.acknowledge(session, made, actor=world.users["bureau"], now=at("2026-09-29", 14))
    session.commit()
    notifications.tick(session, CAL, date(2026, 9, 30), at("2026-09-30", 12))
    assert session.scalar(select(Notification.id).where(Notification.task_kind == "incident", Notification.id > rows[-1].id)) is None
