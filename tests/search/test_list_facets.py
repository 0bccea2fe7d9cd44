"""The list facets (an entry's keywords, its files' formats) in both backends, what the Whoosh
backend keeps of recent searches, and an index of the layout before the list facets.

The PostgreSQL backend runs only when PORTAL_DATABASE_URL names a PostgreSQL database, as in
`test_backends`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from portal.search import FACETS, LIST_FACETS, Backend, Document, Results, Scope, analysis

from .test_backends import BACKENDS, CORPUS, EVERYTHING, SYNONYMS, TABLE, _drop, _pg_engine, opened, visible

KEYWORDS = {1: ("空气", "监测", "空气"), 2: ("登记", "企业"), 3: ("年鉴",), 4: ("信用", "企业"), 6: ("空气", "年报"),
            7: ("噪声", 'a "quoted" \\ word', "a,b {c}"), 9: ("停车",), 11: ("社保", "企业"), 13: ("企业",)}
FORMATS = {1: ("CSV", "JSON"), 2: ("CSV",), 3: ("PDF",), 5: ("CSV", "XLSX"), 6: ("PDF", "DOCX"), 9: ("CSV",), 11: ("XLSX",)}
LISTED = tuple(replace(d, keywords=KEYWORDS.get(d.id, ()), formats=FORMATS.get(d.id, ())) for d in CORPUS)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    with opened(request.param, tmp_path) as backend:
        yield backend


@pytest.fixture
def loaded(backend: Backend) -> Backend:
    backend.upsert(LISTED)
    return backend


def lists_of(docs: list[Document]) -> dict[str, dict[str, int]]:
    return {name: dict(Counter(v for d in docs for v in set(getattr(d, name)))) for name in LIST_FACETS}


def run(backend: Backend, query: str = "", **kwargs: object) -> Results:
    options: dict[str, object] = dict(scope=EVERYTHING, filters={}, sort="relevance", offset=0, limit=100)
    options.update(kwargs)
    return backend.search(analysis.parse_query(query, synonyms=SYNONYMS), **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("scope", [Scope(), EVERYTHING], ids=["anonymous", "bureau"])
@pytest.mark.parametrize("filters", [{}, {"department": "2"}, {"format": "document"}])
def test_list_facets_count_each_document_once_per_value(loaded: Backend, scope: Scope, filters: dict[str, str]) -> None:
    expected = [d for d in LISTED if visible(d, scope) and all(getattr(d, k) == v for k, v in filters.items())]
    results = run(loaded, scope=scope, filters=filters, lists=LIST_FACETS)
    assert results.total == len(expected)
    assert {k: v for k, v in results.facets.items() if k in LIST_FACETS} == lists_of(expected)


def test_list_facets_of_a_word_search(loaded: Backend) -> None:
    results = run(loaded, "企业", lists=("keywords",))
    found = [d for d in LISTED if d.id in set(results.ids)]
    assert results.total == len(found) >= 3
    assert results.facets["keywords"] == lists_of(found)["keywords"]
    assert "formats" not in results.facets


def test_list_facets_only_when_asked(loaded: Backend) -> None:
    assert set(run(loaded).facets) == set(FACETS)
    assert set(run(loaded, lists=("formats", "colour")).facets) == {*FACETS, "formats"}
    nothing = run(loaded, "不存在的词语组合xyz", lists=LIST_FACETS)
    assert nothing.total == 0 and nothing.facets["keywords"] == {} and nothing.facets["formats"] == {}


def test_list_facets_follow_upserts(loaded: Backend) -> None:
    loaded.upsert([replace(LISTED[0], keywords=("新词",), formats=())])
    facets = run(loaded, lists=LIST_FACETS).facets
    assert facets["keywords"]["新词"] == 1 and facets["keywords"]["空气"] == 1
    assert facets["formats"].get("JSON") is None


SEARCHES = [
    dict(query="", sort="newest", limit=5), dict(query="", sort="relevance", limit=0, lists=LIST_FACETS),
    dict(query="环境", limit=0), dict(query="环境", limit=2), dict(query="环境", limit=2, offset=2, lists=("keywords",)),
    dict(query="环境", sort="downloads", limit=3), dict(query="环境", sort="name", limit=10), dict(query="环境", sort="newest", limit=10),
    dict(query="企业", scope=Scope(), limit=10), dict(query="企业", limit=10, filters={"department": "2"}),
    dict(query="企业 -信用", limit=10), dict(query='"空气质量"', limit=10), dict(query="", sort="name", offset=3, limit=4),
]


def test_what_a_backend_keeps_of_recent_searches_gives_the_same_results(tmp_path: Path) -> None:
    """Each search on a backend that has answered all the others equals it on a fresh one."""
    from portal.search.whoosh_backend import WhooshBackend

    warm = WhooshBackend(tmp_path / "warm")
    warm.upsert(LISTED)
    for round_ in range(2):
        for number, search in enumerate(SEARCHES):
            cold = WhooshBackend(tmp_path / f"cold-{round_}-{number}")
            cold.upsert(LISTED)
            options = {k: v for k, v in search.items() if k != "query"}
            assert run(warm, str(search["query"]), **options) == run(cold, str(search["query"]), **options), search


def test_a_whoosh_index_without_the_list_facets_is_emptied_for_the_repair(tmp_path: Path) -> None:
    """An index written before the list facets existed is opened empty (`Indexer.repair`
    rebuilds it when the portal starts), never read with facets missing."""
    from whoosh import index

    from portal.search import whoosh_backend

    schema = whoosh_backend._schema()
    for name in LIST_FACETS:
        schema.remove(name)
    old = index.create_in(str(tmp_path), schema)
    writer = old.writer()
    writer.add_document(id="1", num=1, status="published", open="open")
    writer.commit()
    backend = whoosh_backend.WhooshBackend(tmp_path)
    assert backend.ids() == set()
    backend.upsert(LISTED)
    assert run(backend, lists=LIST_FACETS).facets["formats"]["CSV"] == 4


def test_a_postgresql_table_without_the_list_facets_gets_them_and_is_emptied() -> None:
    from portal.search.pg_backend import PostgresBackend

    engine: Engine = _pg_engine()
    table = f"{TABLE}_old"
    _drop(engine, table)
    try:
        backend = PostgresBackend(engine, table)
        backend.ensure()
        with engine.begin() as connection:
            for name in LIST_FACETS:
                connection.execute(text(f'ALTER TABLE "{table}" DROP COLUMN "{name}"'))
        backend = PostgresBackend(engine, table)
        with engine.begin() as connection:  # a row written by the older layout
            connection.execute(text(
                f'INSERT INTO "{table}" (id, doc, pinyin, chars, department, classification, format, share, open, cycle, status) '
                "VALUES (1, '', '', '', '1', 'base', 'document', 'none', 'open', 'yearly', 'published')"
            ))
        assert backend.ids() == set()  # emptied: the repair on start rebuilds it
        backend.upsert(LISTED)
        assert run(backend, lists=LIST_FACETS).facets["keywords"]["企业"] == 4
        PostgresBackend(engine, table).ensure()  # and idempotent
        assert len(backend.ids()) == len(LISTED)
    finally:
        _drop(engine, table)
        engine.dispose()
