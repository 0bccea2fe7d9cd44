"""API usage by day, as owners and the Bureau see it: the daily `usage_counter` rows of keys
(`key:<id>`) and of accounts (`user:<id>`: every counted call of the account, with a key or
signed in), kept `quotas.USAGE_DAYS` days. Days are China days. Read-only."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import ApiKey, UsageCounter, User
from .quotas import day_window

MAX_RANGE_DAYS = 366


@dataclass(frozen=True)
class DayUsage:
    day: date
    calls: int
    bytes: int


@dataclass(frozen=True)
class KeyDay:
    day: date
    key: ApiKey
    calls: int
    bytes: int


@dataclass(frozen=True)
class UserTotal:
    user: User
    calls: int
    bytes: int
    keys: int  # how many of the user's keys were used in the range


def _day_of(window: str) -> date:
    return datetime.strptime(window[2:], "%Y%m%d").date()


def _rows(session: Session, *, prefix: str, start: date, end: date, subject: str | None = None) -> list[UsageCounter]:
    query = select(UsageCounter).where(UsageCounter.window.between(day_window(start), day_window(end)))
    query = query.where(UsageCounter.subject == subject) if subject else query.where(UsageCounter.subject.like(f"{prefix}%"))
    return list(session.scalars(query))


def clamp_range(start: date, end: date) -> tuple[date, date]:
    """`start` .. `end` in order and at most `MAX_RANGE_DAYS` long (the end is kept)."""
    if start > end:
        start, end = end, start
    return max(start, end - timedelta(days=MAX_RANGE_DAYS - 1)), end


def key_usage(session: Session, key: ApiKey, *, today: date, days: int = 30) -> list[DayUsage]:
    """The last `days` days of `key`, oldest first, with a zero for a day without calls."""
    start = today - timedelta(days=days - 1)
    found = {_day_of(r.window): r for r in _rows(session, prefix="key:", start=start, end=today, subject=f"key:{key.id}")}
    days_ = [start + timedelta(days=n) for n in range(days)]
    return [DayUsage(d, found[d].calls if d in found else 0, found[d].bytes if d in found else 0) for d in days_]


def keys_usage(session: Session, *, start: date, end: date, limit: int = 500) -> tuple[list[KeyDay], bool]:
    """Every key's usage on each day of the range, newest day first, busiest key first; and
    whether rows were left out beyond `limit`."""
    rows = [r for r in _rows(session, prefix="key:", start=start, end=end) if r.subject[4:].isdigit() and (r.calls or r.bytes)]
    keys = {k.id: k for k in session.scalars(select(ApiKey).where(ApiKey.id.in_({int(r.subject[4:]) for r in rows})))}
    found = [KeyDay(_day_of(r.window), keys[int(r.subject[4:])], r.calls, r.bytes) for r in rows if int(r.subject[4:]) in keys]
    found.sort(key=lambda u: (-u.day.toordinal(), -u.calls, -u.bytes, u.key.id))
    return found[:limit], len(found) > limit


def daily_totals(session: Session, *, start: date, end: date) -> list[DayUsage]:
    """Calls and bytes of all keys together on each day of the range, oldest first."""
    totals: dict[date, list[int]] = {start + timedelta(days=n): [0, 0] for n in range((end - start).days + 1)}
    for row in _rows(session, prefix="key:", start=start, end=end):
        day = totals.setdefault(_day_of(row.window), [0, 0])
        day[0] += row.calls
        day[1] += row.bytes
    return [DayUsage(d, c, b) for d, (c, b) in sorted(totals.items())]


def top_users(session: Session, *, start: date, end: date, limit: int = 20) -> list[UserTotal]:
    """The users who called most in the range (the account's rows count its keys' calls and its
    signed-in calls together), with how many of their keys were used."""
    calls: dict[int, int] = defaultdict(int)
    nbytes: dict[int, int] = defaultdict(int)
    used_keys: dict[int, set[int]] = defaultdict(set)
    key_ids = {int(r.subject[4:]) for r in _rows(session, prefix="key:", start=start, end=end) if r.subject[4:].isdigit() and r.calls}
    for key_id, user_id in session.execute(select(ApiKey.id, ApiKey.user_id).where(ApiKey.id.in_(key_ids))):
        used_keys[user_id].add(key_id)
    for row in _rows(session, prefix="user:", start=start, end=end):
        if row.subject[5:].isdigit():
            calls[int(row.subject[5:])] += row.calls
            nbytes[int(row.subject[5:])] += row.bytes
    best = sorted(calls, key=lambda u: (-calls[u], -nbytes[u], u))[:limit]
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(best)))}
    return [UserTotal(users[u], calls[u], nbytes[u], len(used_keys[u])) for u in best if u in users]
