"""Supervision of the departments (Art. 24): data older than its update cycle, published entries
without data, answers on time counted from the workflows' own clocks (a request by the
provider's answer, pauses and later coordination aside), overdue tasks now, and who sees which
departments."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from portal import adjustments as adj
from portal import data_requests as dr
from portal import error_reports as er
from portal import supervision
from portal.errors import Forbidden
from portal.models import Entry
from portal.vocab import EntryStatus, OpenType, ShareType, UpdateCycle
from portal.workdays import Calendar

from .support import World, at

CAL = Calendar()
TODAY = date(2026, 11, 25)


def _record(session: Session, world: World, user: str = "bureau", year: int = 2026) -> supervision.DepartmentRecord:
    records = supervision.department_records(session, world.users[user], CAL, year=year, today=TODAY)
    return next(r for r in records if r.department.id == world.dept_a.id)


def _share(session: Session, world: World, when: str) -> dr.DataRequest:
    return dr.submit(session, world.entry(ShareType.CONDITIONAL, OpenType.CLOSED, EntryStatus.PUBLISHED), kind="share",
                     requester=world.users["editor_b"], purpose="核验企业登记信息", duty="《市场主体登记管理条例》第三条", items=["station"],
                     now=at(when))


def test_data_older_than_its_cycle_is_stale(session: Session, world: World) -> None:
    daily = world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.PUBLISHED)
    monthly = world.entry(ShareType.CONDITIONAL, OpenType.CLOSED, EntryStatus.PUBLISHED)
    irregular = world.entry(ShareType.NONE, OpenType.CLOSED, EntryStatus.PUBLISHED)
    daily.data_updated_at = at("2026-11-20")
    monthly.update_cycle, monthly.data_updated_at = UpdateCycle.MONTHLY, at("2026-10-25")  # 31 days: just in time
    irregular.update_cycle, irregular.data_updated_at = UpdateCycle.IRREGULAR, at("2020-01-01")
    session.commit()
    record = _record(session, world)
    published = [e for e in world.entries if e.status == EntryStatus.PUBLISHED and e.department_id == world.dept_a.id]
    assert record.published == len(published) and {e.id for e in record.without_files} == {e.id for e in published}
    assert [(s.entry.id, s.last_update, s.days_late) for s in record.stale] == [(daily.id, date(2026, 11, 20), 4)]
    monthly.data_updated_at = at("2026-10-24")
    session.commit()
    assert [s.entry.id for s in _record(session, world).stale] == [daily.id, monthly.id]


def test_answers_on_time_and_overdue_tasks(session: Session, world: World) -> None:
    provider, bureau = world.users["provider_a"], world.users["bureau"]
    refused = _share(session, world, "2026-09-25")  # answered in time, then coordinated by the Bureau after the due date
    dr.accept(session, refused, actor=provider, now=at("2026-09-28"))
    dr.refuse(session, refused, actor=provider, now=at("2026-09-29"), reason="涉及商业秘密", basis="《反不正当竞争法》第九条")
    dr.escalate(session, refused, actor=world.users["editor_b"], now=at("2026-09-30"), note="履职确需该数据")
    dr.coordinate(session, refused, actor=bureau, now=at("2026-11-20"), uphold=False, note="经协调同意共享", expires_on=date(2026, 12, 31))
    late = _share(session, world, "2026-10-09")  # accepted on Monday 12 October: due 26 October
    dr.accept(session, late, actor=provider, now=at("2026-10-12"))
    dr.approve(session, late, actor=provider, now=at("2026-11-20"), expires_on=date(2026, 12, 31))
    _share(session, world, "2026-11-02")  # never accepted: overdue now (2 working days to accept)
    report = er.submit(session, world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.PUBLISHED), reporter=world.users["citizen"],
                       subject="data", description="第3行监测站点名称有误", now=at("2026-11-02"))
    er.answer(session, report, actor=provider, now=at("2026-11-04"), outcome="explained", text="站点名称与登记一致，无需更正")
    live = [e for e in world.entries if e.status == EntryStatus.PUBLISHED and e.department_id == world.dept_a.id][:1]
    adj.open_adjustment(session, department=world.dept_a, cause="law", event="《某某条例》修订，第十二条调整登记事项", event_on=date(2026, 9, 28),
                        entry_ids=[e.id for e in live], actor=world.users["editor_a"], now=at("2026-09-29"))  # never carried out
    session.commit()
    assert dr.answered_in_time(CAL, refused) is True and dr.answered_in_time(CAL, late) is False
    record = _record(session, world)
    assert (record.requests.answered, record.requests.on_time, record.requests.rate) == (2, 1, 50)
    assert (record.reports.answered, record.reports.on_time, record.reports.rate) == (1, 1, 100)
    assert (record.adjustments.answered, record.adjustments.rate) == (0, None)
    assert record.overdue_now == 2  # the request not accepted and the adjustment
    last_year = _record(session, world, year=2025)
    assert (last_year.requests.answered, last_year.reports.answered) == (0, 0) and last_year.overdue_now == 2


@pytest.mark.parametrize("user, departments", [
    ("bureau", {"甲局", "乙局"}), ("auditor", {"甲局", "乙局"}), ("admin_a", {"甲局"}), ("editor_b", {"乙局"}), ("provider_a", {"甲局"}),
])
def test_who_sees_which_departments(session: Session, world: World, user: str, departments: set[str]) -> None:
    records = supervision.department_records(session, world.users[user], CAL, year=2026, today=TODAY)
    assert {r.department.name for r in records} == departments


@pytest.mark.parametrize("user", ["citizen", "reviewer", None])
def test_others_are_refused(session: Session, world: World, user: str | None) -> None:
    with pytest.raises(Forbidden):
        supervision.department_records(session, world.users[user] if user else None, CAL, year=2026, today=TODAY)


def test_an_entry_without_a_cycle_or_with_fresh_data_is_not_stale() -> None:
    entry = Entry(update_cycle=UpdateCycle.WEEKLY, created_at=at("2026-11-18"), data_updated_at=None)
    assert supervision.stale_since(entry, TODAY) is None  # 7 days: still within the week
    assert supervision.stale_since(entry, date(2026, 11, 26)).days_late == 1  # type: ignore[union-attr]
