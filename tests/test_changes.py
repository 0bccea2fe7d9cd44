"""The change feed: created, changed and removed in the order they happened, per viewer, with
a cursor that continues exactly where the last page ended; hidden entries never show."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from portal import open_review
from portal.catalog import create_entry, publish_entry, update_entry, withdraw_entry
from portal.changes import ChangePage, changes_since, open_cursor, parse_limit, seal_cursor
from portal.errors import Invalid
from portal.models import Entry, User
from portal.vocab import EntryStatus, OpenType, ShareType

from .support import NOW, World, entry_fields

HOUR = timedelta(hours=1)


def kinds(page: ChangePage) -> list[tuple[str, int]]:
    return [(change.kind, change.entry.id) for change in page.changes]


def _open(world: World) -> Entry:
    return world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.PUBLISHED)


def _story(session: Session, world: World) -> tuple[Entry, Entry, Entry]:
    """After NOW: a new open entry is created and published, an open one changed, another withdrawn."""
    admin = world.users["admin_a"]
    new = create_entry(session, department=world.dept_a, fields=entry_fields(title="新资源"), actor=admin, now=NOW + HOUR,
                       status=EntryStatus.PUBLISHED)
    open_review.record_imported(session, new, conclusion="测试数据，开放属性视为已审查", actor_name="测试", now=NOW + HOUR)
    changed = _open(world)
    update_entry(session, changed, entry_fields(title="改过的资源", open_type=OpenType.OPEN), actor=admin, now=NOW + 2 * HOUR)
    gone = world.entry(ShareType.CONDITIONAL, OpenType.OPEN, EntryStatus.PUBLISHED)
    withdraw_entry(session, gone, actor=admin, now=NOW + 3 * HOUR)
    session.commit()
    return new, changed, gone


@pytest.mark.parametrize("username", [None, "editor_b", "citizen"])
def test_created_changed_and_removed_in_order(session: Session, world: World, username: str | None) -> None:
    viewer = world.users[username] if username else None
    start = changes_since(session, viewer)
    assert not start.has_more
    new, changed, gone = _story(session, world)
    page = changes_since(session, viewer, cursor=start.cursor)
    assert kinds(page) == [("created", new.id), ("changed", changed.id), ("removed", gone.id)]
    assert [c.action for c in page.changes] == ["review-approved", "changed", None]
    assert [c.at for c in page.changes] == [NOW + HOUR, NOW + 2 * HOUR, NOW + 3 * HOUR]
    assert not page.has_more
    assert changes_since(session, viewer, cursor=page.cursor).changes == []  # polled again: nothing new


def test_a_cursor_pages_through_without_gaps_or_repeats(session: Session, world: World) -> None:
    start = changes_since(session, None)
    new, changed, gone = _story(session, world)
    first = changes_since(session, None, cursor=start.cursor, limit=2)
    assert kinds(first) == [("created", new.id), ("changed", changed.id)] and first.has_more
    second = changes_since(session, None, cursor=first.cursor, limit=2)
    assert kinds(second) == [("removed", gone.id)] and not second.has_more
    later = world.entry(ShareType.NONE, OpenType.OPEN, EntryStatus.PUBLISHED)
    update_entry(session, later, entry_fields(title="又改了", share_type=ShareType.NONE, open_type=OpenType.OPEN), actor=None, now=NOW + 5 * HOUR)
    session.commit()
    assert kinds(changes_since(session, None, cursor=second.cursor)) == [("changed", later.id)]


def test_since_a_time(session: Session, world: World) -> None:
    _new, changed, gone = _story(session, world)
    page = changes_since(session, None, since=NOW + 90 * timedelta(minutes=1))
    assert kinds(page) == [("changed", changed.id), ("removed", gone.id)]
    assert changes_since(session, None, since=NOW + 4 * HOUR).changes == []


def test_from_the_beginning_only_what_the_viewer_sees(session: Session, world: World) -> None:
    page = changes_since(session, None)
    visible = {e.id for e in world.entries if e.status == EntryStatus.PUBLISHED and e.open_type != OpenType.CLOSED}
    assert {entry_id for kind, entry_id in kinds(page)} == visible
    assert {kind for kind, _ in kinds(page)} == {"created"}
    bureau = changes_since(session, world.users["bureau"])
    assert {c.entry.id for c in bureau.changes} == {e.id for e in world.entries}


def test_hidden_entries_never_appear_not_even_as_removed(session: Session, world: World) -> None:
    start = {name: changes_since(session, world.users.get(name)) for name in ("editor_b", "citizen")}
    draft = world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.DRAFT)
    update_entry(session, draft, entry_fields(title="草稿改名", open_type=OpenType.OPEN), actor=None, now=NOW + HOUR)
    closed = world.entry(ShareType.NONE, OpenType.CLOSED, EntryStatus.PUBLISHED)  # neither shared nor open
    withdraw_entry(session, closed, actor=None, now=NOW + 2 * HOUR)
    session.commit()
    for name, page in start.items():
        assert changes_since(session, world.users[name], cursor=page.cursor).changes == []
    owner = changes_since(session, world.users["editor_a"], since=NOW + 30 * timedelta(minutes=1))
    assert kinds(owner) == [("changed", draft.id), ("changed", closed.id)]
    assert [c.action for c in owner.changes] == ["changed", "withdrawn"]


def test_closing_an_entry_removes_it_for_the_public_only(session: Session, world: World) -> None:
    viewers: dict[str, User | None] = {"anonymous": None, "editor_b": world.users["editor_b"], "reviewer": world.users["reviewer"]}
    start = {name: changes_since(session, user) for name, user in viewers.items()}
    entry = _open(world)  # unconditionally shared: departments still see it once closed
    update_entry(session, entry, entry_fields(open_type=OpenType.CLOSED), actor=None, now=NOW + HOUR)
    session.commit()
    assert entry.open_type == OpenType.CLOSED  # narrowing needs no review
    got = {name: kinds(changes_since(session, user, cursor=start[name].cursor)) for name, user in viewers.items()}
    assert got == {"anonymous": [("removed", entry.id)], "editor_b": [("changed", entry.id)], "reviewer": [("changed", entry.id)]}


def test_an_entry_removed_and_back_is_changed_for_who_had_it(session: Session, world: World) -> None:
    start = changes_since(session, None)
    entry = _open(world)
    withdraw_entry(session, entry, actor=None, now=NOW + HOUR)
    publish_entry(session, entry, actor=None, now=NOW + 2 * HOUR)
    session.commit()
    page = changes_since(session, None, cursor=start.cursor)
    assert kinds(page) == [("changed", entry.id)] and page.changes[0].action == "published"
    middle = changes_since(session, None, since=NOW + 90 * timedelta(minutes=1))
    assert kinds(middle) == [("created", entry.id)]  # gone at that time: new again


def test_a_removed_entry_is_reported_at_its_removal(session: Session, world: World) -> None:
    start = changes_since(session, None)
    entry = _open(world)
    withdraw_entry(session, entry, actor=None, now=NOW + HOUR)
    update_entry(session, entry, entry_fields(title="撤销后又改", open_type=OpenType.OPEN), actor=None, now=NOW + 2 * HOUR)
    session.commit()
    page = changes_since(session, None, cursor=start.cursor)
    assert [(c.kind, c.at) for c in page.changes] == [("removed", NOW + HOUR)]
    assert changes_since(session, None, since=NOW + 90 * timedelta(minutes=1)).changes == []


def test_cursors_are_sealed() -> None:
    token = seal_cursor(12345, "secret")
    assert "12345" not in token
    assert open_cursor(token, "secret") == 12345
    tampered = token[:20] + ("A" if token[20] != "A" else "B") + token[21:]
    for bad in (tampered, "12345", "", "中文"):
        with pytest.raises(Invalid):
            open_cursor(bad, "secret")
    with pytest.raises(Invalid):
        open_cursor(token, "another secret")


@pytest.mark.parametrize("text, ok", [(None, True), ("1", True), ("1000", True), ("0", False), ("1001", False), ("x", False)])
def test_parse_limit(text: str | None, ok: bool) -> None:
    if ok:
        assert 1 <= parse_limit(text) <= 1000
    else:
        with pytest.raises(Invalid):
            parse_limit(text)
