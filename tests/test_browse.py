"""Visibility in SQL agrees with `authz.can`, and lists, counts and facets show only what a
viewer may see."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import browse
from portal.authz import Action, can
from portal.errors import NotFound
from portal.models import Entry
from portal.vocab import EntryStatus, OpenType, ShareType

from .support import ROLE_USERS, World

VIEWERS = [None, *ROLE_USERS]


@pytest.mark.parametrize("viewer", VIEWERS)
def test_visible_clause_agrees_with_can(session: Session, world: World, viewer: str | None) -> None:
    user = world.users[viewer] if viewer else None
    visible = set(session.scalars(select(Entry.id).where(browse.visible_clause(user))))
    expected = {e.id for e in world.entries if can(user, Action.VIEW_ENTRY, e)}
    assert visible == expected
    for entry in world.entries:
        if entry.id in expected:
            assert browse.get_entry(session, entry.slug, user).id == entry.id
        else:
            with pytest.raises(NotFound):
                browse.get_entry(session, entry.slug, user)


@pytest.mark.parametrize("viewer", VIEWERS)
def test_lists_and_counts_hold_only_visible_entries(session: Session, world: World, viewer: str | None) -> None:
    user = world.users[viewer] if viewer else None
    expected = {e.id for e in world.entries if can(user, Action.VIEW_ENTRY, e)}
    page = browse.list_entries(session, user, filters={}, page_size=100)
    assert {e.id for e in page.entries} == expected
    assert page.total == len(expected)
    for facet in page.facets:
        assert sum(count for _value, count in facet.counts) == len(expected), facet.key
    assert browse.catalog_counts(session, user)["entries"] == len(expected)
    counts = dict((d.id, n) for d, n in browse.departments_with_counts(session, user))
    assert counts[world.dept_a.id] == len(expected)
    assert {e.id for e in browse.department_entries(session, world.dept_a, user)} == expected
    newest = browse.newest_entries(session, user, limit=100)
    assert {e.id for e in newest} <= expected


def test_anonymous_sees_the_open_catalog_only(session: Session, world: World) -> None:
    page = browse.list_entries(session, None, filters={}, page_size=100)
    assert page.entries
    for entry in page.entries:
        assert entry.status == EntryStatus.PUBLISHED
        assert entry.open_type in (OpenType.OPEN, OpenType.ON_APPLICATION)


def test_other_department_sees_share_catalog_without_not_shared(session: Session, world: World) -> None:
    page = browse.list_entries(session, world.users["editor_b"], filters={}, page_size=100)
    shares = {e.share_type for e in page.entries if e.open_type == OpenType.CLOSED}
    assert shares == {ShareType.UNCONDITIONAL, ShareType.CONDITIONAL}


def test_filters_and_facet_counts(session: Session, world: World) -> None:
    bureau = world.users["bureau"]
    filters = browse.parse_filters({"share": "conditional", "open": "bogus", "department": "x"})
    assert filters == {"share": ShareType.CONDITIONAL}
    page = browse.list_entries(session, bureau, filters=filters, page_size=5)
    assert page.total == 9 and len(page.entries) == 5 and page.pages == 2
    share_facet = next(f for f in page.facets if f.key == "share")
    # the facet of the chosen filter still counts the other values
    assert dict(share_facet.counts) == {ShareType.UNCONDITIONAL: 9, ShareType.CONDITIONAL: 9, ShareType.NONE: 9}
    open_facet = next(f for f in page.facets if f.key == "open")
    assert dict(open_facet.counts) == {OpenType.OPEN: 3, OpenType.ON_APPLICATION: 3, OpenType.CLOSED: 3}


def test_text_match_escapes_wildcards(session: Session, world: World) -> None:
    bureau = world.users["bureau"]
    assert browse.list_entries(session, bureau, filters={}, text="资源01-").total == 1
    assert browse.list_entries(session, bureau, filters={}, text="%").total == 0
    assert browse.list_entries(session, bureau, filters={}, text="_").total == 0


def test_page_number_is_clamped(session: Session, world: World) -> None:
    page = browse.list_entries(session, None, filters={}, page=999, page_size=2)
    assert page.page == page.pages
