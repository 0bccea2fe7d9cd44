"""The working-day calendar, deadline arithmetic, pauses and the clock kinds (portal.workdays)."""

import json
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.workdays import (
    CLOCK_KINDS,
    RULES,
    Calendar,
    CalendarFileError,
    Due,
    add_calendar_days,
    add_workdays,
    describe_clock,
    due_date,
    due_with_pauses,
    parse_year_file,
    read_bundled,
    with_rule,
    workdays_between,
)

CN = Calendar()  # the holidays package alone
D = date.fromisoformat

# A made-up 2027 notice, as an administrator would load it before the package has the real one.
FILE_2027 = {
    "year": 2027,
    "source": "国办发明电〔2026〕X号（测试用）",
    "days_off": ["2027-01-01", "2027-01-02", "2027-01-03", *(f"2027-02-{d:02}" for d in range(5, 13))],
    "workdays": ["2027-02-20"],
}
CN_2027 = CN.with_official(parse_year_file(json.dumps(FILE_2027)))


@pytest.mark.parametrize(
    "start, n, due",
    [
        ("2026-09-28", 10, "2026-10-16"),  # National Day week, 10-10 is a make-up day
        ("2026-02-13", 1, "2026-02-14"),  # Saturday 2-14 is a working day
        ("2026-02-12", 3, "2026-02-24"),  # across the Spring Festival, 2-15..2-23 off
        ("2026-02-27", 1, "2026-02-28"),  # Saturday 2-28 is a working day
        ("2025-12-31", 1, "2026-01-04"),  # 元旦 1-1..1-3 off, Sunday 1-4 is a working day
        ("2026-04-03", 1, "2026-04-07"),  # 清明 4-4..4-6
        ("2026-04-30", 1, "2026-05-06"),  # 劳动节 5-1..5-5
        ("2026-05-08", 1, "2026-05-09"),  # Saturday 5-9 is a working day
        ("2025-09-26", 2, "2025-09-29"),  # 2025: Sunday 9-28 is a working day
        ("2026-12-24", 10, "2027-01-08"),  # into provisional 2027: 2027-01-01 is off all the same
        ("2026-03-02", 0, "2026-03-02"),
    ],
)
def test_add_workdays(start: str, n: int, due: str) -> None:
    assert add_workdays(CN, D(start), n) == D(due)


@pytest.mark.parametrize(
    "start, n, due",
    [
        ("2026-09-25", 10, "2026-10-08"),  # 10-05 is in the National Day holiday: rolls forward
        ("2026-02-04", 10, "2026-02-14"),  # lands on the Saturday make-up day: no roll
        ("2026-03-02", 10, "2026-03-12"),
        ("2026-03-04", 10, "2026-03-16"),  # Saturday 3-14 rolls to Monday
        ("2026-12-22", 10, "2027-01-04"),  # 2027-01-01 off provisionally
    ],
)
def test_add_calendar_days(start: str, n: int, due: str) -> None:
    assert add_calendar_days(CN, D(start), n) == D(due)


@pytest.mark.parametrize(
    "start, end, count",
    [
        ("2026-09-30", "2026-10-07", 0),  # the National Day holiday
        ("2026-10-09", "2026-10-11", 1),  # only the make-up Saturday
        ("2026-09-28", "2026-10-16", 10),
        ("2026-10-16", "2026-09-28", -10),
        ("2026-02-13", "2026-02-24", 2),
        ("2026-03-02", "2026-03-02", 0),
        ("2026-03-06", "2026-03-08", 0),  # a weekend
    ],
)
def test_workdays_between(start: str, end: str, count: int) -> None:
    assert workdays_between(CN, D(start), D(end)) == count


@pytest.mark.parametrize("n", [-1, -10])
def test_negative_limits_are_refused(n: int) -> None:
    with pytest.raises(ValueError, match="不能为负数"):
        add_workdays(CN, D("2026-03-02"), n)


@pytest.mark.parametrize(
    "year, provisional", [(2001, False), (2025, False), (2026, False), (2027, True), (2000, True)]
)
def test_package_years(year: int, provisional: bool) -> None:
    assert CN.is_provisional(year) is provisional
    assert ("暂定" in CN.source(year)) is provisional


@pytest.mark.parametrize(
    "day, workday",
    [
        ("2027-01-01", False),  # 元旦
        ("2027-02-05", False),  # 农历除夕 (statutory since 2025)
        ("2027-02-08", False),  # 正月初三
        ("2027-04-05", False),  # 清明
        ("2027-05-03", True),  # no in-lieu day is guessed for the Sunday 5-2
        ("2027-06-09", False),  # 端午
        ("2027-09-15", False),  # 中秋
        ("2027-10-01", False),
        ("2027-10-04", True),  # no in-lieu day is guessed for the weekend 10-2, 10-3
        ("2027-02-20", False),  # no make-up days in a provisional year
        ("2001-12-29", True),  # a make-up Saturday of the 2002 notice
    ],
)
def test_provisional_year_and_package_days(day: str, workday: bool) -> None:
    assert CN.is_workday(D(day)) is workday


@pytest.mark.parametrize(
    "start, n, rule, due",
    [
        ("2026-09-28", 10, "workdays", Due(D("2026-10-16"), provisional=False)),
        ("2026-12-24", 10, "workdays", Due(D("2027-01-08"), provisional=True)),
        ("2026-12-24", 5, "workdays", Due(D("2026-12-31"), provisional=False)),
        ("2026-12-22", 10, "calendar_days", Due(D("2027-01-04"), provisional=True)),
    ],
)
def test_due_date(start: str, n: int, rule: str, due: Due) -> None:
    assert due_date(CN, D(start), n, rule) == due


def test_a_loaded_year_is_official_and_counts_its_make_up_days() -> None:
    assert not CN_2027.is_provisional(2027)
    assert CN_2027.source(2027) == FILE_2027["source"]
    assert CN_2027.loaded_years == (2027,)
    assert due_date(CN_2027, D("2026-12-24"), 10, "workdays") == Due(D("2027-01-08"), False)
    assert add_workdays(CN_2027, D("2027-02-04"), 1) == D("2027-02-15")  # 2-5..2-14 off
    assert add_workdays(CN_2027, D("2027-02-19"), 1) == D("2027-02-20")  # the make-up Saturday
    assert CN_2027.is_workday(D("2027-10-01"))  # the file replaces the package: only what it lists is off


@pytest.mark.parametrize("official", read_bundled(), ids=lambda o: str(o.year))
def test_bundled_files_agree_with_the_package(official) -> None:
    """cn-2025.json and cn-2026.json transcribe the notices; the package must say the same."""
    loaded = Calendar([official])
    days = [date(official.year, 1, 1) + timedelta(days=i) for i in range(365)]
    assert [d for d in days if loaded.is_workday(d) != CN.is_workday(d)] == []
    assert not CN.is_provisional(official.year)


def test_bundled_2026_make_up_days() -> None:
    (official,) = [o for o in read_bundled() if o.year == 2026]
    assert official.source.startswith("国办发明电〔2025〕7号")
    expected = ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"]
    assert sorted(official.workdays) == [D(d) for d in expected]
    assert len(official.days_off) == 3 + 9 + 3 + 5 + 3 + 3 + 7


def test_december_of_the_year_before_comes_from_the_later_notice() -> None:
    text = json.dumps(FILE_2027 | {"days_off": ["2026-12-31", "2027-01-01"], "workdays": ["2026-12-26"]})
    cal = CN.with_official(parse_year_file(text))
    assert cal.is_workday(D("2026-12-31")) is False
    assert cal.is_workday(D("2026-12-26")) is True
    assert cal.is_workday(D("2026-12-30")) is True  # other 2026 days stay as the package has them
    assert cal.is_workday(D("2026-10-08")) is True


def _file(**changes) -> str:
    return json.dumps(FILE_2027 | changes, ensure_ascii=False)


@pytest.mark.parametrize(
    "text, problem",
    [
        ("{not json", "不是有效的 JSON"),
        ("[]", "应为一个 JSON 对象"),
        (_file(year="2027"), "year 应为"),
        (_file(year=True), "year 应为"),
        (_file(year=None), "year 应为"),
        (_file(source=" "), "source 应填写通知的发文字号"),
        (_file(days_off=[]), "days_off 应为放假日的日期列表，且不能为空"),
        (_file(workdays="2027-02-20"), "workdays 应为调休上班日的日期列表"),
        (_file(days_off=["2027-02-30"]), "放假日“2027-02-30”不是有效日期"),
        (_file(days_off=["2027/01/01"]), "不是有效日期（格式为 YYYY-MM-DD）"),
        (_file(days_off=["2027-W01-1"]), "不是有效日期"),
        (_file(days_off=[20270101]), "不是有效日期"),
        (_file(days_off=["2028-01-01"]), "放假日“2028-01-01”不在 2027 年内"),
        (_file(days_off=["2026-11-30"]), "不在 2027 年内（仅元旦安排可含上一年 12 月）"),
        (_file(workdays=["2027-02-08"]), "调休上班日“2027-02-08”是星期一，应为周六或周日"),
        (_file(workdays=["2027-01-02"]), "“2027-01-02”既列为放假日又列为调休上班日"),
        (_file(days_off=["2027-01-01", "2027-01-01"]), "放假日“2027-01-01”重复列出"),
        (_file(remark="x"), "未知字段“remark”"),
    ],
)
def test_year_file_errors(text: str, problem: str) -> None:
    with pytest.raises(CalendarFileError) as caught:
        parse_year_file(text)
    assert problem in caught.value.message
    assert str(caught.value) == caught.value.message
    assert isinstance(caught.value, ValueError)


def test_year_file_lists_every_error() -> None:
    with pytest.raises(CalendarFileError) as caught:
        parse_year_file(_file(source="", workdays=["2027-03-01", "2028-03-04"]))
    assert len(caught.value.errors) == 3
    assert caught.value.message == "；".join(caught.value.errors)


def test_year_file_accepts_weekend_days_off() -> None:
    official = parse_year_file(_file(days_off=["2027-01-02", "2026-12-31"]))  # a Saturday; December
    assert official.days_off == {D("2027-01-02"), D("2026-12-31")}
    assert official.workdays == {D("2027-02-20")}


@pytest.mark.parametrize(
    "start, n, rule, pauses, due",
    [
        ("2026-03-02", 10, "workdays", [], "2026-03-16"),
        ("2026-03-02", 10, "workdays", [("2026-03-04", "2026-03-06")], "2026-03-18"),  # 3-5, 3-6
        ("2026-03-02", 10, "workdays", [("2026-03-04", "2026-03-04")], "2026-03-16"),  # same day
        ("2026-03-02", 10, "workdays", [("2026-03-06", "2026-03-09")], "2026-03-17"),  # over a weekend
        (
            "2026-03-02", 10, "workdays",
            [("2026-03-04", "2026-03-06"), ("2026-03-10", "2026-03-11")], "2026-03-19",
        ),
        ("2026-03-02", 10, "workdays", [("2026-02-20", "2026-03-03")], "2026-03-17"),  # before start
        ("2026-03-02", 10, "workdays", [("2026-03-04", None)], None),  # still waiting for a reply
        ("2026-03-02", 10, "workdays", [("2026-03-20", None)], "2026-03-16"),  # asked when overdue
        ("2026-03-02", 10, "workdays", [("2026-03-16", None)], "2026-03-16"),  # asked on the due day
        ("2026-09-15", 10, "calendar_days", [], "2026-09-28"),  # 9-25 中秋 rolls forward
        ("2026-09-15", 10, "calendar_days", [("2026-09-16", "2026-09-20")], "2026-09-29"),
        ("2026-09-15", 10, "calendar_days", [("2026-09-26", None)], None),  # rolling stopped too
    ],
)
def test_pauses(start: str, n: int, rule: str, pauses: list, due: str | None) -> None:
    stops = [(D(a), b and D(b)) for a, b in pauses]
    assert due_with_pauses(CN, D(start), n, rule, stops).date == (due and D(due))


def test_a_pause_must_not_end_before_it_starts() -> None:
    with pytest.raises(ValueError, match="早于开始日"):
        due_with_pauses(CN, D("2026-03-02"), 10, "workdays", [(D("2026-03-06"), D("2026-03-04"))])


@pytest.mark.parametrize(
    "key, limit, article, starts",
    [
        ("share_request", 10, "第十四条", "受理申请之日"),
        ("open_request", 10, "第十八条", "受理申请之日"),
        ("error_report", 5, "第十条", "收到校核信息之日"),
        ("catalog_adjustment", 10, "第十条", "情形发生之日"),
        ("acceptance", 2, "第十四条、第十八条", "提出申请之日"),
    ],
)
def test_clock_kinds(key: str, limit: int, article: str, starts: str) -> None:
    kind = CLOCK_KINDS[key]
    assert (kind.key, kind.limit_days, kind.starts, kind.rule) == (key, limit, starts, "workdays")
    assert kind.article.startswith(article)
    assert kind.label and f"{limit}" in kind.basis_text and kind.rule in RULES
    assert kind.limit_label == f"{limit}个工作日"


def test_every_clock_kind_is_in_the_table() -> None:
    assert sorted(CLOCK_KINDS) == sorted(
        ["share_request", "open_request", "error_report", "catalog_adjustment", "acceptance"]
    )


def test_with_rule() -> None:
    kind = CLOCK_KINDS["share_request"]
    calendar_days = with_rule(kind, "calendar_days")
    assert (calendar_days.rule, kind.rule) == ("calendar_days", "workdays")
    assert calendar_days.limit_label == "10日（末日遇节假日顺延）"
    with pytest.raises(ValueError, match="未知的计算方式"):
        with_rule(kind, "weeks")


@pytest.mark.parametrize(
    "start, today, pauses, summary, overdue, paused",
    [
        ("2026-09-28", "2026-10-09", [], "剩余 6 个工作日", False, False),
        ("2026-09-28", "2026-10-16", [], "今日到期", False, False),
        ("2026-09-28", "2026-10-17", [], "已超期", True, False),  # Saturday after the due day
        ("2026-09-28", "2026-10-19", [], "已超期 1 个工作日", True, False),
        ("2026-09-28", "2026-10-12", [("2026-10-09", None)], "暂停中", False, True),
        ("2026-09-28", "2026-10-09", [("2026-10-09", None)], "暂停中", False, True),  # asked today
        ("2026-09-28", "2026-10-14", [("2026-10-09", "2026-10-13")], "剩余 5 个工作日", False, False),
        ("2026-09-28", "2026-10-21", [("2026-10-20", None)], "已超期 3 个工作日（暂停中）", True, True),
        ("2026-12-24", "2026-12-28", [], "剩余 8 个工作日（暂定）", False, False),
    ],
)
def test_describe_clock(
    start: str, today: str, pauses: list, summary: str, overdue: bool, paused: bool
) -> None:
    stops = [(D(a), b and D(b)) for a, b in pauses]
    state = describe_clock(CN, CLOCK_KINDS["share_request"], D(start), D(today), stops)
    assert (state.summary, state.overdue, state.paused) == (summary, overdue, paused)
    assert state.provisional is ("暂定" in summary)
    assert (state.days_left is None) is (state.due.date is None)


def test_describe_clock_on_a_loaded_year_is_not_provisional() -> None:
    state = describe_clock(CN_2027, CLOCK_KINDS["share_request"], D("2026-12-24"), D("2026-12-28"))
    assert (state.due.date, state.provisional, state.days_left) == (D("2027-01-08"), False, 8)


DAYS = st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31))


@settings(deadline=None)
@given(DAYS, st.integers(min_value=0, max_value=40))
def test_add_workdays_properties(start: date, n: int) -> None:
    due = add_workdays(CN, start, n)
    assert workdays_between(CN, start, due) == n
    assert workdays_between(CN, due, start) == -n
    if n:
        assert due > start and CN.is_workday(due)


@settings(deadline=None)
@given(DAYS, st.integers(min_value=0, max_value=40), DAYS, st.integers(min_value=0, max_value=20))
def test_calendar_days_and_pauses_properties(start: date, n: int, asked: date, length: int) -> None:
    due = add_calendar_days(CN, start, n)
    assert due >= start + timedelta(days=n) and CN.is_workday(due)
    for rule in RULES:
        plain = due_date(CN, start, n, rule).date
        paused = due_with_pauses(CN, start, n, rule, [(asked, asked + timedelta(days=length))]).date
        if n:
            assert plain <= paused and CN.is_workday(paused)
