"""Error reports (数据校核, Art. 10): who may report on what, the 5-working-day clock from receipt
across National Day, answers by correction (naming a version recorded after receipt) or by
explanation, who may answer, and exactly one answer when two providers answer at once (on SQLite
and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from portal import error_reports as er
from portal import work
from portal.catalog import record_change, snapshot
from portal.errors import Conflict, Forbidden, Invalid, NotFound
from portal.models import AuditEvent, Entry, ErrorReport, User
from portal.vocab import EntryStatus, OpenType, ShareType
from portal.workdays import Calendar

from .support import World, at, at_once

CAL = Calendar()


def _open(world: World) -> Entry:
    return world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.PUBLISHED)


def _report(session: Session, world: World, when: datetime, *, reporter: str | None = "citizen", entry: Entry | None = None) -> ErrorReport:
    report = er.submit(
        session, entry or _open(world), reporter=world.users[reporter] if reporter else None, subject="data",
        description="第3行监测站点名称有误", location="第3行 station", contact="13800000000", now=when,
    )
    session.commit()
    return report


def _change(session: Session, entry: Entry, *, actor: User, when: datetime) -> int:
    """Record a new version of `entry` (its abstract corrected) and return its number."""
    before = snapshot(entry)
    entry.abstract = f"{entry.abstract}（{when:%m-%d} 更正）"
    assert record_change(session, entry, action="update", before=before, actor=actor, now=when)
    session.commit()
    return entry.version


# -- submitting ----------------------------------------------------------------------------


def test_anonymous_and_signed_in_visitors_report(session: Session, world: World) -> None:
    entry = _open(world)
    anonymous = er.submit(session, entry, reporter=None, subject="metadata", description="  摘要中的面积单位有误  ",
                          contact="someone@example.cn", now=datetime(2026, 11, 26, 17, 0, tzinfo=timezone.utc))
    signed = er.submit(session, entry, reporter=world.users["citizen"], reporter_name="张三", subject="data",
                       description="数据中的站点重复", now=at("2026-11-27"))
    session.commit()
    assert anonymous.reporter_id is None and anonymous.reporter_name == "" and anonymous.description == "摘要中的面积单位有误"
    assert anonymous.received_on == date(2026, 11, 27)  # 01:00 in China: the clock starts on China's day
    assert anonymous.state == "received" and anonymous.clock_rule == "workdays" and anonymous.version == 0
    assert signed.reporter_id == world.users["citizen"].id and signed.reporter_name == "张三"
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "report:submit").order_by(AuditEvent.id)).all()
    assert [e.actor for e in events] == ["匿名访客", "citizen"]
    assert all("someone@example.cn" not in str(e.details) + e.target + e.purpose for e in events)  # the contact is never logged
    assert er.reports_of_entry(session, entry) == [signed, anonymous]


@pytest.mark.parametrize("fields, field, message", [
    ({"description": "有误"}, "description", "至少4个字"),
    ({"description": "错" * 2001}, "description", "不能超过2000个字"),
    ({"description": "    \n  "}, "description", "请描述"),
    ({"subject": "gossip"}, "subject", "目录信息还是数据内容"),
    ({"reporter_name": "名" * 101}, "reporter_name", "署名不能超过"),
    ({"contact": "1" * 255}, "contact", "联系方式不能超过"),
    ({"location": "行" * 201}, "location", "位置不能超过"),
    ({"file_id": 999999}, "file_id", "不属于该数据资源"),
])
def test_what_cannot_be_received(session: Session, world: World, fields: dict[str, object], field: str, message: str) -> None:
    values: dict[str, object] = {"subject": "metadata", "description": "摘要中的面积单位有误"} | fields
    with pytest.raises(Invalid) as raised:
        er.submit(session, _open(world), reporter=None, now=at("2026-11-26"), **values)  # type: ignore[arg-type]
    assert set(raised.value.errors) == {field} and message in raised.value.errors[field]


@pytest.mark.parametrize("user, share, open_, status", [
    (None, ShareType.CONDITIONAL, OpenType.CLOSED, EntryStatus.PUBLISHED),  # not in the open catalog
    ("citizen", ShareType.NONE, OpenType.CLOSED, EntryStatus.PUBLISHED),
    ("editor_b", ShareType.NONE, OpenType.CLOSED, EntryStatus.PUBLISHED),  # not in the share catalog
    (None, ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.DRAFT),
])
def test_hidden_entries_cannot_be_reported_on(session: Session, world: World, user: str | None, share: ShareType, open_: OpenType, status: EntryStatus) -> None:
    with pytest.raises(NotFound):
        er.submit(session, world.entry(share, open_, status), reporter=world.users[user] if user else None, subject="metadata",
                  description="摘要中的面积单位有误", now=at("2026-11-26"))


def test_a_draft_seen_by_its_department_is_not_reported_on(session: Session, world: World) -> None:
    with pytest.raises(Invalid) as raised:
        er.submit(session, world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.DRAFT), reporter=world.users["editor_a"],
                  subject="metadata", description="摘要中的面积单位有误", now=at("2026-11-26"))
    assert "未发布" in raised.value.message


def test_a_report_is_seen_wherever_its_entry_is(session: Session, world: World) -> None:
    shared = world.entry(ShareType.CONDITIONAL, OpenType.CLOSED, EntryStatus.PUBLISHED)
    report = _report(session, world, at("2026-11-26"), reporter="editor_b", entry=shared)
    assert er.get_report(session, report.id, world.users["provider_b"]) is report  # a department sees the share catalog
    for user in (None, world.users["citizen"]):
        with pytest.raises(NotFound):
            er.get_report(session, report.id, user)
    with pytest.raises(NotFound):
        er.get_report(session, 424242, world.users["bureau"])


# -- the clock -----------------------------------------------------------------------------


@pytest.mark.parametrize("received, today, due, summary, overdue", [
    # National Day 2026: 10-1..10-7 off; 10-10 (Saturday) a make-up working day
    ("2026-09-30", date(2026, 9, 30), date(2026, 10, 13), "剩余 5 个工作日", False),
    ("2026-09-30", date(2026, 10, 5), date(2026, 10, 13), "剩余 5 个工作日", False),
    ("2026-09-30", date(2026, 10, 12), date(2026, 10, 13), "剩余 1 个工作日", False),
    ("2026-09-30", date(2026, 10, 13), date(2026, 10, 13), "今日到期", False),
    ("2026-09-30", date(2026, 10, 14), date(2026, 10, 13), "已超期 1 个工作日", True),
    ("2026-09-28", date(2026, 9, 28), date(2026, 10, 10), "剩余 5 个工作日", False),  # due on the make-up Saturday
    ("2026-10-03", date(2026, 10, 3), date(2026, 10, 13), "剩余 5 个工作日", False),  # received during the holiday: as on 9-30
])
def test_the_answer_is_due_5_working_days_after_receipt(
    session: Session, world: World, received: str, today: date, due: date, summary: str, overdue: bool,
) -> None:
    report = _report(session, world, at(received))
    state = er.clock(CAL, report, today)
    assert state is not None
    assert state.kind.key == "error_report" and state.kind.article == "第十条" and state.kind.limit_label == "5个工作日"
    assert state.kind.starts == "收到校核信息之日" and report.received_on == date.fromisoformat(received)
    assert (state.due.date, state.summary, state.overdue, state.provisional) == (due, summary, overdue, False)


def test_a_year_without_a_holiday_notice_is_provisional(session: Session, world: World) -> None:
    report = _report(session, world, at("2090-09-29"))
    state = er.clock(CAL, report, date(2090, 9, 29))
    assert state is not None and state.provisional and state.summary.endswith("（暂定）")


# -- answering -----------------------------------------------------------------------------


def test_a_correction_names_a_version_recorded_after_receipt(session: Session, world: World) -> None:
    entry, provider = _open(world), world.users["provider_a"]
    report = _report(session, world, at("2026-11-26"))
    with pytest.raises(Invalid) as raised:  # nothing changed since receipt
        er.answer(session, report, actor=provider, now=at("2026-11-27"), outcome="corrected", text="已更正站点名称")
    assert "尚无新版本" in raised.value.errors["corrected_version"]
    before = entry.version
    first = _change(session, entry, actor=world.users["editor_a"], when=at("2026-11-27"))
    second = _change(session, entry, actor=world.users["editor_a"], when=at("2026-11-30"))
    with pytest.raises(Invalid) as raised:  # a version from before the report cannot correct it
        er.answer(session, report, actor=provider, now=at("2026-11-30"), outcome="corrected", text="已更正站点名称", corrected_version=before)
    assert f"版本 {before} 不是收到校核后记录的版本" in raised.value.errors["corrected_version"]
    assert [v.number for v in er.correction_versions(session, report)] == [second, first]
    er.answer(session, report, actor=provider, now=at("2026-12-01"), outcome="corrected", text="  已更正第3行站点名称  ")
    session.commit()
    assert (report.state, report.corrected_version, report.answer, report.version) == ("corrected", second, "已更正第3行站点名称", 1)
    assert report.answered_by_id == provider.id and report.answered_at == at("2026-12-01")
    correction = er.corrected_by(session, report)
    assert correction is not None and correction.number == second and correction.entry_id == entry.id
    assert er.clock(CAL, report, date(2026, 12, 1)) is None and er.answered_in_time(CAL, report) is True
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "report:answer")).one()
    assert event.actor == "provider_a" and event.details == {"entry": entry.id, "outcome": "corrected", "version": second}


def test_naming_the_correcting_version(session: Session, world: World) -> None:
    entry = _open(world)
    report = _report(session, world, at("2026-11-26"))
    first = _change(session, entry, actor=world.users["editor_a"], when=at("2026-11-27"))
    _change(session, entry, actor=world.users["editor_a"], when=at("2026-11-30"))
    er.answer(session, report, actor=world.users["admin_a"], now=at("2026-11-30"), outcome="corrected", text="已更正站点名称", corrected_version=first)
    assert report.corrected_version == first


def test_an_explanation_needs_its_text(session: Session, world: World) -> None:
    report = _report(session, world, at("2026-09-30"))
    provider = world.users["provider_a"]
    with pytest.raises(Invalid) as raised:
        er.answer(session, report, actor=provider, now=at("2026-10-14"), outcome="explained", text=" 无误 ")
    assert "请写明说明的内容" in raised.value.errors["answer"]
    with pytest.raises(Invalid) as raised:
        er.answer(session, report, actor=provider, now=at("2026-10-14"), outcome="ignored", text="不予理会的理由")
    assert set(raised.value.errors) == {"outcome"}
    er.answer(session, report, actor=provider, now=at("2026-10-14"), outcome="explained", text="经核实，该站点于9月更名，数据无误")
    session.commit()
    assert report.state == "explained" and report.corrected_version is None
    assert er.answered_in_time(CAL, report) is False  # due 10-13: answered a working day late


def test_only_the_provider_department_and_the_bureau_answer(session: Session, world: World) -> None:
    report = _report(session, world, at("2026-11-26"))
    for name in ("provider_b", "admin_b", "editor_a", "reviewer", "auditor", "citizen"):
        with pytest.raises(Forbidden):
            er.answer(session, report, actor=world.users[name], now=at("2026-11-27"), outcome="explained", text="经核实数据无误")
    assert er.may_answer(world.users["bureau"], report) and er.may_answer(world.users["admin_a"], report)
    assert not er.may_answer(None, report)
    er.answer(session, report, actor=world.users["bureau"], now=at("2026-11-27"), outcome="explained", text="经核实数据无误")
    assert report.state == "explained"


def test_a_second_answer_is_a_conflict_and_nothing_changes(session: Session, world: World) -> None:
    report = _report(session, world, at("2026-11-26"))
    er.answer(session, report, actor=world.users["provider_a"], now=at("2026-11-27"), outcome="explained", text="经核实数据无误")
    session.commit()
    with pytest.raises(Conflict) as raised:
        er.answer(session, report, actor=world.users["admin_a"], now=at("2026-11-27"), outcome="explained", text="再次答复的内容")
    assert raised.value.status == 409 and "已答复（已说明）" in raised.value.message
    assert (report.version, report.answer, report.answered_by_id) == (1, "经核实数据无误", world.users["provider_a"].id)


def test_two_providers_answering_at_once_make_one_answer(engine: Engine, session: Session, world: World) -> None:
    report = _report(session, world, at("2026-11-26"))

    def answer(own: Session, actor: User) -> Callable[[], object]:
        mine = own.get(ErrorReport, report.id)
        assert mine is not None and mine.state == "received"
        return lambda: er.answer(own, mine, actor=actor, now=at("2026-11-27"), outcome="explained", text=f"{actor.username} 的说明：数据无误")

    outcomes = at_once(engine, ("provider_a", "admin_a"), answer, done="answered")
    assert sorted(outcomes) == ["answered", "conflict"]
    session.expire_all()
    assert len(session.scalars(select(AuditEvent).where(AuditEvent.action == "report:answer")).all()) == 1
    fresh = session.get(ErrorReport, report.id)
    assert fresh is not None and fresh.version == 1 and fresh.state == "explained"


# -- work ----------------------------------------------------------------------------------


def test_received_reports_wait_for_the_provider_department(session: Session, world: World) -> None:
    report = _report(session, world, at("2026-09-30"))
    answered = _report(session, world, at("2026-09-30"))
    er.answer(session, answered, actor=world.users["provider_a"], now=at("2026-10-09"), outcome="explained", text="经核实数据无误")
    session.commit()
    tasks = er.tasks(session, CAL, date(2026, 10, 14))
    assert [t.id for t in tasks] == [report.id]
    task = tasks[0]
    assert (task.kind, task.title, task.state, task.waiting_for) == ("report", _open(world).title, "待答复", "答复")
    assert task.due == date(2026, 10, 13) and task.overdue and task.department_id == world.dept_a.id and task.entry is not None
    assert task.clock is not None and task.clock.kind.article == "第十条"
    for name, sees in [("provider_a", True), ("admin_a", True), ("editor_a", False), ("provider_b", False), ("citizen", False),
                       ("bureau", True)]:  # the Bureau sees it because it is overdue
        assert (work.work_for(world.users[name], tasks) == [task]) is sees, name
