"""The Chinese working-day calendar and the statutory clocks that run on it.

Owns: which days are working days (weekends, the State Council's yearly holiday notice with its
make-up working days 调休, provisional years, notices an administrator loads from a JSON file),
deadline arithmetic (working days, calendar days rolled forward, pauses for clarification), the
clock kinds of the Measures (Art. 10, 14, 18) declared as data, and the state a page shows.

Pure: standard library plus `holidays`. "Today" and any stored overrides are passed in.
Counting never includes the start day. A year is official when a loaded file or the `holidays`
package holds its notice (the package holds a notice when it lists make-up days for that year,
as every notice since 2001 has); otherwise it is provisional: weekends and the statutory
holidays of 《全国年节及纪念日放假办法》 only, no make-up days.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Literal

import holidays

Rule = Literal["workdays", "calendar_days"]
RULES: dict[str, str] = {
    "workdays": "工作日",
    "calendar_days": "自然日（期限末日为节假日的，顺延至下一个工作日）",
}
Pause = tuple[date, date | None]
BUNDLED_DIR = Path(__file__).with_name("calendar_data")  # cn-YYYY.json, the official notices
_ONE_DAY = timedelta(days=1)
_WEEKDAYS = "一二三四五六日"


# --- the calendar -------------------------------------------------------------------------


@dataclass(frozen=True)
class OfficialYear:
    """One year's official arrangement: days off and make-up working days (调休)."""

    year: int
    source: str  # the notice, e.g. 国办发明电〔2025〕7号
    days_off: frozenset[date]
    workdays: frozenset[date]


class CalendarFileError(ValueError):
    """A year file that cannot be loaded; `message` says why, in Chinese."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        self.message = "；".join(errors)
        super().__init__(self.message)


_FILE_KEYS = {"year", "source", "days_off", "workdays"}
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
_LISTS = {"days_off": "放假日", "workdays": "调休上班日"}


def _file_day(item: object, year: int, key: str) -> date | str:
    """A date of list `key` of a year file, or why it is not acceptable."""
    name = _LISTS[key]
    try:
        day = date.fromisoformat(item) if isinstance(item, str) and _ISO.fullmatch(item) else None
    except ValueError:
        day = None
    if day is None:
        return f"{name}“{item}”不是有效日期（格式为 YYYY-MM-DD）"
    if not (day.year == year or (day.year == year - 1 and day.month == 12)):
        return f"{name}“{day}”不在 {year} 年内（仅元旦安排可含上一年 12 月）"
    if key == "workdays" and day.weekday() < 5:
        return f"调休上班日“{day}”是星期{_WEEKDAYS[day.weekday()]}，应为周六或周日"
    return day


def parse_year_file(text: str) -> OfficialYear:
    """Read a year file: {"year", "source", "days_off": [...], "workdays": [...]}.

    Dates are YYYY-MM-DD inside the year; December of the year before is allowed too, because
    a notice's 元旦 arrangement sometimes reaches back into it (as the 2019 notice did).
    Make-up working days must fall on a weekend; a day off on a weekend is harmless.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise CalendarFileError([f"不是有效的 JSON：第 {e.lineno} 行第 {e.colno} 列有误"]) from None
    if not isinstance(data, dict):
        raise CalendarFileError(["文件内容应为一个 JSON 对象"])
    errors = [f"未知字段“{key}”" for key in sorted(set(data) - _FILE_KEYS)]
    year, source = data.get("year"), data.get("source")
    if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2100:
        raise CalendarFileError([*errors, "year 应为 2000 至 2100 之间的年份整数，如 2027"])
    if not isinstance(source, str) or not source.strip():
        errors.append("source 应填写通知的发文字号，如“国办发明电〔2026〕X号”")
    elif len(source.strip()) > 300:
        errors.append("source 不能超过 300 个字符")
    days: dict[str, set[date]] = {key: set() for key in _LISTS}
    for key, name in _LISTS.items():
        items = data.get(key, [])
        if not isinstance(items, list) or (key == "days_off" and not items):
            errors.append(f"{key} 应为{name}的日期列表" + ("，且不能为空" if key == "days_off" else ""))
            continue
        for item in items:
            day = _file_day(item, year, key)
            if isinstance(day, str):
                errors.append(day)
            elif day in days[key]:
                errors.append(f"{name}“{day}”重复列出")
            else:
                days[key].add(day)
    both = sorted(days["days_off"] & days["workdays"])
    errors += [f"“{day}”既列为放假日又列为调休上班日" for day in both]
    if errors:
        raise CalendarFileError(errors)
    return OfficialYear(year, source.strip(), *(frozenset(days[key]) for key in _LISTS))


def read_bundled() -> list[OfficialYear]:
    """The year files shipped in `calendar_data/`, oldest first."""
    return [parse_year_file(p.read_text("utf-8")) for p in sorted(BUNDLED_DIR.glob("cn-*.json"))]


@lru_cache(maxsize=None)
def _package_year(year: int) -> tuple[frozenset[date], frozenset[date], bool]:
    """(days off, make-up days, official?) for `year` as the `holidays` package knows it."""
    cn = holidays.China(years=year, language="zh_CN")
    workdays = frozenset(d for d in cn.weekend_workdays if d.year == year)
    if not workdays:  # no notice held: the statutory days only, not the package's in-lieu guesses
        cn = holidays.China(years=year, language="zh_CN", observed=False)
    return frozenset(cn), workdays, bool(workdays)


class Calendar:
    """Working days of mainland China; `official` years (loaded files) override the package.

    A loaded year replaces the package's days for that year entirely; its December dates of
    the year before override only those dates. For the same year, a later file wins.
    """

    def __init__(self, official: Iterable[OfficialYear] = ()) -> None:
        self._loaded = {o.year: o for o in official}
        self._marks: dict[date, bool] = {}  # the loaded files' days: True for a make-up day
        for o in sorted(self._loaded.values(), key=lambda o: o.year):
            self._marks |= dict.fromkeys(o.days_off, False) | dict.fromkeys(o.workdays, True)

    def with_official(self, *official: OfficialYear) -> Calendar:
        """A calendar with `official` loaded on top of this one's loaded years."""
        return Calendar([*self._loaded.values(), *official])

    @property
    def loaded_years(self) -> tuple[int, ...]:
        return tuple(sorted(self._loaded))

    def is_workday(self, day: date) -> bool:
        if day in self._marks:
            return self._marks[day]
        if day.year not in self._loaded:
            days_off, workdays, _ = _package_year(day.year)
            if day in workdays or day in days_off:
                return day in workdays
        return day.weekday() < 5

    def is_provisional(self, year: int) -> bool:
        """True when no official notice for `year` is held: its days off may still change."""
        return year not in self._loaded and not _package_year(year)[2]

    def source(self, year: int) -> str:
        """Where `year`'s days come from, in Chinese, for pages and audit."""
        if year in self._loaded:
            return self._loaded[year].source
        if self.is_provisional(year):
            return "暂定：仅周末及法定节假日，无调休"
        return f"国务院办公厅通知（holidays {holidays.__version__} 所载）"

    def provisional_years(self, first: date, last: date) -> tuple[int, ...]:
        """The provisional years among those from `first` to `last`."""
        return tuple(y for y in range(first.year, last.year + 1) if self.is_provisional(y))


# --- deadline arithmetic ------------------------------------------------------------------


def _check(n: int, rule: str = "workdays") -> None:
    if n < 0:
        raise ValueError(f"期限天数不能为负数：{n}")
    if rule not in RULES:
        raise ValueError(f"未知的计算方式“{rule}”，应为 {'、'.join(RULES)} 之一")


def add_workdays(cal: Calendar, start: date, n: int) -> date:
    """The n-th working day after `start`; the start day itself never counts."""
    _check(n)
    day = start
    while n > 0:
        day += _ONE_DAY
        n -= cal.is_workday(day)
    return day


def add_calendar_days(cal: Calendar, start: date, n: int) -> date:
    """`start` + n days, rolled forward to the next working day when that day is not one."""
    _check(n)
    day = start + timedelta(days=n)
    while not cal.is_workday(day):
        day += _ONE_DAY
    return day


def workdays_between(cal: Calendar, start: date, end: date) -> int:
    """Working days after `start` up to and including `end`; negative when `end` is earlier."""
    sign = 1 if end >= start else -1
    first, last = min(start, end), max(start, end)
    days = (first + timedelta(days=i) for i in range(1, (last - first).days + 1))
    return sign * sum(cal.is_workday(day) for day in days)


@dataclass(frozen=True)
class Due:
    """A due date (None while an open pause stopped the clock first); `provisional` when a
    year the computation touched is provisional."""

    date: date | None
    provisional: bool


def due_date(cal: Calendar, start: date, n: int, rule: Rule) -> Due:
    """The due date of an n-day limit counted by `rule` from `start`."""
    return due_with_pauses(cal, start, n, rule, ())


def _running_days(start: date, pauses: Iterable[Pause]) -> Iterator[date]:
    """The days after `start` on which the clock runs; finite when a pause is still open."""
    closed = [(asked, answered) for asked, answered in pauses if answered is not None]
    stop = min((asked for asked, answered in pauses if answered is None), default=None)
    day = start
    while stop is None or day < stop:
        day += _ONE_DAY
        if not any(asked < day <= answered for asked, answered in closed):
            yield day


def due_with_pauses(cal: Calendar, start: date, n: int, rule: Rule, pauses: Iterable[Pause]) -> Due:
    """The due date when the clock stopped during `pauses` (asked, answered).

    A pause asked on day A and answered on day B stops the clock on the days after A up to and
    including B: the day of asking still counts and, like the start day, the day of the answer
    does not. A pause with no answer yet (B None) stops the clock from the day after A on: if
    the limit was not reached by A, the due date is unknown (`Due.date` None); if it was, the
    due date stands and the clock is overdue.
    """
    _check(n, rule)
    pauses = list(pauses)
    for asked, answered in pauses:
        if answered is not None and answered < asked:
            raise ValueError(f"暂停的结束日 {answered} 早于开始日 {asked}")
    running = _running_days(start, pauses)
    due: date | None = start
    if n > 0:
        counted = (d for d in running if rule == "calendar_days" or cal.is_workday(d))
        due = next(islice(counted, n - 1, None), None)
    if rule == "calendar_days" and due is not None and not cal.is_workday(due):
        due = next((d for d in running if cal.is_workday(d)), None)
    last = due or min(asked for asked, answered in pauses if answered is None)
    return Due(due, bool(cal.provisional_years(start, max(start, last))))


# --- the clock kinds of the Measures ------------------------------------------------------


@dataclass(frozen=True)
class ClockKind:
    key: str
    label: str
    limit_days: int
    rule: Rule
    article: str  # of 《合肥经济技术开发区政务数据资源共享开放管理暂行办法》
    starts: str  # the day the clock starts from (not counted)
    basis_text: str  # the article's own words, short

    @property
    def limit_label(self) -> str:
        if self.rule == "workdays":
            return f"{self.limit_days}个工作日"
        return f"{self.limit_days}日（末日遇节假日顺延）"


_SHARE = "提供部门应当及时受理数据共享申请"
_OPEN = "政务数据提供部门应及时受理数据开放申请"
CLOCK_KINDS: dict[str, ClockKind] = {k.key: k for k in (
    ClockKind("share_request", "共享申请答复", 10, "workdays", "第十四条", "受理申请之日",
              f"{_SHARE}，核实数据使用需求及其范围等要素，自受理申请之日起10日内向数据需求部门反馈意见。"),
    ClockKind("open_request", "开放申请答复", 10, "workdays", "第十八条", "受理申请之日",
              f"{_OPEN}，自受理申请之日起10日内通过开放平台向申请方开放其所需数据。"),
    ClockKind("error_report", "数据校核反馈", 5, "workdays", "第十条", "收到校核信息之日",
              "政务数据提供部门应当自收到校核信息之日起5个工作日内完成校核并反馈政务数据使用方。"),
    ClockKind("catalog_adjustment", "目录调整更新", 10, "workdays", "第十条", "情形发生之日",
              "相关区属部门应当在情形发生之日起10个工作日内更新。"),
    ClockKind("acceptance", "申请受理", 2, "workdays", "第十四条、第十八条（及时受理，时限为办理惯例）",
              "提出申请之日", f"第十四条“{_SHARE}”，第十八条“{_OPEN}”。办法未规定受理时限，"
              "超过2个工作日未受理即予提示，是平台的办理惯例。"),
)}


def with_rule(kind: ClockKind, rule: Rule) -> ClockKind:
    """`kind` counted by another rule (the Bureau's override, stored by the database layer)."""
    _check(kind.limit_days, rule)
    return replace(kind, rule=rule)


@dataclass(frozen=True)
class ClockState:
    """What a page shows for one running clock."""

    kind: ClockKind
    due: Due
    days_left: int | None  # working days after today up to the due date; negative when overdue
    overdue: bool
    paused: bool
    provisional: bool

    @property
    def summary(self) -> str:
        """剩余 N 个工作日 / 今日到期 / 已超期 N 个工作日 / 暂停中, with （暂定） when provisional."""
        if self.days_left is None:
            text = "暂停中"
        elif self.overdue:
            text = f"已超期 {-self.days_left} 个工作日" if self.days_left else "已超期"
        else:
            text = f"剩余 {self.days_left} 个工作日" if self.days_left else "今日到期"
        if self.paused and self.days_left is not None:
            text += "（暂停中）"
        return text + ("（暂定）" if self.provisional else "")


def describe_clock(
    cal: Calendar, kind: ClockKind, start: date, today: date, pauses: Iterable[Pause] = ()
) -> ClockState:
    """The state of a `kind` clock started on `start`, as of `today`.

    Paused means a pause is under way today: asked on or before today, answered after today or
    not yet. `days_left` is None while the due date is unknown.
    """
    pauses = list(pauses)
    due = due_with_pauses(cal, start, kind.limit_days, kind.rule, pauses)
    paused = any(asked <= today and (end is None or today < end) for asked, end in pauses)
    days_left = None if due.date is None else workdays_between(cal, today, due.date)
    overdue = due.date is not None and today > due.date
    return ClockState(kind, due, days_left, overdue, paused, due.provisional)
