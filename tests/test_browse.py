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
from portal.vocab import ShareType, UpdateCycle

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
def test_counts_hold_only_visible_entries(session: Session, world: World, viewer: str | None) -> None:
    user = world.users[viewer] if viewer else None
    expected = {e.id for e in world.entries if can(user, Action.VIEW_ENTRY, e)}
    assert browse.catalog_counts(session, user)["entries"] == len(expected)
    counts = dict((d.id, n) for d, n in browse.departments_with_counts(session, user))
    assert counts[world.dept_a.id] == len(expected)
    assert {e.id for e in browse.department_entries(session, world.dept_a, user)} == expected
    newest = browse.newest_entries(session, user, limit=100)
    assert {e.id for e in newest} <= expected


def test_filters_from_query_parameters() -> None:
    assert browse.parse_filters({"share": "conditional", "open": "bogus", "department": "x", "cycle": "daily"}) == {
        "share": ShareType.CONDITIONAL,
        "cycle": UpdateCycle.DAILY,
    }
