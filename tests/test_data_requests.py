"""Share and open requests: who may file what, every transition of the state machine, the clock
with its pause, refusals that need reason and basis, escalation, and exactly one transition when
two people act at once (on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from portal import data_requests as dr
from portal.errors import Conflict, Forbidden, Invalid
from portal.models import AuditEvent, DataRequest, Entry, RequestEvent, User
from portal.vocab import EntryStatus, OpenType, ShareType
from portal.workdays import Calendar

from .support import World, at, at_once

CAL = Calendar()


def _conditional(world: World) -> Entry:
    return world.entry(ShareType.CONDITIONAL, OpenType.CLOSED, EntryStatus.PUBLISHED)


def _share(session: Session, world: World, when: str = "2026-09-25") -> DataRequest:
    request = dr.submit(session, _conditional(world), kind="share", requester=world.users["editor_b"], purpose="核验企业登记信息",
                        duty="《市场主体登记管理条例》第三条", items=["station"], now=at(when))
    session.commit()
    return request


@pytest.mark.parametrize("share, open_, user, kind, error", [
    (ShareType.UNCONDITIONAL, OpenType.OPEN, "editor_b", "share", "无需申请"),
    (ShareType.NONE, OpenType.CLOSED, "editor_b", "share", "不予共享，依据"),
    (ShareType.CONDITIONAL, OpenType.CLOSED, "editor_a", "share", "本部门"),
    (ShareType.CONDITIONAL, OpenType.CLOSED, "citizen", "share", Forbidden),
    (ShareType.CONDITIONAL, OpenType.OPEN, "citizen", "open", "无需申请"),
    (ShareType.CONDITIONAL, OpenType.CLOSED, "citizen", "open", "不予开放"),
    (ShareType.CONDITIONAL, OpenType.ON_APPLICATION, "editor_b", "open", Forbidden),
])
def test_what_cannot_be_requested(session: Session, world: World, share: ShareType, open_: OpenType, user: str, kind: str, error: object) -> None:
    entry = world.entry(share, open_, EntryStatus.PUBLISHED)
    expected = error if isinstance(error, type) else Invalid
    with pytest.raises(expected) as raised:  # type: ignore[call-overload]
        dr.submit(session, entry, kind=kind, requester=world.users[user], purpose="用于测试的用途", duty="履职依据", now=at("2026-09-25"))
    if isinstance(error, str):
        assert error in raised.value.message


def test_a_share_request_needs_its_duty_and_known_items(session: Session, world: World) -> None:
    with pytest.raises(Invalid) as raised:
        dr.submit(session, _conditional(world), kind="share", requester=world.users["editor_b"], purpose="核验", items=["nothing"], now=at("2026-09-25"))
    assert set(raised.value.errors) == {"duty", "items", "purpose"}


def test_accept_clarify_reply_approve_with_the_clock(session: Session, world: World) -> None:
    request = _share(session, world, "2026-09-25")
    provider, requester = world.users["provider_a"], world.users["editor_b"]
    state = dr.clock(CAL, request, date(2026, 9, 30))
    assert state is not None and state.kind.key == "acceptance" and state.overdue  # not accepted within 2 working days
    dr.accept(session, request, actor=provider, now=at("2026-09-28"))
    assert request.accepted_on == date(2026, 9, 28)
    state = dr.clock(CAL, request, date(2026, 9, 28))
    assert state is not None and state.due.date == date(2026, 10, 16)  # 10 working days across National Day
    dr.ask_clarification(session, request, actor=provider, now=at("2026-09-29"), question="请说明核验的企业范围")
    assert dr.clock(CAL, request, date(2026, 10, 12)).paused  # type: ignore[union-attr]
    with pytest.raises(Forbidden):
        dr.reply(session, request, actor=provider, now=at("2026-10-12"), answer="不是申请人")
    dr.reply(session, request, actor=requester, now=at("2026-10-12"), answer="经开区内全部企业")
    state = dr.clock(CAL, request, date(2026, 10, 12))
    assert state is not None and not state.paused and state.due.date == date(2026, 10, 23)  # 9-30, 10-9, 10-10 paused
    grant = dr.approve(session, request, actor=provider, now=at("2026-10-13"), expires_on=date(2027, 10, 12), scope="仅限本局使用")
    session.commit()
    assert request.state == "approved" and dr.clock(CAL, request, date(2026, 10, 13)) is None
    assert grant.code == "GX2026" + f"{request.id:06d}" and grant.items == ["station"] and grant.grantee_department_id == world.dept_b.id
    steps = session.scalars(select(RequestEvent.action).where(RequestEvent.request_id == request.id).order_by(RequestEvent.id)).all()
    assert steps == ["submit", "accept", "clarify", "reply", "approve"]
    assert session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("request:%")).order_by(AuditEvent.id)).all()[-1] == "request:approve"


def test_refusal_needs_reason_and_basis_then_escalation_and_the_bureau(session: Session, world: World) -> None:
    request = _share(session, world)
    provider = world.users["provider_a"]
    dr.accept(session, request, actor=provider, now=at("2026-09-28"))
    with pytest.raises(Invalid) as raised:
        dr.refuse(session, request, actor=provider, now=at("2026-09-29"), reason="", basis="")
    assert set(raised.value.errors) == {"reason", "basis"}
    dr.refuse(session, request, actor=provider, now=at("2026-09-29"), reason="涉及商业秘密", basis="《反不正当竞争法》第九条")
    with pytest.raises(Conflict):  # not escalated yet
        dr.coordinate(session, request, actor=world.users["bureau"], now=at("2026-09-30"), uphold=True, note="尚未提请")
    with pytest.raises(Forbidden):  # the provider may not escalate its own refusal
        dr.escalate(session, request, actor=provider, now=at("2026-09-30"), note="提供方自己提请")
    dr.escalate(session, request, actor=world.users["editor_b"], now=at("2026-09-30"), note="履职确需该数据")
    grant = dr.coordinate(session, request, actor=world.users["bureau"], now=at("2026-10-09"), uphold=False, note="经协调同意共享",
                          expires_on=date(2026, 12, 31))
    session.commit()
    assert request.state == "approved" and grant is not None and grant.expires_on == date(2026, 12, 31)


def test_an_open_request_is_granted_to_the_applicant_only(session: Session, world: World) -> None:
    entry = world.entry(ShareType.CONDITIONAL, OpenType.ON_APPLICATION, EntryStatus.PUBLISHED)
    request = dr.submit(session, entry, kind="open", requester=world.users["citizen"], purpose="研究经开区空气质量", now=at("2026-09-25"))
    dr.accept(session, request, actor=world.users["admin_a"], now=at("2026-09-25"))
    grant = dr.approve(session, request, actor=world.users["admin_a"], now=at("2026-09-28"), expires_on=date(2026, 12, 31))
    assert grant.grantee_id == world.users["citizen"].id and grant.grantee_department_id is None and grant.code.startswith("KF2026")
    with pytest.raises(Conflict):  # an open request cannot be escalated, nor decided twice
        dr.refuse(session, request, actor=world.users["admin_a"], now=at("2026-09-28"), reason="改变主意了", basis="无依据的依据")


def test_a_second_click_is_a_conflict_and_nothing_changes(session: Session, world: World) -> None:
    request = _share(session, world)
    dr.accept(session, request, actor=world.users["provider_a"], now=at("2026-09-28"))
    with pytest.raises(Conflict) as raised:
        dr.accept(session, request, actor=world.users["admin_a"], now=at("2026-09-28"))
    assert "已受理" in raised.value.message and raised.value.status == 409
    assert request.version == 1


def test_two_providers_approving_at_once_make_one_transition(engine: Engine, session: Session, world: World) -> None:
    request = _share(session, world)
    dr.accept(session, request, actor=world.users["provider_a"], now=at("2026-09-28"))
    session.commit()

    def approve(own: Session, actor: User) -> Callable[[], object]:
        mine = own.get(DataRequest, request.id)
        assert mine is not None and mine.state == "accepted"
        return lambda: dr.approve(own, mine, actor=actor, now=at("2026-09-29"), expires_on=date(2026, 12, 31))

    outcomes = at_once(engine, ("provider_a", "admin_a"), approve, done="approved")
    assert sorted(outcomes) == ["approved", "conflict"]
    session.expire_all()
    assert session.scalars(select(RequestEvent.action).where(RequestEvent.request_id == request.id)).all().count("approve") == 1
