"""The calendar the portal counts deadlines with: the pure `workdays.Calendar` plus the official
years the Bureau has loaded into the database (`calendar_year`), each load recorded in the audit
trail; and the clock kinds in force, with the counting rules the Bureau chose (`clock_rule`).
Pages and commands get their calendar and clock kinds here, never by building them themselves."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .errors import Invalid
from .models import CalendarYear, ClockRule, User
from .workdays import CLOCK_KINDS, RULES, Calendar, ClockKind, OfficialYear, with_rule


def _official(row: CalendarYear) -> OfficialYear:
    return OfficialYear(
        year=row.year, source=row.source,
        days_off=frozenset(date.fromisoformat(d) for d in row.days_off),
        workdays=frozenset(date.fromisoformat(d) for d in row.workdays),
    )


def loaded_years(session: Session) -> list[CalendarYear]:
    """The years loaded into the database, newest first (for the Bureau's calendar page)."""
    return list(session.scalars(select(CalendarYear).order_by(CalendarYear.year.desc())))


def current_calendar(session: Session) -> Calendar:
    """The working-day calendar with every year loaded into the database."""
    return Calendar(_official(row) for row in session.scalars(select(CalendarYear).order_by(CalendarYear.year)))


def load_year(session: Session, official: OfficialYear, *, actor: User | None, now: datetime, actor_name: str = "") -> bool:
    """Store (or replace) a year's official days; returns False when it was already stored as is."""
    row = session.get(CalendarYear, official.year)
    days_off, workdays = sorted(d.isoformat() for d in official.days_off), sorted(d.isoformat() for d in official.workdays)
    if row is not None and (row.source, row.days_off, row.workdays) == (official.source, days_off, workdays):
        return False
    if row is None:
        row = CalendarYear(year=official.year)
        session.add(row)
    row.source, row.days_off, row.workdays = official.source, days_off, workdays
    row.loaded_at, row.loaded_by = now, actor.username if actor else actor_name
    audit.record(
        session, action="calendar:load", actor=actor, actor_name=actor_name, now=now, target=str(official.year),
        details={"source": official.source, "days_off": len(days_off), "workdays": len(workdays)},
    )
    session.flush()
    return True


# Clock kinds whose article says 日 without saying working days: the Bureau chooses how they are
# counted. The others (5个工作日, 10个工作日, and the acceptance practice) are counted in working
# days as written.
CONFIGURABLE = ("share_request", "open_request")


def clock_kinds(session: Session) -> dict[str, ClockKind]:
    """Every clock kind with the counting rule in force."""
    rules = {row.kind: row.rule for row in session.scalars(select(ClockRule))}
    return {
        key: with_rule(kind, rules[key]) if key in rules and key in CONFIGURABLE else kind  # type: ignore[arg-type]
        for key, kind in CLOCK_KINDS.items()
    }


def clock_kind(session: Session, key: str) -> ClockKind:
    return clock_kinds(session)[key]


def rule_changes(session: Session) -> dict[str, ClockRule]:
    """The Bureau's stored choices by clock kind: the rule, when and by whom."""
    return {row.kind: row for row in session.scalars(select(ClockRule))}


def set_clock_rule(session: Session, key: str, rule: str, *, actor: User, now: datetime) -> bool:
    """Count the `key` clock by `rule` (workdays | calendar_days) from now on; requests already
    filed keep the rule they were filed under. Only the clocks in CONFIGURABLE may change.
    Returns False when `rule` is already in force; raises Invalid for another key or rule."""
    if key not in CONFIGURABLE:
        raise Invalid({"kind": "该时限按工作日计算，不能修改" if key in CLOCK_KINDS else "没有该时限"})
    if rule not in RULES:
        raise Invalid({"rule": f"计算方式应为 {'、'.join(RULES)} 之一"})
    before = clock_kind(session, key).rule
    if before == rule:
        return False
    row = session.get(ClockRule, key)
    if row is None:
        row = ClockRule(kind=key)
        session.add(row)
    row.rule, row.changed_at, row.changed_by = rule, now, actor.username
    audit.record(session, action="clock:rule", actor=actor, now=now, target=key, details={"from": before, "to": rule})
    session.flush()
    return True
