"""package_search's tag and format facets in the search index, and how many SQL statements
package_show and package_search issue (a bounded number, whatever the size of the entries)."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from portal import ckan
from portal.authz import OPEN_CATALOG, Action, can
from portal.models import Entry
from portal.pipeline import ingest
from portal.vocab import EntryStatus, OpenType, ShareType

from .support import NOW, World
from .test_ckan import call_as

FACETS = '["tags", "res_format", "organization", "open_type"]'


@pytest.fixture
def described(session: Session, app: Flask, world: World) -> World:
    """Keywords on every entry (one of them twice on some), and files on the published ones of
    无条件开放: CSV on all (the same format twice, in two cases, on some), XML on some, and a PDF
    replaced by a JSON file on one (only current files count)."""
    store = app.extensions["portal.files"]
    words = ["空气", "监测", "站点", "质量"]
    for number, entry in enumerate(world.entries):
        entry.keywords = [words[number % 4], words[(number + 1) % 4], "资源", words[number % 4]][: 2 + number % 3]
    published = [e for e in world.entries if e.status == EntryStatus.PUBLISHED and e.open_type == OpenType.OPEN]
    for number, entry in enumerate(published):
        ingest(session, store, entry, source=io.BytesIO(f"站点,指数\nA,{number}\n".encode()), name="监测.csv", actor=None, now=NOW)
        if number % 2 == 0:
            ingest(session, store, entry, source=io.BytesIO(f"站点\nB{number}\n".encode()), name="另一份.CSV", actor=None, now=NOW)
        if number % 3 == 0:
            ingest(session, store, entry, source=io.BytesIO(f"<a>{number}</a>".encode()), name="目录.xml", actor=None, now=NOW)
    session.commit()
    old = ingest(session, store, published[0], source=io.BytesIO(b"%PDF-1.4 old"), name="说明.pdf", actor=None, now=NOW)
    session.commit()
    ingest(session, store, published[0], source=io.BytesIO(b'{"a": 1}'), name="说明.json", actor=None, now=NOW, replaces=old)
    session.commit()
    return world


QUERIES = [
    {"q": "甲局资源", "facet.field": FACETS},
    {"q": "甲局资源", "facet.field": '["tags"]', "rows": 3},
    {"q": "资源 -none", "facet.field": '["res_format", "share_type"]', "facet.limit": -1},
    {"q": "甲局资源", "fq": "open_type:open", "facet.field": FACETS, "include_private": True},
    {"q": "甲局", "rows": 4, "start": 4, "include_private": True, "facet.field": FACETS, "sort": "title_string asc"},
    {"q": "甲局资源", "include_private": True, "include_drafts": True, "include_deleted": True, "facet.field": FACETS},
]


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("who", [None, "editor_b", "reviewer", "bureau"])
def test_tag_and_format_facets_from_the_index_equal_those_of_the_database(
    session: Session, app: Flask, described: World, query: dict[str, Any], who: str | None, monkeypatch: pytest.MonkeyPatch,
) -> None:
    call = call_as(session, app, described.users.get(who or ""))
    taken = []
    index_path = ckan.search._search_index
    monkeypatch.setattr(ckan.search, "_search_index", lambda *args: taken.append(index_path(*args)) or taken[-1])
    fast = ckan.package_search(call, dict(query))
    monkeypatch.setattr(ckan.search, "_search_index", lambda *args: None)
    slow = ckan.package_search(call, dict(query))
    assert taken[0] is not None or (who in ("editor_b", "bureau") and query.get("include_private") and not query.get("include_deleted"))
    assert fast["count"] == slow["count"]
    assert [p["name"] for p in fast["results"]] == [p["name"] for p in slow["results"]]
    assert fast["facets"] == slow["facets"]
    assert fast["search_facets"] == slow["search_facets"]


def test_tag_and_format_counts(session: Session, app: Flask, described: World) -> None:
    """Each entry counts once per keyword and per format (in capitals), current files only."""
    found = ckan.package_search(call_as(session, app), {"q": "甲局资源", "facet.field": '["tags", "res_format"]', "rows": 0})
    visible = [e for e in described.entries if e.status == EntryStatus.PUBLISHED and e.open_type in OPEN_CATALOG]
    assert found["count"] == len(visible) > 0
    assert found["facets"]["tags"] == dict(Counter(k for e in visible for k in set(e.keywords)))
    published = [e for e in visible if e.open_type == OpenType.OPEN]
    expected = Counter({"CSV": len(published), "XML": len(published[::3]), "JSON": 1})
    assert found["facets"]["res_format"] == dict(expected)
    items = {i["name"]: i["count"] for i in found["search_facets"]["res_format"]["items"]}
    assert items == dict(expected) and "PDF" not in items


def test_an_entry_whose_keywords_change_is_counted_anew(session: Session, app: Flask, described: World) -> None:
    entry = described.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.PUBLISHED)
    query = {"q": "甲局资源", "facet.field": '["tags"]', "rows": 0}
    before = ckan.package_search(call_as(session, app), dict(query))["facets"]["tags"]
    entry.keywords = ["新词"]
    session.commit()
    after = ckan.package_search(call_as(session, app), dict(query))["facets"]["tags"]
    assert after["新词"] == 1 and sum(after.values()) < sum(before.values())


# -- how many statements -------------------------------------------------------------------


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


@pytest.mark.parametrize("who", [None, "citizen", "editor_b", "bureau"])
def test_package_show_issues_a_few_statements_however_many_files_and_items(session: Session, app: Flask, described: World, who: str | None) -> None:
    user = described.users.get(who or "")
    shown = [e for e in described.entries if can(user, Action.VIEW_ENTRY, e)]
    counts = {}
    for entry in shown:
        session.expunge_all()
        with statements(session.get_bind()) as seen:  # type: ignore[arg-type]
            package = ckan.package_show(call_as(session, app, user), {"id": entry.slug})
        counts[entry.slug] = len(seen)
        assert package["name"] == entry.slug
    replaced = described.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.PUBLISHED)  # its files have revisions
    # the entry (with its department), its data items, its current files; a replaced file's revisions;
    # a signed-in caller's pending review and grants
    most = 3 + (2 if user is not None else 0)
    assert all(n <= most for slug, n in counts.items() if slug != replaced.slug), counts
    assert counts.get(replaced.slug, 0) <= most + 1
    if user is None:
        assert set(counts.values()) <= {3, 4}


@pytest.mark.parametrize("rows", [1, 5, 20])
def test_package_search_issues_the_same_statements_for_any_page(session: Session, app: Flask, described: World, rows: int) -> None:
    query = {"q": "甲局资源", "facet.field": FACETS, "rows": rows}
    ckan.package_search(call_as(session, app), dict(query))  # the index caught up with the fixture's writes
    session.expunge_all()
    with statements(session.get_bind()) as seen:  # type: ignore[arg-type]
        found = ckan.package_search(call_as(session, app), dict(query))
    assert len(found["results"]) == min(rows, found["count"])
    # the search outbox, the departments, and the entries with their items and files (and the
    # revisions of one replaced file)
    assert len(seen) <= 6, seen


def test_the_search_results_are_those_the_viewer_may_see_even_from_a_stale_index(
    session: Session, app: Flask, described: World,
) -> None:
    """An entry the index still holds as open but the database no longer does is not listed."""
    entry = described.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.PUBLISHED)
    search = app.extensions["portal.search"]
    ckan.package_search(call_as(session, app), {"q": "甲局资源"})
    session.execute(Entry.__table__.update().where(Entry.id == entry.id).values(status=EntryStatus.WITHDRAWN.value))  # no outbox
    session.commit()
    found = ckan.package_search(call_as(session, app), {"q": "甲局资源", "rows": 100})
    assert entry.slug not in [p["name"] for p in found["results"]]
    assert search.backend.ids() >= {entry.id}
