"""Open-data plans (Art. 17): who drafts what, the items' checks in Chinese, the workflow with
exactly one decision on a double approval, and progress computed from the catalog: an item is
done only when its entry is released to the open catalog with the target open type, late by its
date, and delivered on the day read from the entry's versions."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from portal import catalog, open_review, plans
from portal.db import make_sessionmaker
from portal.errors import Conflict, Forbidden, Invalid, NotFound
from portal.models import AuditEvent, Entry, Plan, User
from portal.plan_progress import department_figures, plan_progress
from portal.plans import ItemInput
from portal.vocab import EntryStatus, OpenType, SecurityLevel

from .support import World, entry_fields

CHINA = timezone(timedelta(hours=8))
YES = {key: True for key in open_review.CHECKLIST}


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=CHINA)


def _draft_entry(session: Session, world: World, title: str = "企业名录", **fields: object) -> Entry:
    entry = catalog.create_entry(
        session, department=world.dept_a, fields=entry_fields(title=title, **fields), actor=world.users["editor_a"], now=at("2026-01-05"),
    )
    session.commit()
    return entry


def _plan(session: Session, world: World, items: list[ItemInput] | None = None, *, user: str = "editor_a", kind: str = "annual") -> Plan:
    plan = plans.create_plan(
        session, department=world.dept_a, year=2026, kind=kind, title="甲局2026年公共数据开放工作计划", goals="# 目标\n\n开放**企业**数据。",
        actor=world.users[user], now=at("2026-01-10"), items=items or [ItemInput(planned_title="新建资源", target_open_type="open", target_date="2026-06-30")],
    )
    session.commit()
    return plan


def _actions(session: Session) -> list[str]:
    return [a for a in session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)) if a.startswith("plan:")]


def test_who_may_draft(session: Session, world: World) -> None:
    for user in ("editor_b", "provider_a", "reviewer", "citizen", "auditor"):
        with pytest.raises(Forbidden):
            _plan(session, world, user=user)
    assert _plan(session, world, user="admin_a").state == "draft"
    assert _plan(session, world, user="bureau", kind="action").kind == "action"
    assert _actions(session) == ["plan:create", "plan:create"]


def test_one_plan_per_department_year_and_kind(session: Session, world: World) -> None:
    _plan(session, world)
    with pytest.raises(Invalid) as caught:
        _plan(session, world)
    assert "已经存在" in caught.value.errors["year"]
    with pytest.raises(Invalid) as caught:
        plans.create_plan(session, department=world.dept_a, year=26, kind="weekly", title=" ", goals="", actor=world.users["editor_a"], now=at("2026-01-10"))
    assert set(caught.value.errors) == {"year", "kind", "title"}


def test_items_are_checked_with_chinese_messages(session: Session, world: World) -> None:
    other = catalog.create_entry(session, department=world.dept_b, fields=entry_fields(title="乙局资源"), actor=None, now=at("2026-01-05"))
    mine = _draft_entry(session, world)
    secret = _draft_entry(session, world, "重要数据", open_type=OpenType.CLOSED, security_level=SecurityLevel.IMPORTANT)
    items = [
        ItemInput(entry=mine.resource_code, target_open_type="open", target_date="2026-03-31"),  # fine
        ItemInput(entry=other.resource_code, target_open_type="open", target_date="2026-03-31"),
        ItemInput(entry=str(mine.id), target_open_type="依申请开放", target_date="2026-03-31"),
        ItemInput(target_open_type="open", target_date="2026-03-31"),
        ItemInput(planned_title="新建", target_open_type="closed", target_date="2025-12-31"),
        ItemInput(entry="9999999/000001", target_open_type="", target_date=""),
        ItemInput(entry=secret.id, target_open_type=OpenType.ON_APPLICATION, target_date=date(2027, 1, 1)),
    ]
    with pytest.raises(Invalid) as caught:
        _plan(session, world, items)
    errors = caught.value.errors
    assert errors["items.2.entry"] == "第2项：目录条目不属于本部门"
    assert errors["items.3.entry"] == "第3项：该目录条目已列在第1项"
    assert "请选择本部门的目录条目，或填写拟新建的数据资源名称" in errors["items.4.entry"]
    assert errors["items.5.target_open_type"] == "第5项：目标开放类型只能是无条件开放或依申请开放"
    assert errors["items.5.target_date"] == "第5项：计划完成日期应在2026年内或之后"
    assert "没有找到目录条目" in errors["items.6.entry"] and "items.6.target_open_type" in errors and "items.6.target_date" in errors
    assert "不予开放" in errors["items.7.entry"]
    assert not any(key.startswith("items.1.") for key in errors)
    assert session.scalar(select(Plan.id)) is None

    plan = _plan(session, world, [
        ItemInput(entry=mine.title, target_open_type="open", target_date="2026-03-31", note="按季度更新"),  # by its title
        ItemInput(planned_title="新建资源", target_open_type=OpenType.ON_APPLICATION, target_date=date(2027, 6, 30)),
    ])
    assert [(i.entry_id, i.planned_title, i.target_open_type, i.position) for i in plan.items] == [
        (mine.id, "", OpenType.OPEN, 0), (None, "新建资源", OpenType.ON_APPLICATION, 1),
    ]


def test_the_whole_workflow(session: Session, world: World) -> None:
    plan = _plan(session, world)
    plans.update_plan(session, plan, title="甲局2026年度计划", goals="开放企业数据", actor=world.users["editor_a"], now=at("2026-01-11"),
                      items=[ItemInput(planned_title="企业名录", target_open_type="open", target_date="2026-06-30")])
    session.commit()
    assert plan.title == "甲局2026年度计划" and [i.planned_title for i in plan.items] == ["企业名录"]
    with pytest.raises(Forbidden):
        plans.submit_plan(session, plan, actor=world.users["editor_a"], now=at("2026-01-12"))
    plans.submit_plan(session, plan, actor=world.users["admin_a"], now=at("2026-01-12"))
    session.commit()
    assert plan.state == "submitted" and plan.submitted_at is not None
    with pytest.raises(Conflict):  # no edits while the Bureau examines it
        plans.update_plan(session, plan, title="改", goals="改", actor=world.users["editor_a"], now=at("2026-01-13"))
    with pytest.raises(Forbidden):
        plans.approve_plan(session, plan, actor=world.users["admin_a"], now=at("2026-01-13"))
    with pytest.raises(Invalid):
        plans.return_plan(session, plan, actor=world.users["bureau"], now=at("2026-01-13"), reason="")
    plans.return_plan(session, plan, actor=world.users["bureau"], now=at("2026-01-13"), reason="请补充完成时限的依据")
    session.commit()
    assert plan.state == "returned" and plan.reason == "请补充完成时限的依据"
    plans.set_items(session, plan, [ItemInput(planned_title="企业名录", target_open_type="open", target_date="2026-05-31")],
                    actor=world.users["editor_a"], now=at("2026-01-14"))
    plans.submit_plan(session, plan, actor=world.users["admin_a"], now=at("2026-01-14"))
    with pytest.raises(Conflict):  # not approved yet
        plans.publish_plan(session, plan, actor=world.users["bureau"], now=at("2026-01-15"))
    plans.approve_plan(session, plan, actor=world.users["bureau"], now=at("2026-01-15"))
    assert not plans.may_see(None, plan) and plans.may_see(world.users["auditor"], plan) and not plans.may_see(world.users["editor_b"], plan)
    plans.publish_plan(session, plan, actor=world.users["bureau"], now=at("2026-01-16"))
    session.commit()
    assert plan.state == "published" and plan.approved_by_id == world.users["bureau"].id and plans.may_see(None, plan)
    assert plans.published_plans(session) == [plan] and plans.published_plans(session, year=2025) == []
    with pytest.raises(Conflict):  # nothing changes after approval
        plans.set_items(session, plan, [], actor=world.users["editor_a"], now=at("2026-01-17"))
    assert _actions(session) == [
        "plan:create", "plan:update", "plan:submit", "plan:return", "plan:update", "plan:submit", "plan:approve", "plan:publish",
    ]


def test_submitting_needs_goals_and_items(session: Session, world: World) -> None:
    plan = _plan(session, world)
    plans.set_items(session, plan, [], actor=world.users["editor_a"], now=at("2026-01-11"))
    with pytest.raises(Invalid) as caught:
        plans.submit_plan(session, plan, actor=world.users["admin_a"], now=at("2026-01-12"))
    assert caught.value.errors == {"items": "报送前须至少列出一项计划事项"}


def test_two_approvals_give_one_decision(engine: Engine, session: Session, world: World) -> None:
    plan = _plan(session, world)
    plans.submit_plan(session, plan, actor=world.users["admin_a"], now=at("2026-01-12"))
    session.commit()
    sessions = make_sessionmaker(engine)
    with sessions() as first, sessions() as second:
        mine, theirs = first.get(Plan, plan.id), second.get(Plan, plan.id)
        bureau_1, bureau_2 = first.get(User, world.users["bureau"].id), second.get(User, world.users["bureau"].id)
        assert mine is not None and theirs is not None and theirs.state == "submitted"
        plans.approve_plan(first, mine, actor=bureau_1, now=at("2026-01-13"))  # type: ignore[arg-type]
        first.commit()
        with pytest.raises(Conflict, match="刚刚已被他人处理"):  # its copy still says "submitted"
            plans.approve_plan(second, theirs, actor=bureau_2, now=at("2026-01-13"))  # type: ignore[arg-type]
        second.rollback()
    session.expire_all()
    assert session.get(Plan, plan.id).version == 2  # type: ignore[union-attr]
    assert _actions(session).count("plan:approve") == 1


def test_a_stale_edit_is_refused(session: Session, world: World) -> None:
    plan = _plan(session, world)
    session.execute(update(Plan).values(version=Plan.version + 1).execution_options(synchronize_session=False))  # another writer
    with pytest.raises(Conflict):
        plans.update_plan(session, plan, title="改名", goals="", actor=world.users["editor_a"], now=at("2026-01-11"))


def test_visibility_and_lookups(session: Session, world: World) -> None:
    plan = _plan(session, world)
    for user in (None, world.users["citizen"], world.users["editor_b"], world.users["reviewer"]):
        with pytest.raises(NotFound):
            plans.get_plan(session, plan.id, user)
        assert plans.working_plans(session, user) == []
    for name in ("editor_a", "provider_a", "bureau", "auditor"):
        assert plans.get_plan(session, plan.id, world.users[name]) is plan
        assert plans.working_plans(session, world.users[name]) == [plan]
    assert plans.published_plans(session) == []


def _release(session: Session, entry: Entry, world: World, *, published: str, reviewed: str) -> None:
    catalog.publish_entry(session, entry, actor=world.users["admin_a"], now=at(published))
    session.commit()
    review = open_review.pending(session, entry)
    assert review is not None
    open_review.approve(session, review, actor=world.users["reviewer"], now=at(reviewed), checklist=YES, conclusion="经评估，可以开放")
    session.commit()


def test_progress_follows_the_catalog(session: Session, world: World) -> None:
    entry = _draft_entry(session, world)  # asks for 无条件开放: in effect only once reviewed
    plan = _plan(session, world, [
        ItemInput(entry=entry.resource_code, target_open_type="open", target_date="2026-06-30"),
        ItemInput(planned_title="许可信息", target_open_type="on-application", target_date="2026-09-30"),
    ])
    progress = plan_progress(session, plan, today=date(2026, 4, 1))
    assert [i.status for i in progress.items] == ["pending", "pending"]
    assert (progress.planned, progress.delivered, progress.late, progress.pending, progress.percent) == (2, 0, 0, 2, 0)

    catalog.publish_entry(session, entry, actor=world.users["admin_a"], now=at("2026-05-10"))
    session.commit()
    assert entry.status == EntryStatus.PUBLISHED and entry.open_type == OpenType.CLOSED
    assert plan_progress(session, plan, today=date(2026, 5, 11)).items[0].status == "pending"  # published, not yet open

    review = open_review.pending(session, entry)
    assert review is not None
    open_review.approve(session, review, actor=world.users["reviewer"], now=at("2026-07-05"), checklist=YES, conclusion="经评估，可以开放")
    session.commit()
    first = plan_progress(session, plan, today=date(2026, 7, 6)).items[0]
    assert first.delivered and first.delivered_on == date(2026, 7, 5) and first.status == "late"  # delivered after 06-30

    progress = plan_progress(session, plan, today=date(2026, 10, 1))
    assert progress.items[1].status == "late" and not progress.items[1].delivered  # overdue, no entry yet
    assert (progress.delivered, progress.late, progress.overdue, progress.pending, progress.percent) == (1, 2, 1, 0, 50)

    made = _draft_entry(session, world, "许可信息", open_type=OpenType.ON_APPLICATION)
    plans.submit_plan(session, plan, actor=world.users["admin_a"], now=at("2026-01-12"))
    plans.approve_plan(session, plan, actor=world.users["bureau"], now=at("2026-01-13"))
    plans.publish_plan(session, plan, actor=world.users["bureau"], now=at("2026-01-14"))
    session.commit()
    with pytest.raises(Invalid):  # only a "to be created" item gets an entry
        plans.link_item(session, plan.items[0], made, actor=world.users["editor_a"], now=at("2026-09-01"))
    with pytest.raises(Forbidden):
        plans.link_item(session, plan.items[1], made, actor=world.users["editor_b"], now=at("2026-09-01"))
    plans.link_item(session, plan.items[1], made.resource_code, actor=world.users["editor_a"], now=at("2026-09-01"))
    session.commit()
    assert plan.items[1].entry_id == made.id and plan.state == "published"
    _release(session, made, world, published="2026-09-10", reviewed="2026-09-20")
    progress = plan_progress(session, plan, today=date(2026, 10, 1))
    assert progress.items[1].status == "done" and progress.items[1].delivered_on == date(2026, 9, 20)
    assert (progress.delivered, progress.late, progress.percent) == (2, 1, 100)
    assert progress.figures.open_catalog >= 2 and progress.figures.by_open_type[OpenType.ON_APPLICATION] >= 1

    catalog.withdraw_entry(session, entry, actor=world.users["admin_a"], now=at("2026-10-05"))
    session.commit()
    assert plan_progress(session, plan, today=date(2026, 10, 6)).items[0].status == "late"
    catalog.publish_entry(session, entry, actor=world.users["admin_a"], now=at("2026-10-10"))
    session.commit()
    again = plan_progress(session, plan, today=date(2026, 10, 11)).items[0]
    assert again.delivered and again.delivered_on == date(2026, 10, 10)  # counts from its new publication
    assert _actions(session)[-1] == "plan:update"


def test_the_target_open_type_must_be_met_exactly(session: Session, world: World) -> None:
    entry = _draft_entry(session, world)
    plan = _plan(session, world, [ItemInput(entry=entry.id, target_open_type="on-application", target_date="2026-12-31")])
    _release(session, entry, world, published="2026-03-01", reviewed="2026-03-02")
    assert entry.open_type == OpenType.OPEN
    item = plan_progress(session, plan, today=date(2026, 4, 1)).items[0]
    assert item.status == "pending" and not item.delivered


def test_department_figures(session: Session, world: World) -> None:
    figures = department_figures(session, world.dept_a)
    published = [e for e in world.entries if e.status == EntryStatus.PUBLISHED]
    assert figures.catalog == len(published)
    assert figures.open_catalog == sum(e.open_type != OpenType.CLOSED for e in published)
    assert figures.by_open_type[OpenType.CLOSED] == sum(e.open_type == OpenType.CLOSED for e in published)
    assert sum(figures.by_open_type.values()) == figures.catalog
    assert department_figures(session, world.dept_b).catalog == 0


def test_a_plan_waits_on_my_work_for_whoever_moves_it_next(session: Session, world: World) -> None:
    from portal import work
    from portal.workdays import Calendar

    def waiting(user: str) -> list[str]:
        tasks = work.all_tasks(session, Calendar(), date(2026, 1, 20))
        return [t.waiting_for for t in work.work_for(world.users[user], tasks) if t.kind == "plan"]

    plan = _plan(session, world)
    assert waiting("admin_a") == ["报送"] and waiting("editor_a") == waiting("bureau") == waiting("admin_b") == []
    plans.submit_plan(session, plan, actor=world.users["admin_a"], now=at("2026-01-12"))
    assert waiting("bureau") == ["审批"] and waiting("admin_a") == []
    plans.return_plan(session, plan, actor=world.users["bureau"], now=at("2026-01-13"), reason="请补充完成时限的依据")
    assert waiting("editor_a") == waiting("admin_a") == ["修改后重新报送"] and waiting("editor_b") == waiting("bureau") == []
    plans.submit_plan(session, plan, actor=world.users["admin_a"], now=at("2026-01-14"))
    plans.approve_plan(session, plan, actor=world.users["bureau"], now=at("2026-01-15"))
    assert waiting("bureau") == ["发布"]
    plans.publish_plan(session, plan, actor=world.users["bureau"], now=at("2026-01-16"))
    assert all(waiting(user) == [] for user in world.users)
