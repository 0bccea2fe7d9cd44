"""Open-attribute review (Art. 16, 23): a proposed open type takes effect only when a disclosure
reviewer approves it with the open-risk assessment; narrowing takes effect at once; personal
information left in a file blocks approval; two reviewers acting at once give one decision."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from portal import catalog, open_review
from portal.accounts import create_user
from portal.authz import Action, can
from portal.errors import Conflict, Forbidden, Invalid
from portal.files import FileStore
from portal.models import AuditEvent, Entry, EntryVersion, OpenReview, User
from portal.pipeline import ingest, mask_file
from portal.vocab import EntryStatus, OpenType, Role, ShareType

from .support import NOW, PASSWORD, World, at_once, entry_fields

YES = {key: True for key in open_review.CHECKLIST}


def _new(session: Session, world: World, **fields: object) -> Entry:
    entry = catalog.create_entry(
        session, department=world.dept_a, fields=entry_fields(**fields), actor=world.users["editor_a"], now=NOW, status=EntryStatus.PUBLISHED,
    )
    session.commit()
    return entry


def test_a_proposed_open_type_waits_for_the_reviewer(session: Session, world: World) -> None:
    entry = _new(session, world)
    review = open_review.pending(session, entry)
    assert entry.open_type == OpenType.CLOSED and review is not None and review.proposed == OpenType.OPEN
    assert not can(None, Action.VIEW_ENTRY, entry)  # not in the open catalog until reviewed
    assert open_review.proposed_open_type(session, entry) == (OpenType.OPEN, "")
    tasks = open_review.tasks(session, None, NOW.date())  # type: ignore[arg-type]
    assert [t.id for t in tasks] == [review.id] and tasks[0].assignee.includes(world.users["reviewer"])
    assert not tasks[0].assignee.includes(world.users["bureau"])

    open_review.approve(session, review, actor=world.users["reviewer"], now=NOW, checklist=YES, conclusion="经评估，可以无条件开放")
    session.commit()
    assert entry.open_type == OpenType.OPEN and can(None, Action.VIEW_ENTRY, entry)
    assert review.state == "approved" and review.reviewer == "reviewer" and review.checklist == YES and review.scan == []
    version = session.scalars(select(EntryVersion).where(EntryVersion.entry_id == entry.id).order_by(EntryVersion.number.desc())).first()
    assert version is not None and version.action == "review" and version.actor == "reviewer"
    assert any(c["field"] == "open_type" and c["new"] == "无条件开放" for c in version.changes)
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-2:] == ["entry:review", "review:approve"] and "review:propose" in actions


def test_approval_needs_the_whole_assessment_and_a_conclusion(session: Session, world: World) -> None:
    review = open_review.pending(session, _new(session, world))
    assert review is not None
    with pytest.raises(Invalid) as refused:
        open_review.approve(session, review, actor=world.users["reviewer"], now=NOW, checklist={**YES, "no_privacy": False}, conclusion="")
    assert "个人隐私" in refused.value.errors["checklist"] and "conclusion" in refused.value.errors
    session.rollback()
    for user in ("bureau", "admin_a", "citizen"):
        with pytest.raises(Forbidden):
            open_review.approve(session, review, actor=world.users[user], now=NOW, checklist=YES, conclusion="可以开放")
    assert review.state == "pending"


def test_rejection_keeps_the_type_in_effect(session: Session, world: World) -> None:
    entry = _new(session, world, open_type=OpenType.ON_APPLICATION)
    review = open_review.pending(session, entry)
    assert review is not None
    with pytest.raises(Invalid):
        open_review.reject(session, review, actor=world.users["reviewer"], now=NOW, conclusion="")
    open_review.reject(session, review, actor=world.users["reviewer"], now=NOW, conclusion="涉及商业秘密，依第十六条不予开放")
    session.commit()
    assert review.state == "rejected" and entry.open_type == OpenType.CLOSED and open_review.pending(session, entry) is None
    with pytest.raises(Conflict):  # a decided review cannot be decided again
        open_review.approve(session, review, actor=world.users["reviewer"], now=NOW, checklist=YES, conclusion="可以开放")


def test_narrowing_is_immediate_and_a_new_proposal_replaces_the_old(session: Session, world: World) -> None:
    entry = _new(session, world, open_type=OpenType.ON_APPLICATION)
    first = open_review.pending(session, entry)
    assert first is not None
    editor, published = world.users["editor_a"], entry.publish_date
    assert not catalog.update_entry(session, entry, entry_fields(open_type=OpenType.ON_APPLICATION, publish_date=published), actor=editor, now=NOW)  # the same wish again
    assert catalog.update_entry(session, entry, entry_fields(open_type=OpenType.OPEN, publish_date=published), actor=editor, now=NOW)
    second = open_review.pending(session, entry)
    assert second is not None and second.id != first.id and second.proposed == OpenType.OPEN and first.state == "withdrawn"
    open_review.approve(session, second, actor=world.users["reviewer"], now=NOW, checklist=YES, conclusion="可以无条件开放")
    assert entry.open_type == OpenType.OPEN
    assert catalog.update_entry(session, entry, entry_fields(open_type=OpenType.CLOSED, publish_date=published), actor=editor, now=NOW)
    assert entry.open_type == OpenType.CLOSED and open_review.pending(session, entry) is None  # closing needs nobody
    session.commit()


def test_personal_information_blocks_approval_until_masked(session: Session, world: World, tmp_path: Path) -> None:
    store = FileStore(tmp_path / "files")
    entry = _new(session, world, items=[], share_type=ShareType.CONDITIONAL)
    data = "name,phone\r\n张三丰,13812345678\r\n李四,13398053857\r\n".encode()
    import io

    record = ingest(session, store, entry, source=io.BytesIO(data), name="名单.csv", title="", actor=world.users["provider_a"], now=NOW)
    session.commit()
    review = open_review.pending(session, entry)
    assert review is not None
    scan = open_review.scan_summary(entry, review.proposed)
    assert scan[0]["problems"] and {f["label"] for f in scan[0]["findings"]} >= {"手机号码"}
    with pytest.raises(Invalid) as refused:
        open_review.approve(session, review, actor=world.users["reviewer"], now=NOW, checklist=YES, conclusion="可以开放")
    assert "个人信息" in refused.value.errors["scan"]
    session.rollback()
    open_review.record_imported(session, entry, conclusion="导入", actor_name="数据包导入", now=NOW)
    assert review.state == "pending"  # an import cannot wave it through either

    mask_file(session, store, record, actor=world.users["provider_a"], now=NOW)
    session.commit()
    open_review.approve(session, review, actor=world.users["reviewer"], now=NOW, checklist=YES, conclusion="已脱敏，可以开放")
    session.commit()
    assert entry.open_type == OpenType.OPEN
    kept = {s["file"]: s for s in review.scan}
    assert kept["名单.csv"]["findings"] and not any(s["problems"] for s in review.scan)
    assert all("13812345678" not in str(s) for s in review.scan)  # counts and kinds, never values


def test_important_data_is_never_opened(session: Session, world: World) -> None:
    with pytest.raises(Invalid):
        catalog.parse_entry({**_input(), "security_level": "important", "open_type": "open"})


def _input() -> dict[str, object]:
    fields = entry_fields()
    data: dict[str, object] = {key: getattr(fields, key) for key in catalog.FIELD_LABELS if hasattr(fields, key) and key != "items"}
    data["items"] = [{"title": i.title, "name": i.name, "data_type": i.data_type} for i in fields.items]
    return data


def test_two_reviewers_at_once_make_one_decision(engine: Engine, session: Session, world: World) -> None:
    create_user(session, username="reviewer2", role=Role.REVIEWER, department=None, password=PASSWORD, display_name="reviewer2", now=NOW)
    review = open_review.pending(session, _new(session, world))
    assert review is not None
    session.commit()

    def decide(own: Session, actor: User) -> Callable[[], object]:
        mine = own.get(OpenReview, review.id)
        assert mine is not None
        if actor.username == "reviewer":  # approves; reviewer2 rejects
            return lambda: open_review.approve(own, mine, actor=actor, now=NOW, checklist=YES, conclusion="可以无条件开放")
        return lambda: open_review.reject(own, mine, actor=actor, now=NOW, conclusion="不宜开放，理由如下")

    outcomes = at_once(engine, ("reviewer", "reviewer2"), decide, done="decided")
    assert sorted(outcomes) == ["conflict", "decided"]
    session.expire_all()
    decided = session.get(OpenReview, review.id)
    assert decided is not None and decided.state in ("approved", "rejected") and decided.version == 1
    entry = session.get(Entry, decided.entry_id)
    assert entry is not None and (entry.open_type == OpenType.OPEN) == (decided.state == "approved")
