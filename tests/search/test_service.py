"""Searching as each viewer, through the configured backend: visibility inside the query,
facets against the database, Chinese words, pinyin, synonyms, suggestions."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import catalog
from portal.authz import Action, can
from portal.models import Entry
from portal.search.service import Search, search_catalog
from portal.vocab import EntryStatus, OpenType, Role, ShareType

from ..support import NOW, ROLE_USERS, ROOT, World

VIEWERS = [None, *ROLE_USERS]
BUREAU = SimpleNamespace(role=Role.BUREAU, department_id=None)


@pytest.fixture
def search(app: Flask) -> Search:
    return app.extensions["portal.search"]


def run(session: Session, search: Search, user: Any, text: str = "", **kwargs: Any):  # type: ignore[no-untyped-def]
    kwargs.setdefault("filters", {})
    kwargs.setdefault("page_size", 100)
    return search_catalog(session, search, user, text=text, **kwargs)


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("text", ["", "甲局资源", "测试"])
def test_a_viewer_finds_and_counts_only_what_he_may_see(session: Session, search: Search, world: World, viewer: str | None, text: str) -> None:
    user = world.users[viewer] if viewer else None
    expected = {e.id for e in world.entries if can(user, Action.VIEW_ENTRY, e)}
    page = run(session, search, user, text)
    assert {e.id for e in page.entries} == expected
    assert page.total == len(expected)
    for facet in page.facets:
        assert sum(count for _value, count in facet.counts) == len(expected), facet.key
    hidden_titles = [e.title for e in world.entries if e.id not in expected]
    rendered = " ".join(page.snippets.values())
    assert not any(title in rendered for title in hidden_titles)


def test_facet_counts_equal_a_recount_of_the_database(session: Session, search: Search, world: World) -> None:
    bureau = world.users["bureau"]
    page = run(session, search, bureau, filters={"share": ShareType.CONDITIONAL})
    entries = session.scalars(select(Entry).where(Entry.share_type == ShareType.CONDITIONAL)).all()
    assert page.total == len(entries) == 9
    counts = {facet.key: {getattr(v, "value", getattr(v, "id", v)): n for v, n in facet.counts} for facet in page.facets}
    assert counts["open"] == {k.value: n for k, n in Counter(e.open_type for e in entries).items()}
    assert counts["share"] == {"conditional": 9}
    assert counts["department"] == {world.dept_a.id: 9}


def test_sorting_and_pages(session: Session, search: Search, world: World) -> None:
    bureau = world.users["bureau"]
    by_name = run(session, search, bureau, sort="name", page_size=5)
    assert by_name.total == 27 and len(by_name.entries) == 5 and by_name.pages == 6
    last = run(session, search, bureau, sort="name", page=99, page_size=5)
    assert last.page == 6 and len(last.entries) == 2
    titles = [e.title for p in range(1, 7) for e in run(session, search, bureau, sort="name", page=p, page_size=5).entries]
    assert titles == sorted(titles)


@pytest.fixture
def sample(app: Flask, session: Session) -> None:
    from portal.datapackages import load_datasets

    load_datasets(session, ROOT / "datasets", store=app.extensions["portal.files"], now=NOW)
    session.commit()


@pytest.mark.parametrize(
    "text, slug",
    [
        ("空气质量", "air-quality-hourly"),
        ("kqzl", "air-quality-hourly"),
        ("kongqi", "air-quality-hourly"),
        ("qiye dengji", "enterprise-registration"),
        ("qydj", "enterprise-registration"),
        ("市场监管局 登记", "enterprise-registration"),  # the department is 市场监督管理局
        ("公共交通", "bus-lines-stops"),  # the entry says 公交
        ("中小学", "school-directory"),  # the data is GBK; the metadata is what is indexed
        ('"统一社会信用代码"', "enterprise-registration"),
        ("锦绣大道", None),
    ],
)
def test_citizen_queries_on_the_sample_catalog(session: Session, search: Search, sample: None, text: str, slug: str | None) -> None:
    page = run(session, search, None, text)
    slugs = [e.slug for e in page.entries]
    if slug is None:
        assert page.total == len(slugs)
    else:
        assert slug in slugs, (text, slugs)
        assert page.snippets[page.entries[slugs.index(slug)].id]


def test_relevance_puts_title_matches_first(session: Session, search: Search, sample: None) -> None:
    page = run(session, search, None, "停车场")
    assert page.entries[0].slug == "public-parking-realtime"


def test_exclusion_and_hidden_entries(session: Session, search: Search, sample: None) -> None:
    with_air = {e.slug for e in run(session, search, None, "经开区").entries}
    without = {e.slug for e in run(session, search, None, "经开区 -空气").entries}
    assert "air-quality-hourly" in with_air and "air-quality-hourly" not in without
    assert run(session, search, None, "流动人口").total == 0  # 依法不予开放: not for the public
    assert run(session, search, None, "流动人口").suggestion is None


@pytest.mark.parametrize("typed, meant", [("市场监管句", "市场监管局"), ("空汽质量", "空气质量"), ("生态环竟分局", "生态环境分局")])
def test_did_you_mean(session: Session, search: Search, sample: None, typed: str, meant: str) -> None:
    page = run(session, search, None, typed)
    assert page.total == 0 and page.suggestion == meant
    assert run(session, search, None, page.suggestion).total > 0


@pytest.mark.parametrize("text", ["*", "?*~", "a" * 5000, "-", '"', "((((", "AND OR NOT", "\\", "title:x", "🙂" * 50, "'; DROP TABLE entry;--"])
def test_hostile_queries_give_results_or_a_message(session: Session, search: Search, sample: None, text: str) -> None:
    page = run(session, search, None, text)
    assert page.total >= 0
    if len(text) > 100:
        assert page.notes


def test_the_index_follows_the_database(session: Session, search: Search, sample: None) -> None:
    entry = session.scalar(select(Entry).where(Entry.slug == "air-quality-hourly"))
    assert entry is not None
    fields = catalog.parse_entry({**_as_input(entry), "title": "经开区臭氧前体物走航监测数据"})
    catalog.update_entry(session, entry, fields, actor=None, now=NOW)
    session.commit()
    assert [e.slug for e in run(session, search, None, "臭氧前体物").entries] == ["air-quality-hourly"]
    fields = catalog.parse_entry({**_as_input(entry), "title": "经开区挥发性有机物走航监测数据"})
    catalog.update_entry(session, entry, fields, actor=None, now=NOW)
    session.commit()
    assert run(session, search, None, "臭氧前体物").total == 0
    assert [e.slug for e in run(session, search, None, "挥发性有机物").entries] == ["air-quality-hourly"]
    catalog.withdraw_entry(session, entry, actor=None, now=NOW)
    session.commit()
    assert run(session, search, None, "挥发性有机物").total == 0
    assert run(session, search, BUREAU, "挥发性有机物").total == 1
    session.delete(entry)
    session.commit()
    assert run(session, search, BUREAU, "挥发性有机物").total == 0
    assert search.indexer.pending() == 0


def _as_input(entry: Entry) -> dict[str, Any]:
    data = {k: getattr(entry, k) for k in catalog.FIELD_LABELS if hasattr(entry, k) and k not in ("items", "files", "department", "status")}
    data["items"] = [{"title": i.title, "name": i.name, "data_type": i.data_type, "length": i.length, "description": i.description, "open_type": i.open_type, "share_type": i.share_type} for i in entry.items]
    return data


def test_published_status_and_open_type_changes_reach_the_index(session: Session, search: Search, world: World) -> None:
    draft = world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.DRAFT)
    assert draft.id not in {e.id for e in run(session, search, None).entries}
    catalog.publish_entry(session, draft, actor=None, now=NOW)
    session.commit()
    assert draft.id in {e.id for e in run(session, search, None).entries}
