"""IT projects paid from the fiscal budget (Art. 9): the pre-compiled catalog is the condition of
approval, and acceptance needs every entry of it published; who may do what, Chinese messages,
one change on a double click, audit rows, and what waits on "my work"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from portal import catalog
from portal import it_projects as ip
from portal.errors import Conflict, Forbidden, Invalid, NotFound
from portal.models import AuditEvent, Entry, ItProject, User
from portal.workdays import Calendar

from .support import World, at, at_once, entry_fields


def _draft(session: Session, world: World, title: str) -> Entry:
    entry = catalog.create_entry(session, department=world.dept_a, fields=entry_fields(title=title), actor=world.users["editor_a"],
                                 now=at("2026-03-01"))
    session.commit()
    return entry


def _project(session: Session, world: World, entries: list[str], *, user: str = "editor_a") -> ItProject:
    project = ip.register_project(session, department=world.dept_a, name="经开区智慧停车平台", code="JK-2026-017", summary="建设停车诱导系统",
                                  entries=entries, actor=world.users[user], now=at("2026-03-02"))
    session.commit()
    return project


def _actions(session: Session) -> list[str]:
    return [a for a in session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)) if a.startswith("project:")]


def test_from_registration_to_acceptance(session: Session, world: World) -> None:
    spaces, lots = _draft(session, world, "停车泊位实时数据"), _draft(session, world, "停车场基础信息")
    project = _project(session, world, [spaces.resource_code, "停车场基础信息", spaces.resource_code])
    assert project.state == "registered" and project.entries == [spaces, lots]  # by code or exact title, without repeats
    bureau = world.users["bureau"]
    with pytest.raises(Invalid) as refused:
        ip.approve_project(session, project, actor=bureau, now=at("2026-03-10"), reference="")
    assert "立项批复文号" in refused.value.errors["reference"]
    ip.approve_project(session, project, actor=bureau, now=at("2026-03-10"), reference="合经开发改〔2026〕12号")
    session.commit()
    assert project.state == "approved" and project.approval_reference == "合经开发改〔2026〕12号"

    with pytest.raises(Invalid) as refused:  # the catalog is a necessary part of acceptance
        ip.accept_project(session, project, actor=bureau, now=at("2026-10-10"), reference="验收意见〔2026〕3号")
    assert "尚有2个目录条目未发布" in refused.value.errors["entries"] and "“停车泊位实时数据”" in refused.value.errors["entries"]
    for entry in (spaces, lots):
        catalog.publish_entry(session, entry, actor=world.users["admin_a"], now=at("2026-10-09"))
    session.commit()
    ip.accept_project(session, project, actor=bureau, now=at("2026-10-10"), reference="验收意见〔2026〕3号")
    session.commit()
    assert project.state == "accepted" and project.accepted_by_id == bureau.id
    with pytest.raises(Conflict):
        ip.set_entries(session, project, [spaces.resource_code], actor=world.users["editor_a"], now=at("2026-10-11"))
    assert _actions(session) == ["project:register", "project:approve", "project:accept"]


@pytest.mark.parametrize("refs, message", [
    ([], "至少要包含一个"),
    (["不存在的资源"], "不是本部门的目录条目"),
])
def test_the_catalog_must_name_entries_of_the_department(session: Session, world: World, refs: list[str], message: str) -> None:
    with pytest.raises(Invalid) as refused:
        _project(session, world, refs)
    assert message in refused.value.errors["entries"]


def test_another_departments_entry_is_refused(session: Session, world: World) -> None:
    theirs = catalog.create_entry(session, department=world.dept_b, fields=entry_fields(title="乙局停车数据"), actor=world.users["editor_b"],
                                  now=at("2026-03-01"))
    session.commit()
    with pytest.raises(Invalid) as refused:
        _project(session, world, [theirs.resource_code])
    assert "不是本部门的目录条目" in refused.value.errors["entries"]


@pytest.mark.parametrize("user", ["editor_b", "provider_a", "reviewer", "citizen", "auditor"])
def test_who_may_register(session: Session, world: World, user: str) -> None:
    entry = _draft(session, world, "停车泊位实时数据")
    with pytest.raises(Forbidden):
        _project(session, world, [entry.resource_code], user=user)


def test_only_the_bureau_decides_and_only_the_department_edits(session: Session, world: World) -> None:
    entry = _draft(session, world, "停车泊位实时数据")
    project = _project(session, world, [entry.resource_code], user="admin_a")
    for user in ("admin_a", "editor_a", "auditor"):
        with pytest.raises(Forbidden):
            ip.approve_project(session, project, actor=world.users[user], now=at("2026-03-10"), reference="合经开发改〔2026〕12号")
    with pytest.raises(Forbidden):
        ip.set_entries(session, project, [entry.resource_code], actor=world.users["editor_b"], now=at("2026-03-03"))
    other = _draft(session, world, "停车场基础信息")
    ip.set_entries(session, project, [other.resource_code, entry.resource_code], actor=world.users["editor_a"], now=at("2026-03-03"))
    session.commit()
    assert project.entries == [other, entry] and _actions(session) == ["project:register", "project:entries"]


def test_visibility(session: Session, world: World) -> None:
    project = _project(session, world, [_draft(session, world, "停车泊位实时数据").resource_code])
    for user in ("editor_a", "provider_a", "bureau", "auditor"):
        assert ip.get_project(session, project.id, world.users[user]) is project
        assert ip.projects_for(session, world.users[user]) == [project]
    for user in ("editor_b", "citizen", "reviewer"):
        with pytest.raises(NotFound):
            ip.get_project(session, project.id, world.users[user])
        assert ip.projects_for(session, world.users[user]) == []
    assert ip.projects_for(session, world.users["bureau"], state="accepted") == []


def test_two_approvals_at_once_give_one(engine: Engine, session: Session, world: World) -> None:
    project = _project(session, world, [_draft(session, world, "停车泊位实时数据").resource_code])

    def prepare(own: Session, user: User) -> Callable[[], object]:
        seen = own.get(ItProject, project.id)
        assert seen is not None
        return lambda: ip.approve_project(own, seen, actor=user, now=at("2026-03-10"), reference="合经开发改〔2026〕12号")

    assert sorted(at_once(engine, ["bureau", "bureau"], prepare, done="approved")) == ["approved", "conflict"]
    session.expire_all()
    assert _actions(session) == ["project:register", "project:approve"]


def test_what_waits_on_my_work(session: Session, world: World) -> None:
    from portal import work

    entry = _draft(session, world, "停车泊位实时数据")
    project = _project(session, world, [entry.resource_code])

    def waiting(user: str) -> list[str]:
        return [t.waiting_for for t in work.work_for(world.users[user], work.all_tasks(session, Calendar(), date(2026, 11, 25)))
                if t.kind == "project"]

    assert waiting("bureau") == ["立项"] and waiting("editor_a") == []
    ip.approve_project(session, project, actor=world.users["bureau"], now=at("2026-03-10"), reference="合经开发改〔2026〕12号")
    assert waiting("editor_a") == waiting("admin_a") == ["发布预编目录"] and waiting("bureau") == waiting("editor_b") == []
    catalog.publish_entry(session, entry, actor=world.users["admin_a"], now=at("2026-10-09"))
    assert waiting("bureau") == ["验收"] and waiting("editor_a") == []
