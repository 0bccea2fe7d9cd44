"""The search backend contract: every test runs against each backend (Whoosh files, PostgreSQL),
on one small fixed corpus, and checks results against the rule computed in plain Python.

The PostgreSQL backend runs only when PORTAL_DATABASE_URL names a PostgreSQL database; it uses
a table of its own (`search_document_test_<pid>`), dropped before and after every test.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, text

from portal.search import FACETS, OPEN_CATALOG, Backend, Document, Results, Scope, analysis
from portal.search.analysis import Query, Term
from portal.search.documents import name_key

PG_URL = os.environ.get("PORTAL_DATABASE_URL", "")
PG_SKIP = "PostgreSQL backend: set PORTAL_DATABASE_URL=postgresql+psycopg://... to run it"
TABLE = f"search_document_test_{os.getpid()}"
SYNONYMS = analysis.load_synonyms(str(analysis.DEFAULT_SYNONYMS))
EVERYTHING = Scope(everything=True)
BACKENDS = ["whoosh", "postgresql"]
TYPICAL = Document(
    id=0, title="", tags="", body="", department="1", classification="base", format="spreadsheet", share="unconditional",
    open="open", cycle="yearly", status="published", publish_date=date(2023, 1, 1), downloads=0, name_key="",
)


def doc(id: int, title: str, *, published: date | None = TYPICAL.publish_date, **fields: Any) -> Document:
    """A document of `title`: TYPICAL but for `published` and the `fields` given (tags, body, department, ...)."""
    return replace(TYPICAL, id=id, title=title, publish_date=published, name_key=name_key(title), **fields)


AIR, COMPANIES, YEARBOOK, CREDIT, TRANSIT, REPORT, NOISE, DRAFT, WITHDRAWN, UNSHARED, INSURANCE, PLANNING, OLD_COMPANIES = range(1, 14)

CORPUS = (
    doc(AIR, "经开区空气质量小时监测数据", tags="空气 环境监测 生态环境分局", department="3",
        body="全区各监测站点的空气质量指数（AQI）及首要污染物、细颗粒物浓度小时数据。",
        cycle="realtime", published=date(2024, 3, 1), downloads=120),
    doc(COMPANIES, "企业登记基本信息", tags="登记 注册 市场监督管理局", department="2", share="conditional",
        open="on-application", body="辖区市场主体的统一社会信用代码、名称、法定代表人、注册资本和成立日期。",
        cycle="daily", published=date(2023, 11, 15), downloads=300),
    doc(YEARBOOK, "国家统计局2023年统计年鉴", tags="年鉴 国民经济", department="1", format="document",
        body="国民经济和社会发展主要指标，按年度汇总。", published=date(2023, 6, 30), downloads=80),
    doc(CREDIT, "市场主体信用监管信息", tags="信用 监管", department="2", classification="theme", open="closed",
        body="由市场监督管理局归集的日常监管、双随机抽查结果和行政处罚信息。", cycle="monthly",
        published=date(2023, 11, 15), downloads=300),
    doc(TRANSIT, "公共交通线路及站点信息", tags="交通 出行", department="4", classification="theme", format="service",
        body="公共交通线路走向、站点位置和首末班时间。", cycle="quarterly", published=date(2022, 1, 10), downloads=500),
    doc(REPORT, "生态环境质量年报", tags="环境 生态", department="3", format="document",
        body="包括空气、水和土壤环境质量状况，空气优良天数比例与水质综合指数。", published=date(2024, 5, 20), downloads=40),
    doc(NOISE, "道路噪声监测点位", tags="噪声 道路", department="3", classification="department", format="image",
        body="点位分布和编号，详见生态环境质量年报附表。", cycle="irregular", published=date(2024, 6, 1), downloads=45),
    doc(DRAFT, "招商引资重点项目库", tags="招商 项目", department="2", status="draft", published=None,
        body="在谈和已签约的重点招商项目。"),
    doc(WITHDRAWN, "停车泊位实时数据", tags="停车 泊位", department="4", status="withdrawn",
        body="公共停车场剩余泊位。", cycle="realtime", published=date(2021, 8, 1), downloads=900),
    doc(UNSHARED, "财政局预算执行明细", tags="财政 预算", department="5", share="none", open="closed",
        body="各部门预算执行的明细数据。", cycle="monthly", published=date(2024, 1, 5), downloads=10),
    doc(INSURANCE, "社会保险参保人数统计", tags="社保 人力资源和社会保障局", department="2", share="conditional",
        open="on-application", body="分险种的参保人数和缴费基数。", cycle="monthly", published=date(2023, 12, 1),
        downloads=60),
    doc(PLANNING, "经济技术开发区规划建设项目审批信息", tags="规划 建设 审批", department="1", share="conditional",
        open="closed", body="建设项目选址、用地和工程规划许可。", published=None, downloads=60),
    doc(OLD_COMPANIES, "企业登记基本信息", tags="登记 注册", department="2", status="withdrawn",
        body="旧版目录，已由新目录替代。", cycle="daily", published=date(2020, 5, 1), downloads=7),
)
BY_ID = {d.id: d for d in CORPUS}


# -- the rules, in plain Python -------------------------------------------------------------


def visible(d: Document, scope: Scope) -> bool:
    return (
        scope.everything
        or (scope.department is not None and d.department == scope.department)
        or (d.status == "published" and (d.open in OPEN_CATALOG or scope.published or (scope.shared and d.share != "none")))
    )


def facet_counts(docs: list[Document]) -> dict[str, dict[str, int]]:
    return {key: dict(Counter(getattr(d, key) for d in docs)) for key in FACETS}


def newest(docs: list[Document]) -> list[int]:
    return [d.id for d in sorted(docs, key=lambda d: (d.publish_date is None, -(d.publish_date or date.min).toordinal(), -d.id))]


def has_word(d: Document, word: str) -> bool:
    return any(word in analysis.index_tokens(field) for field in (d.title, d.tags, d.body))


def phrase_in(d: Document, phrase: str) -> bool:
    haystack, needle = analysis.char_tokens(f"{d.title} {d.body}"), analysis.char_tokens(phrase)
    return any(haystack[i : i + len(needle)] == needle for i in range(len(haystack)))


# -- fixtures -------------------------------------------------------------------------------


def _pg_engine() -> Engine:
    if not PG_URL.startswith("postgresql"):
        pytest.skip(PG_SKIP)
    return create_engine(PG_URL)


def _drop(engine: Engine, table: str = TABLE) -> None:
    with engine.begin() as connection:
        connection.execute(text(f'DROP TABLE IF EXISTS "{table}"'))


@contextmanager
def opened(kind: str, tmp_path: Path) -> Iterator[Backend]:
    """An empty backend of `kind` (one of BACKENDS): a Whoosh index in `tmp_path`, or the
    PostgreSQL test table, dropped before and after (skipped where PostgreSQL is not set)."""
    if kind == "whoosh":
        from portal.search.whoosh_backend import WhooshBackend

        yield WhooshBackend(tmp_path / "index")
        return
    from portal.search.pg_backend import PostgresBackend

    engine = _pg_engine()
    _drop(engine)
    try:
        yield PostgresBackend(engine, TABLE)
    finally:
        _drop(engine)
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    with opened(request.param, tmp_path) as backend:
        yield backend


@pytest.fixture
def loaded(backend: Backend) -> Backend:
    backend.upsert(CORPUS)
    return backend


def search(
    backend: Backend,
    query: str | Query = "",
    *,
    scope: Scope = EVERYTHING,
    filters: dict[str, str] | None = None,
    sort: str = "relevance",
    offset: int = 0,
    limit: int = 100,
) -> Results:
    if isinstance(query, str):
        query = analysis.parse_query(query, synonyms=SYNONYMS)
    return backend.search(query, scope=scope, filters=filters or {}, sort=sort, offset=offset, limit=limit)


def found(backend: Backend, query: str | Query, **kwargs: object) -> set[int]:
    results = search(backend, query, **kwargs)  # type: ignore[arg-type]
    assert results.total == len(results.ids) == len(set(results.ids))
    return set(results.ids)


# -- matching -------------------------------------------------------------------------------


def test_words_are_found_inside_longer_words(loaded: Backend) -> None:
    assert YEARBOOK in found(loaded, "统计")
    assert found(loaded, "年鉴") == {YEARBOOK}
    assert AIR in found(loaded, "经开区")
    assert has_word(BY_ID[REPORT], "空气") and has_word(BY_ID[REPORT], "质量")
    assert found(loaded, "空气质量") == {AIR}  # REPORT has 空气 and 质量 apart: not the word
    assert found(loaded, "经开区 空气质量") == {AIR}


def test_every_word_must_match(loaded: Backend) -> None:
    assert found(loaded, "空气 年报") == {REPORT}
    assert found(loaded, "空气 预算") == set()


def test_pinyin_full_and_initials(loaded: Backend) -> None:
    assert AIR in found(loaded, "kqzl")
    assert AIR in found(loaded, "kongqi")
    assert found(loaded, "kongqi") <= {AIR, REPORT}
    companies = found(loaded, "qiye")
    assert COMPANIES in companies and OLD_COMPANIES in companies and AIR not in companies
    assert COMPANIES in found(loaded, "qy")
    assert found(loaded, "kqzl qiye") == set()


def test_synonyms(loaded: Backend) -> None:
    assert not any("市场监管局" in f"{d.title} {d.tags} {d.body}" for d in CORPUS)
    assert found(loaded, "市场监管局") == {COMPANIES, CREDIT}
    assert not any("公交" in f"{d.title} {d.tags} {d.body}" for d in CORPUS)
    assert found(loaded, "公交") == {TRANSIT}


def test_phrases_are_contiguous(loaded: Backend) -> None:
    expected = {d.id for d in CORPUS if phrase_in(d, "空气质量指数")}
    assert expected == {AIR}
    assert {AIR, REPORT} <= found(loaded, "空气 指数")  # both have the words ...
    assert found(loaded, '"空气质量指数"') == expected  # ... only one has them in a row
    assert found(loaded, "“质量年报”") == {REPORT, NOISE}
    assert found(loaded, '"年报" 噪声') == {NOISE}
    assert found(loaded, '"报年"') == set()
    assert found(loaded, '"aqi"') == {AIR}


def test_exclusions(loaded: Backend) -> None:
    with_data = found(loaded, "数据")
    assert AIR in with_data and len(with_data) > 1
    assert found(loaded, "数据 -空气") == with_data - {AIR}
    without_air = {d.id for d in CORPUS if not has_word(d, "空气")}
    assert AIR not in without_air and REPORT not in without_air
    assert found(loaded, "-空气") == without_air
    assert found(loaded, "数据 -空气 -财政") == with_data & without_air - {d.id for d in CORPUS if has_word(d, "财政")}
    assert UNSHARED in with_data


def test_an_empty_query_finds_everything_visible(loaded: Backend) -> None:
    assert found(loaded, "") == set(BY_ID)
    assert found(loaded, "   ", scope=Scope()) == {d.id for d in CORPUS if visible(d, Scope())}


# -- scope, filters, facets -----------------------------------------------------------------


@pytest.mark.parametrize(
    "scope",
    [Scope(), Scope(department="2", shared=True), Scope(department="5"), Scope(published=True), Scope(everything=True)],
    ids=["anonymous", "department-staff", "own-department", "reviewer", "bureau"],
)
def test_scope(loaded: Backend, scope: Scope) -> None:
    expected = [d for d in CORPUS if visible(d, scope)]
    results = search(loaded, "", scope=scope, sort="newest")
    assert results.ids == newest(expected)
    assert results.total == len(expected)
    assert results.facets == facet_counts(expected)
    with_word = [d for d in expected if has_word(d, "信息")]
    results = search(loaded, "信息", scope=scope)
    assert set(results.ids) == {d.id for d in with_word}
    assert results.total == len(with_word)
    assert results.facets == facet_counts(with_word)


def test_scope_rule_covers_each_kind_of_entry() -> None:
    """The corpus exercises every branch of the rule (else the scope tests prove little)."""
    anonymous = {d.id for d in CORPUS if visible(d, Scope())}
    assert INSURANCE in anonymous and COMPANIES in anonymous  # on application
    assert not {DRAFT, WITHDRAWN, UNSHARED, CREDIT, PLANNING} & anonymous
    staff = {d.id for d in CORPUS if visible(d, Scope(department="2", shared=True))}
    assert {DRAFT, CREDIT, PLANNING} <= staff and not {UNSHARED, WITHDRAWN} & staff
    assert UNSHARED in {d.id for d in CORPUS if visible(d, Scope(published=True))}


@pytest.mark.parametrize("scope", [Scope(), EVERYTHING], ids=["anonymous", "bureau"])
def test_filters_and_facets(loaded: Backend, scope: Scope) -> None:
    for filters in ({"department": "3"}, {"department": "2", "open": "on-application"}, {"format": "document"}):
        expected = [d for d in CORPUS if visible(d, scope) and all(getattr(d, k) == v for k, v in filters.items())]
        assert expected or scope != EVERYTHING
        results = search(loaded, "", scope=scope, filters=filters, sort="newest")
        assert results.ids == newest(expected)
        assert results.total == len(expected)
        assert results.facets == facet_counts(expected)
    expected = [d for d in CORPUS if d.department == "3" and has_word(d, "环境")]
    results = search(loaded, "环境", scope=EVERYTHING, filters={"department": "3"})
    assert set(results.ids) == {d.id for d in expected} and len(expected) == 3
    assert results.facets == facet_counts(expected)


def test_unknown_filter_keys_are_ignored(loaded: Backend) -> None:
    assert found(loaded, "", filters={"department": "3", "colour": "blue"}) == {AIR, REPORT, NOISE}
    assert found(loaded, "", filters={"department": "no-such"}) == set()


def test_no_match_has_empty_facets(loaded: Backend) -> None:
    results = search(loaded, "不存在的词语组合xyz")
    assert results.ids == [] and results.total == 0
    assert all(not results.facets.get(key) for key in FACETS)


# -- sorting --------------------------------------------------------------------------------


def test_sort_newest(loaded: Backend) -> None:
    assert search(loaded, "", sort="newest").ids == newest(list(CORPUS))
    with_info = [d for d in CORPUS if has_word(d, "信息")]
    assert search(loaded, "信息", sort="newest").ids == newest(with_info)


def test_sort_downloads(loaded: Backend) -> None:
    expected = [d.id for d in sorted(CORPUS, key=lambda d: (-d.downloads, -d.id))]
    assert search(loaded, "", sort="downloads").ids == expected


def test_sort_name(loaded: Backend) -> None:
    expected = [d.id for d in sorted(CORPUS, key=lambda d: (d.name_key, d.id))]
    assert expected.index(COMPANIES) + 1 == expected.index(OLD_COMPANIES)  # a tie, broken by id
    assert search(loaded, "", sort="name").ids == expected


def test_sort_relevance(loaded: Backend) -> None:
    # 年报 is once in REPORT's title, once in NOISE's body; NOISE is newer, more downloaded,
    # higher id: only the title's weight can put REPORT first
    report, noise = BY_ID[REPORT], BY_ID[NOISE]
    assert analysis.index_tokens(report.title).count("年报") == 1
    assert not any("年报" in analysis.index_tokens(f) for f in (report.tags, report.body, noise.title, noise.tags))
    assert analysis.index_tokens(noise.body).count("年报") == 1
    assert NOISE > REPORT and noise.downloads > report.downloads and noise.publish_date > report.publish_date  # type: ignore[operator]
    assert search(loaded, "年报").ids == [REPORT, NOISE]
    assert search(loaded, "空气").ids == [AIR, REPORT]
    assert search(loaded, "年报", sort="no-such-sort").ids == [REPORT, NOISE]


def test_relevance_ties_by_id_descending(backend: Backend) -> None:
    twin = doc(50, "园区企业名录", body="企业名称和地址", published=date(2024, 1, 1), downloads=5)
    backend.upsert([twin, replace(twin, id=60, publish_date=date(2020, 1, 1), downloads=1), replace(twin, id=55, title="园区名录")])
    assert search(backend, "企业").ids == [60, 50, 55]


def test_relevance_without_words_is_newest(loaded: Backend) -> None:
    assert search(loaded, "", sort="relevance").ids == newest(list(CORPUS))
    assert search(loaded, "-空气", sort="relevance").ids == newest([d for d in CORPUS if d.id not in (AIR, REPORT)])


# -- paging ---------------------------------------------------------------------------------


def test_paging(loaded: Backend) -> None:
    whole = newest(list(CORPUS))
    pages = [search(loaded, "", sort="newest", offset=offset, limit=5) for offset in (0, 5, 10)]
    assert [page.ids for page in pages] == [whole[0:5], whole[5:10], whole[10:]]
    assert {page.total for page in pages} == {len(CORPUS)}
    assert all(page.facets == facet_counts(list(CORPUS)) for page in pages)
    beyond = search(loaded, "", sort="newest", offset=100, limit=5)
    assert beyond.ids == [] and beyond.total == len(CORPUS) and beyond.facets == facet_counts(list(CORPUS))
    nothing = search(loaded, "", sort="newest", offset=0, limit=0)
    assert nothing.ids == [] and nothing.total == len(CORPUS)
    info = search(loaded, "信息", offset=1, limit=1)
    assert len(info.ids) == 1 and info.total == len([d for d in CORPUS if has_word(d, "信息")])
    assert search(loaded, "信息", offset=info.total, limit=10).ids == []


# -- writing --------------------------------------------------------------------------------


def test_ids_reflect_upserts(backend: Backend) -> None:
    assert backend.ids() == set()
    backend.upsert(CORPUS[:3])
    assert backend.ids() == {AIR, COMPANIES, YEARBOOK}
    backend.upsert(CORPUS)
    assert backend.ids() == set(BY_ID)
    backend.upsert([])
    assert backend.ids() == set(BY_ID)


def test_upsert_replaces(loaded: Backend) -> None:
    assert found(loaded, "年鉴") == {YEARBOOK}
    changed = replace(BY_ID[YEARBOOK], title="海关进出口统计", tags="海关", body="进出口", department="9", downloads=1)
    loaded.upsert([changed])
    assert loaded.ids() == set(BY_ID)
    assert found(loaded, "年鉴") == set()
    assert found(loaded, "海关") == {YEARBOOK}
    corpus = [changed if d.id == YEARBOOK else d for d in CORPUS]
    assert search(loaded, "").facets == facet_counts(corpus)
    assert search(loaded, "", sort="downloads").ids == [d.id for d in sorted(corpus, key=lambda d: (-d.downloads, -d.id))]


def test_upsert_of_one_id_twice_keeps_the_last(backend: Backend) -> None:
    first = BY_ID[AIR]
    backend.upsert([first, replace(first, title="噪声地图", tags="噪声", body="道路噪声")])
    assert backend.ids() == {AIR}
    assert search(backend, "").total == 1
    assert found(backend, "噪声地图") == {AIR}
    assert found(backend, "空气质量") == set()


def test_delete(loaded: Backend) -> None:
    loaded.delete([AIR, 999])
    assert loaded.ids() == set(BY_ID) - {AIR}
    assert found(loaded, "空气质量") == set()
    assert search(loaded, "").facets == facet_counts([d for d in CORPUS if d.id != AIR])
    loaded.delete([])
    loaded.delete(iter([REPORT]))
    assert loaded.ids() == set(BY_ID) - {AIR, REPORT}


def test_clear(loaded: Backend) -> None:
    loaded.clear()
    assert loaded.ids() == set()
    assert search(loaded, "").total == 0
    loaded.upsert(CORPUS[:1])
    assert found(loaded, "空气质量") == {AIR}


# -- hostile input --------------------------------------------------------------------------

HOSTILE = ["'", "''", "\\", "\\'", "'\\", "&", "|", "!", "(", ")", ":", "*", "<->", "<2>", ":*", "a:1A", "'a':1",
           "!!x", "x & y", "c++", "c#", "d%", "_", "😀", "🇨🇳", "ａｂｃ", "x" * 3000, "长" * 1000, "é", "e\u0301",
           "\u202e", "\ufeff", "\U0010fffd", "Ω≈ç√∫"]


def test_hostile_documents_index_and_are_found(backend: Backend) -> None:
    docs = [
        doc(100 + i, f"空气 {token} {token}", tags=f"{token}&{token}", body=f"it's {token} a\\b {token}:* 数据 (<->) | !{token}")
        for i, token in enumerate(HOSTILE)
    ]
    backend.upsert(docs)
    assert backend.ids() == {d.id for d in docs}
    assert found(backend, "空气") == {d.id for d in docs}
    assert found(backend, "空气 数据", sort="name") == {d.id for d in docs}
    assert found(backend, '"空气"') == {d.id for d in docs}
    for token in HOSTILE:
        for raw in (token, f"空气 {token}", f'"{token}"', f"-{token}", f"空气 -{token}", f'{token}"{token}'):
            results = search(backend, raw)
            assert results.total == len(results.ids)


def test_hostile_tokens_in_queries(loaded: Backend) -> None:
    """Queries the parser would never build, straight to the backend: never an error."""
    for token in [*HOSTILE, ""]:
        query = Query(
            text=token,
            terms=(Term(token, ((token,), (token, "空气")), pinyin=token),),
            phrases=((token, token),),
            excluded=(token,),
        )
        results = loaded.search(query, scope=EVERYTHING, filters={"department": token}, sort="relevance", offset=0, limit=50)
        assert results.total == len(results.ids)
        for sort in ("relevance", "newest", "downloads", "name"):
            results = loaded.search(
                Query(text=token, terms=(Term(token, ((token,),)),), excluded=(token,)),
                scope=Scope(department=token, shared=True),
                filters={},
                sort=sort,
                offset=0,
                limit=50,
            )
            assert results.total == len(results.ids)
    # a hostile character inside a real token: c++ and c# stay whole
    loaded.upsert([doc(200, "c++ 与 c# 开发文档", body="d% 的说明")])
    for token in ("c++", "c#", "d%"):
        query = Query(text=token, terms=(Term(token, ((token,),)),))
        assert loaded.search(query, scope=EVERYTHING, filters={}, sort="relevance", offset=0, limit=10).ids == [200]


def test_a_very_long_entry_still_indexes(backend: Backend) -> None:
    words = " ".join(f"w{i}" for i in range(12000))  # with the tags, more positions than PostgreSQL keeps
    huge = doc(1, "超长说明的目录 " + "很" * 5000, tags="长 " * 5000, body=f"开头 {words} {'数据' * 2000} 结尾 " + "z" * 10000)
    backend.upsert([huge])
    assert backend.ids() == {1}
    assert found(backend, "超长") == {1}
    assert found(backend, "开头") == {1}
    assert found(backend, "w11999") == {1}
    assert found(backend, "结尾") == {1}
    assert found(backend, '"开头"') == {1}


_FRAGMENTS = st.sampled_from(
    ['"', "“", "”", "-", " ", "空气", "质量", "数据", "kqzl", "qiye", "统计", "'", "\\", "&", "|", "<->", ":*", "(",
     ")", "!", "😀", "x" * 300, "公交", "市场监管局"]
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.lists(st.one_of(st.text(max_size=20), _FRAGMENTS), max_size=12).map("".join))
def test_random_queries_never_fail(loaded: Backend, raw: str) -> None:
    query = analysis.parse_query(raw, synonyms=SYNONYMS)
    for scope in (Scope(), EVERYTHING):
        results = loaded.search(query, scope=scope, filters={}, sort="relevance", offset=0, limit=1000)
        assert results.total == len(results.ids) == len(set(results.ids))
        assert set(results.ids) <= {d.id for d in CORPUS if visible(d, scope)}
        assert sum(results.facets.get("department", {}).values()) == results.total


# -- one writer at a time -------------------------------------------------------------------


def test_exclusive_admits_one_writer_at_a_time(backend: Backend) -> None:
    events: list[str] = []
    first_in, let_go, second_trying = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with backend.exclusive():
            events.append("first in")
            first_in.set()
            let_go.wait(30)
            events.append("first out")

    def second() -> None:
        second_trying.set()
        with backend.exclusive():
            events.append("second in")

    one = threading.Thread(target=first)
    one.start()
    assert first_in.wait(30)
    two = threading.Thread(target=second)
    two.start()
    assert second_trying.wait(30)
    time.sleep(0.3)  # a chance for the second to get in, were the lock not held
    assert events == ["first in"]
    let_go.set()
    one.join(30)
    two.join(30)
    assert events == ["first in", "first out", "second in"]


def test_exclusive_is_released_on_error(backend: Backend) -> None:
    with pytest.raises(RuntimeError):
        with backend.exclusive():
            raise RuntimeError("boom")
    done = threading.Event()

    def again() -> None:
        with backend.exclusive():
            done.set()

    thread = threading.Thread(target=again)
    thread.start()
    thread.join(30)
    assert done.is_set()


# -- PostgreSQL only: the literals ----------------------------------------------------------


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    engine = _pg_engine()
    yield engine
    engine.dispose()


def test_literals_round_trip_through_postgresql(pg_engine: Engine) -> None:
    from portal.search.pg_text import quote_lexeme

    tokens = [t for t in HOSTILE if len(t.encode()) <= 2047] + ["a b", "'quoted'", "back\\\\slashes", "\\\\'"]
    with pg_engine.connect() as connection:
        for token in tokens:
            lexeme = quote_lexeme(token)
            assert lexeme is not None
            stored = connection.execute(
                text("SELECT lexeme FROM unnest(CAST(:v AS tsvector))"), {"v": f"{lexeme}:1A {quote_lexeme('x')}:2"}
            ).scalars().all()
            assert token in stored
            assert connection.execute(
                text("SELECT CAST(:v AS tsvector) @@ CAST(:q AS tsquery)"),
                {"v": f"{lexeme}:1 'y':2", "q": f"({lexeme} <-> 'y') & !'z'"},
            ).scalar()
    assert quote_lexeme("") is None
    assert quote_lexeme("x" * 2048) is None
    assert quote_lexeme("长" * 683) is None and quote_lexeme("长" * 682) is not None
    assert quote_lexeme("a\x00b") is None


def test_vectors_respect_postgresql_limits(pg_engine: Engine) -> None:
    from portal.search.pg_text import MAX_POSITION, _Vector

    vector = _Vector()
    vector.add([f"t{i}" for i in range(20000)] + ["a"] * 1000, "C")
    chars = _Vector(clamp=False)
    chars.add([f"c{i % 300}" for i in range(20000)])
    big = _Vector()
    big.add([f"{i:06d}" + "x" * 2000 for i in range(1000)], "B")  # about 2 MB of lexemes
    with pg_engine.connect() as connection:
        for built in (vector, chars, big):
            row = connection.execute(
                text("SELECT length(v), (SELECT max(p) FROM unnest(v) u, unnest(u.positions) p) FROM (SELECT CAST(:v AS tsvector) AS v) s"),
                {"v": built.literal()},
            ).one()
            assert row[1] <= MAX_POSITION
        assert connection.execute(text("SELECT length(CAST(:v AS tsvector))"), {"v": vector.literal()}).scalar() == 20001
        positions = connection.execute(
            text("SELECT array_length(positions, 1) FROM unnest(CAST(:v AS tsvector)) WHERE lexeme = 'a'"), {"v": vector.literal()}
        ).scalar()
        assert positions == 1  # every later 'a' is at the last position, kept once
        assert 400 < connection.execute(text("SELECT length(CAST(:v AS tsvector))"), {"v": big.literal()}).scalar() < 1000


def test_table_is_created_lazily_and_ensure_is_idempotent(pg_engine: Engine) -> None:
    from portal.search.pg_backend import PostgresBackend

    table = f"{TABLE}_lazy"
    _drop(pg_engine, table)
    try:
        backend = PostgresBackend(pg_engine, table)
        exists = text("SELECT to_regclass(:t) IS NOT NULL")
        with pg_engine.connect() as connection:
            assert not connection.execute(exists, {"t": table}).scalar()
        assert backend.ids() == set()
        backend.ensure()
        with pg_engine.connect() as connection:
            assert connection.execute(exists, {"t": table}).scalar()
            indexes = connection.execute(text("SELECT count(*) FROM pg_indexes WHERE tablename = :t"), {"t": table}).scalar()
            assert indexes == 8  # the primary key, three GIN, four btree
        PostgresBackend(pg_engine, table).ensure()
    finally:
        _drop(pg_engine, table)


@pytest.mark.parametrize("table", ["Search", "a-b", "x; DROP TABLE y", "", "a.b.c", "x" * 41])
def test_table_names_are_checked(table: str) -> None:
    from portal.search.pg_backend import PostgresBackend

    with pytest.raises(ValueError):
        PostgresBackend(create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none"), table)
