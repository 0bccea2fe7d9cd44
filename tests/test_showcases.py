"""Showcases (成果展示): submission by any signed-in user with field-by-field checks, entries only
from the open catalog, moderation by the Bureau as a compare-and-set (a double click is a
Conflict), the submitter's changes and withdrawal, and the reads: approved only in public, and
a showcase's entries filtered by what the viewer may see."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import showcases as sc
from portal.errors import Conflict, Forbidden, Invalid
from portal.models import AuditEvent, Entry, Showcase
from portal.vocab import EntryStatus, OpenType, ShareType

from .support import NOW, World

LONG = "利用经开区空气质量开放数据，按站点和小时统计污染物浓度的变化，并与气象数据对照，给出了冬季污染的主要成因和建议。"


def _open(world: World, open_: OpenType = OpenType.OPEN) -> Entry:
    return world.entry(ShareType.UNCONDITIONAL, open_, EntryStatus.PUBLISHED)


def _submit(session: Session, world: World, user: str = "citizen", **overrides: Any) -> Showcase:
    values: dict[str, Any] = dict(
        title="空气质量地图", kind="app", description="一张按站点显示空气质量的地图。", url="https://aq.example.cn/",
        entry_ids=[_open(world).id], now=NOW,
    )
    values.update(overrides)
    return sc.submit_showcase(session, user=world.users[user], **values)


def _actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("showcase:%")).order_by(AuditEvent.id)))


@pytest.mark.parametrize("user", ["citizen", "editor_a", "provider_b", "reviewer", "auditor", "bureau"])
def test_any_signed_in_user_submits_a_pending_showcase(session: Session, world: World, user: str) -> None:
    item = _submit(session, world, user, entry_ids=[_open(world).id, _open(world, OpenType.ON_APPLICATION).id, _open(world).id])
    session.commit()
    assert item.state == "pending" and item.slug == f"sc-{item.id}" and item.version == 0
    assert [e.id for e in item.entries] == sorted([_open(world).id, _open(world, OpenType.ON_APPLICATION).id])
    assert item.submitted_by_id == world.users[user].id
    assert _actions(session) == ["showcase:submit"]


def test_a_given_slug_is_used_when_free_and_ascii(session: Session, world: World) -> None:
    assert _submit(session, world, slug="Air-Map").slug == "air-map"
    for slug in ("air-map", "sc-7", "new", "mine", "地图", "a", "-air", "air--map"):
        with pytest.raises(Invalid) as raised:
            _submit(session, world, slug=slug)
        assert set(raised.value.errors) == {"slug"}, slug


@pytest.mark.parametrize("overrides, field", [
    ({"title": " "}, "title"),
    ({"title": "长" * 201}, "title"),
    ({"kind": "game"}, "kind"),
    ({"description": "太短"}, "description"),
    ({"url": "javascript:alert(1)"}, "url"),
    ({"url": "ftp://files.example.cn/a.zip"}, "url"),
    ({"url": "https://"}, "url"),
    ({"url": "https://example.cn/a b"}, "url"),
    ({"url": ""}, "url"),  # an app needs a link
    ({"kind": "visualisation", "url": ""}, "url"),
    ({"kind": "analysis", "url": "", "description": "一篇很短的分析。"}, "description"),  # then the description is the report
    ({"entry_ids": []}, "entries"),
])
def test_bad_fields_are_refused_in_chinese(session: Session, world: World, overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(Invalid) as raised:
        _submit(session, world, **overrides)
    assert field in raised.value.errors and raised.value.errors[field]
    assert session.scalar(select(Showcase.id)) is None


def test_every_problem_is_reported_at_once(session: Session, world: World) -> None:
    with pytest.raises(Invalid) as raised:
        _submit(session, world, title="", kind="x", description="", entry_ids=[], slug="sc-1")
    assert set(raised.value.errors) == {"title", "kind", "description", "entries", "slug"}


def test_an_analysis_may_do_without_a_link(session: Session, world: World) -> None:
    item = _submit(session, world, kind="analysis", url="", description=LONG)
    assert item.url == "" and item.kind == "analysis"


@pytest.mark.parametrize("share, open_, status", [
    (ShareType.UNCONDITIONAL, OpenType.CLOSED, EntryStatus.PUBLISHED),  # not open
    (ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.DRAFT),
    (ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.WITHDRAWN),
])
def test_only_entries_of_the_open_catalog_may_be_linked(session: Session, world: World, share: ShareType, open_: OpenType, status: EntryStatus) -> None:
    hidden = world.entry(share, open_, status)
    with pytest.raises(Invalid) as raised:
        _submit(session, world, "editor_a", entry_ids=[_open(world).id, hidden.id])  # editor_a sees it, the public does not
    assert "不在开放目录中" in raised.value.errors["entries"] and hidden.title not in raised.value.errors["entries"]


def test_entries_are_found_by_resource_code_slug_or_address(session: Session, world: World) -> None:
    first, second = _open(world), _open(world, OpenType.ON_APPLICATION)
    text = f"{first.resource_code}\n https://portal.example.cn/catalog/{second.slug}?tab=files ，{first.slug}"
    assert sc.resolve_entries(session, text) == [first.id, second.id]


def test_unknown_and_non_public_entries_are_refused_alike(session: Session, world: World) -> None:
    closed = world.entry(ShareType.UNCONDITIONAL, OpenType.CLOSED, EntryStatus.PUBLISHED)
    with pytest.raises(Invalid) as raised:
        sc.resolve_entries(session, f"{_open(world).resource_code}\n{closed.resource_code}\n9999999/000001")
    message = raised.value.errors["entries"]
    assert closed.resource_code in message and "9999999/000001" in message and closed.title not in message
    with pytest.raises(Invalid):
        sc.resolve_entries(session, " \n ")


def test_a_user_has_a_limited_number_waiting(session: Session, world: World) -> None:
    for _ in range(sc.MAX_PENDING):
        _submit(session, world)
    with pytest.raises(Invalid) as raised:
        _submit(session, world)
    assert "" in raised.value.errors
    _submit(session, world, "editor_a")  # someone else still may


# -- moderation ----------------------------------------------------------------------------


def test_the_bureau_approves_once_and_a_double_click_is_a_conflict(session: Session, world: World) -> None:
    item = _submit(session, world)
    session.commit()
    sc.approve_showcase(session, item, actor=world.users["bureau"], now=NOW, version=0)
    session.commit()
    assert (item.state, item.version, item.decided_by_id) == ("approved", 1, world.users["bureau"].id)
    with pytest.raises(Conflict):
        sc.approve_showcase(session, item, actor=world.users["bureau"], now=NOW, version=0)
    with pytest.raises(Conflict):  # a reject from the same, stale page
        sc.reject_showcase(session, item, actor=world.users["bureau"], reason="内容与开放数据无关", now=NOW, version=0)
    session.rollback()
    assert _actions(session) == ["showcase:submit", "showcase:approve"]


def test_two_deciders_at_once_give_one_decision(session: Session, world: World, engine: Any) -> None:
    from portal.db import make_sessionmaker

    item = _submit(session, world)
    session.commit()
    with make_sessionmaker(engine)() as other:
        stale = other.get(Showcase, item.id)
        assert stale is not None and stale.state == "pending"
        sc.approve_showcase(session, item, actor=world.users["bureau"], now=NOW)
        session.commit()
        bureau = other.get(type(world.users["bureau"]), world.users["bureau"].id)
        with pytest.raises(Conflict):
            sc.reject_showcase(other, stale, actor=bureau, reason="重复的成果", now=NOW)  # type: ignore[arg-type]
        other.rollback()
    session.expire_all()
    assert session.get(Showcase, item.id).state == "approved"  # type: ignore[union-attr]


@pytest.mark.parametrize("user", ["citizen", "editor_a", "admin_a", "reviewer", "auditor"])
def test_only_the_bureau_moderates(session: Session, world: World, user: str) -> None:
    item = _submit(session, world)
    with pytest.raises(Forbidden):
        sc.approve_showcase(session, item, actor=world.users[user], now=NOW)
    with pytest.raises(Forbidden):
        sc.reject_showcase(session, item, actor=world.users[user], reason="不符合要求的成果", now=NOW)
    assert item.state == "pending"


def test_a_rejection_needs_a_reason_which_the_submitter_sees_and_answers(session: Session, world: World) -> None:
    item = _submit(session, world)
    session.commit()
    with pytest.raises(Invalid) as raised:
        sc.reject_showcase(session, item, actor=world.users["bureau"], reason=" 不行 ", now=NOW)
    assert "reason" in raised.value.errors
    sc.reject_showcase(session, item, actor=world.users["bureau"], reason="链接无法访问，请修正后重新提交", now=NOW)
    session.commit()
    assert (item.state, item.reason) == ("rejected", "链接无法访问，请修正后重新提交")
    assert sc.showcases_of_user(session, world.users["citizen"]) == [item]

    with pytest.raises(Forbidden):
        sc.update_showcase(session, item, user=world.users["editor_a"], title="改名", kind="app", description=LONG,
                           url="https://aq.example.cn/", entry_ids=[_open(world).id], now=NOW)
    later = NOW + timedelta(days=1)
    sc.update_showcase(session, item, user=world.users["citizen"], title="空气质量地图（新版）", kind="visualisation", description=LONG,
                       url="https://aq.example.cn/v2", entry_ids=[_open(world, OpenType.ON_APPLICATION).id], now=later, version=1)
    session.commit()
    assert (item.state, item.reason, item.title, item.kind, item.decided_at) == ("pending", "", "空气质量地图（新版）", "visualisation", None)
    assert [e.id for e in item.entries] == [_open(world, OpenType.ON_APPLICATION).id]
    assert _actions(session) == ["showcase:submit", "showcase:reject", "showcase:submit"]


def test_an_approved_showcase_is_not_edited_but_may_be_withdrawn_or_taken_down(session: Session, world: World) -> None:
    item = _submit(session, world)
    sc.approve_showcase(session, item, actor=world.users["bureau"], now=NOW)
    with pytest.raises(Conflict):
        sc.update_showcase(session, item, user=world.users["citizen"], title="改名了", kind="app", description=LONG,
                           url="https://aq.example.cn/", entry_ids=[_open(world).id], now=NOW)
    with pytest.raises(Forbidden):
        sc.withdraw_showcase(session, item, user=world.users["editor_a"], now=NOW)
    sc.withdraw_showcase(session, item, user=world.users["citizen"], now=NOW)
    assert item.state == "withdrawn" and sc.approved_showcases(session) == []
    with pytest.raises(Conflict):
        sc.withdraw_showcase(session, item, user=world.users["citizen"], now=NOW)

    other = _submit(session, world)
    sc.approve_showcase(session, other, actor=world.users["bureau"], now=NOW)
    sc.reject_showcase(session, other, actor=world.users["bureau"], reason="发现含有不实内容，撤下", now=NOW)
    assert other.state == "rejected" and sc.approved_showcases(session) == []
    assert _actions(session)[-3:] == ["showcase:submit", "showcase:approve", "showcase:reject"]


# -- reading -------------------------------------------------------------------------------


def test_public_reads_list_only_approved_showcases_newest_first(session: Session, world: World) -> None:
    entry = _open(world)
    first = _submit(session, world, title="第一个应用")
    second = _submit(session, world, title="第二个作品", kind="visualisation")
    pending = _submit(session, world, title="待审核的作品")
    rejected = _submit(session, world, title="被驳回的作品")
    unrelated = _submit(session, world, title="别的数据", entry_ids=[_open(world, OpenType.ON_APPLICATION).id])
    bureau = world.users["bureau"]
    sc.approve_showcase(session, first, actor=bureau, now=NOW)
    sc.approve_showcase(session, second, actor=bureau, now=NOW + timedelta(hours=1))
    sc.approve_showcase(session, unrelated, actor=bureau, now=NOW - timedelta(hours=1))
    sc.reject_showcase(session, rejected, actor=bureau, reason="与开放数据无关", now=NOW)
    session.commit()

    assert sc.approved_showcases(session) == [second, first, unrelated]
    assert sc.approved_showcases(session, kind="visualisation") == [second]
    assert sc.showcases_of_entry(session, entry) == [second, first]
    assert sc.pending_showcases(session) == [pending]
    assert sc.showcases_of_user(session, world.users["editor_a"]) == []


def test_a_showcase_lists_only_the_entries_the_viewer_may_see(session: Session, world: World) -> None:
    kept, leaving = _open(world, OpenType.ON_APPLICATION), _open(world)
    item = _submit(session, world, entry_ids=[kept.id, leaving.id])
    sc.approve_showcase(session, item, actor=world.users["bureau"], now=NOW)
    leaving.status = EntryStatus.WITHDRAWN  # its department withdraws it from the open catalog
    session.commit()

    assert sc.approved_showcases(session) == [item]  # still shown
    assert sc.visible_entries(session, item, None) == [kept]
    assert sc.visible_entries(session, item, world.users["citizen"]) == [kept]
    assert sc.visible_entries_of(session, [item], world.users["editor_a"]) == {item.id: sorted([kept, leaving], key=lambda e: e.id)}
    assert sc.showcases_of_entry(session, leaving) == [item]  # for who may still see that entry's page


def test_approval_is_refused_when_no_entry_is_still_open(session: Session, world: World) -> None:
    entry = _open(world)
    item = _submit(session, world, entry_ids=[entry.id])
    entry.status = EntryStatus.WITHDRAWN
    with pytest.raises(Invalid):
        sc.approve_showcase(session, item, actor=world.users["bureau"], now=NOW)
    assert item.state == "pending"
