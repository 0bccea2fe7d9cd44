"""API quotas (Art. 23): counting calls and bytes against the tiers' numbers, and usage.

- Numbers: the tiers and their limits, which the Bureau edits, are `quota_tiers`: calls per
  minute, calls per day, bytes per day; 0 means "no limit".
- Windows: a minute and a China day (UTC+8): `m:YYYYMMDDHHMM`, `d:YYYYMMDD`.
- Subjects: limits count per account (`user:<id>`, whichever of its keys or its session made
  the call: twenty keys do not give twenty times the tier) or, for anonymous calls, per client
  address (`ip:<addr>`). A call made with a key is also counted, without a limit, on the key's
  own daily row (`key:<id>`), the usage shown per key.
- Stores (`QuotaStore`): `DatabaseStore` (UsageCounter rows, one atomic upsert per window in a
  short transaction of its own) and `RedisStore` (INCR/HINCRBY with EXPIRE in a MULTI pipeline).
  `hit` counts one call and decides before the call; `add_bytes` counts what was sent after it.
  A refused call is not counted: whoever hammers past the minute limit does not burn the day's.
- Usage: the daily rows of keys and accounts are kept `USAGE_DAYS` days; they are what owners
  and the Bureau see (`usage`).
No Flask here: "now" and the engine are passed in.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Mapping, Protocol

from sqlalchemy import Engine, and_, case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .models import UsageCounter
from .quota_tiers import Limits

CHINA = timezone(timedelta(hours=8))
USAGE_DAYS = 400  # daily rows of keys and users: the usage pages look back a year
PERSISTED = ("key:", "user:")  # subjects whose daily rows are kept; addresses only for the day


# -- windows and decisions -------------------------------------------------------------------


def china_day(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()


@dataclass(frozen=True)
class Windows:
    minute: str  # m:YYYYMMDDHHMM
    day: str  # d:YYYYMMDD
    minute_reset: int  # seconds until the minute ends (at least 1)
    day_reset: int  # seconds until China midnight (at least 1)
    minute_expires: datetime
    day_ends: datetime


def windows(now: datetime) -> Windows:
    local = now.astimezone(CHINA)
    minute_start = local.replace(second=0, microsecond=0)
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    next_minute, next_day = minute_start + timedelta(minutes=1), day_start + timedelta(days=1)
    return Windows(
        minute=f"m:{minute_start:%Y%m%d%H%M}",
        day=f"d:{day_start:%Y%m%d}",
        minute_reset=max(1, int((next_minute - local).total_seconds() + 0.999)),
        day_reset=max(1, int((next_day - local).total_seconds() + 0.999)),
        minute_expires=(next_minute + timedelta(minutes=1)).astimezone(timezone.utc),
        day_ends=next_day.astimezone(timezone.utc),
    )


def day_window(day: date) -> str:
    return f"d:{day:%Y%m%d}"


@dataclass(frozen=True)
class Decision:
    """Whether one call may go ahead, and what is left. `limit`, `remaining` and `reset_seconds`
    describe the minute window (the customary X-RateLimit-*), the `day_*` and `bytes_*` fields
    the China day; a limit of 0 means none. `reason`: "", "minute", "day" or "bytes"."""

    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int
    retry_after: int = 0
    day_limit: int = 0
    day_remaining: int = 0
    day_reset_seconds: int = 0
    bytes_limit: int = 0
    bytes_remaining: int = 0
    reason: str = ""


def decide(limits: Limits, w: Windows, *, minute_calls: int, day_calls: int, day_bytes: int, refused: str = "") -> Decision:
    """The decision for counts as they stand after the call was counted (or refused)."""
    retry = {"": 0, "minute": w.minute_reset}.get(refused, w.day_reset)
    return Decision(
        allowed=not refused,
        limit=limits.per_minute,
        remaining=max(0, limits.per_minute - minute_calls) if limits.per_minute else 0,
        reset_seconds=w.minute_reset,
        retry_after=retry,
        day_limit=limits.per_day,
        day_remaining=max(0, limits.per_day - day_calls) if limits.per_day else 0,
        day_reset_seconds=w.day_reset,
        bytes_limit=limits.bytes_per_day,
        bytes_remaining=max(0, limits.bytes_per_day - day_bytes) if limits.bytes_per_day else 0,
        reason=refused,
    )


def _bytes_fit(limits: Limits, before: int, reserve: int) -> bool:
    """A call may go ahead while the day's bytes (with what it is known to take) stay in bounds."""
    return not limits.bytes_per_day or before + max(reserve, 1) <= limits.bytes_per_day


class QuotaStore(Protocol):
    def hit(self, subject: str, limits: Limits, now: datetime, *, reserve: int = 0, usage: str | None = None) -> Decision:
        """Count one call of `subject` (and `reserve` bytes it is known to take) unless a limit
        is reached; a refused call is not counted. An allowed call is also counted on the daily
        row of `usage` (a key), which has no limit."""

    def add_bytes(self, subject: str, amount: int, now: datetime, *, usage: str | None = None) -> None:
        """Add (or, for a negative amount, give back) bytes of the day, to `usage`'s row too."""

    def sync(self, now: datetime, *, force: bool = False) -> int:
        """Copy daily usage kept elsewhere to the database (a no-op for the database store)."""


def _expiry(subject: str, w: Windows) -> datetime:
    return w.day_ends + (timedelta(days=USAGE_DAYS) if subject.startswith(PERSISTED) else timedelta(days=1))


class DatabaseStore:
    """Counters in `usage_counter`, shared by every process on the database. Each window is one
    `INSERT ... ON CONFLICT (subject, window) DO UPDATE ... WHERE <under the limit> RETURNING`,
    atomic on SQLite and PostgreSQL alike, in a transaction of its own (never the request's)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    def _bump(self, conn: Any, subject: str, window: str, expires: datetime, *, calls: int, nbytes: int, where: Any = None) -> tuple[int, int] | None:
        table = UsageCounter.__table__
        stmt = self.insert(table).values(subject=subject, window=window, calls=calls, bytes=nbytes, expires_at=expires)
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.subject, table.c.window],
            set_={"calls": table.c.calls + calls, "bytes": table.c.bytes + nbytes},
            where=where,
        ).returning(table.c.calls, table.c.bytes)
        row = conn.execute(stmt).first()
        return (row[0], row[1]) if row is not None else None

    def _counts(self, conn: Any, subject: str, window: str) -> tuple[int, int]:
        row = conn.execute(select(UsageCounter.calls, UsageCounter.bytes).where(UsageCounter.subject == subject, UsageCounter.window == window)).first()
        return (row[0], row[1]) if row is not None else (0, 0)

    def hit(self, subject: str, limits: Limits, now: datetime, *, reserve: int = 0, usage: str | None = None) -> Decision:
        w = windows(now)
        table = UsageCounter.__table__
        with self.engine.begin() as conn:
            minute_calls = 0
            if limits.per_minute:
                bumped = self._bump(conn, subject, w.minute, w.minute_expires, calls=1, nbytes=0, where=table.c.calls < limits.per_minute)
                if bumped is None:
                    day_calls, day_bytes = self._counts(conn, subject, w.day)
                    return decide(limits, w, minute_calls=limits.per_minute, day_calls=day_calls, day_bytes=day_bytes, refused="minute")
                minute_calls = bumped[0]
            conditions = []
            if limits.per_day:
                conditions.append(table.c.calls < limits.per_day)
            if limits.bytes_per_day:
                conditions.append(table.c.bytes + max(reserve, 1) <= limits.bytes_per_day)
            day = None
            if _bytes_fit(limits, 0, reserve):  # a first call of the day is inserted without the WHERE
                day = self._bump(conn, subject, w.day, _expiry(subject, w), calls=1, nbytes=reserve, where=and_(*conditions) if conditions else None)
            if day is None:
                if limits.per_minute:
                    conn.execute(update(table).where(table.c.subject == subject, table.c.window == w.minute).values(calls=table.c.calls - 1))
                day_calls, day_bytes = self._counts(conn, subject, w.day)
                reason = "day" if limits.per_day and day_calls >= limits.per_day else "bytes"
                return decide(limits, w, minute_calls=max(0, minute_calls - 1), day_calls=day_calls, day_bytes=day_bytes, refused=reason)
            if usage:
                self._bump(conn, usage, w.day, _expiry(usage, w), calls=1, nbytes=reserve)
        return decide(limits, w, minute_calls=minute_calls, day_calls=day[0], day_bytes=day[1])

    def add_bytes(self, subject: str, amount: int, now: datetime, *, usage: str | None = None) -> None:
        if not amount:
            return
        w = windows(now)
        with self.engine.begin() as conn:
            for counted in filter(None, (subject, usage)):
                self._bump(conn, counted, w.day, _expiry(counted, w), calls=0, nbytes=amount)

    def sync(self, now: datetime, *, force: bool = False) -> int:
        return 0


class RedisStore:
    """Counters in Redis: the minute as a plain counter, the day as a hash (calls, bytes), each
    with EXPIRE, changed in one MULTI/EXEC pipeline; a refused call is taken back at once. The
    daily usage of keys and users is copied to `usage_counter` at most once a minute across all
    processes (`sync`, also from `portal tick`), so the usage pages lag by a minute at most."""

    SYNC_EVERY = 60  # seconds

    def __init__(self, client: Any, engine: Engine, *, prefix: str = "portal:quota:") -> None:
        self.client = client
        self.engine = engine
        self.prefix = prefix
        self._last_sync = 0.0

    def _keys(self, subject: str, w: Windows) -> tuple[str, str, str]:
        return f"{self.prefix}{w.minute}|{subject}", f"{self.prefix}{w.day}|{subject}", f"{self.prefix}used|{w.day}"

    def hit(self, subject: str, limits: Limits, now: datetime, *, reserve: int = 0, usage: str | None = None) -> Decision:
        w = windows(now)
        minute_key, day_key, used_key = self._keys(subject, w)
        usage_key = self._keys(usage, w)[1] if usage else ""
        pipe = self.client.pipeline(transaction=True)
        pipe.incr(minute_key)
        pipe.expire(minute_key, w.minute_reset + 60)
        pipe.hincrby(day_key, "calls", 1)
        pipe.hincrby(day_key, "bytes", reserve)
        pipe.expire(day_key, w.day_reset + 86_400)
        if usage:
            pipe.hincrby(usage_key, "calls", 1)
            pipe.hincrby(usage_key, "bytes", reserve)
            pipe.expire(usage_key, w.day_reset + 86_400)
        for persisted in (s for s in (subject, usage) if s and s.startswith(PERSISTED)):
            pipe.sadd(used_key, persisted)
            pipe.expire(used_key, w.day_reset + 2 * 86_400)
        minute_calls, _, day_calls, day_bytes, *_ = pipe.execute()
        refused = ""
        if limits.per_minute and minute_calls > limits.per_minute:
            refused = "minute"
        elif limits.per_day and day_calls > limits.per_day:
            refused = "day"
        elif not _bytes_fit(limits, day_bytes - reserve, reserve):
            refused = "bytes"
        if refused:
            undo = self.client.pipeline(transaction=True)
            undo.decr(minute_key)
            undo.hincrby(day_key, "calls", -1)
            undo.hincrby(day_key, "bytes", -reserve)
            if usage:
                undo.hincrby(usage_key, "calls", -1)
                undo.hincrby(usage_key, "bytes", -reserve)
            undo.execute()
            minute_calls, day_calls, day_bytes = minute_calls - 1, day_calls - 1, day_bytes - reserve
        return decide(limits, w, minute_calls=minute_calls, day_calls=day_calls, day_bytes=day_bytes, refused=refused)

    def add_bytes(self, subject: str, amount: int, now: datetime, *, usage: str | None = None) -> None:
        if not amount:
            return
        w = windows(now)
        pipe = self.client.pipeline(transaction=True)
        for counted in filter(None, (subject, usage)):
            day_key = self._keys(counted, w)[1]
            pipe.hincrby(day_key, "bytes", amount)
            pipe.expire(day_key, w.day_reset + 86_400)
        pipe.execute()

    def sync(self, now: datetime, *, force: bool = False) -> int:
        """Copy today's and yesterday's daily counts of keys and users to the database (each row
        becomes the larger of the two values); returns the rows written. Without `force`, at most
        once a minute in this process and, through a Redis lock, across all processes."""
        if not force:
            if time.monotonic() - self._last_sync < self.SYNC_EVERY:
                return 0
            self._last_sync = time.monotonic()
            if not self.client.set(f"{self.prefix}synced", "1", nx=True, ex=self.SYNC_EVERY):
                return 0
        rows = []
        for moment in (now - timedelta(days=1), now):
            w = windows(moment)
            _, _, used_key = self._keys("", w)
            subjects = sorted(s.decode() if isinstance(s, bytes) else s for s in self.client.smembers(used_key))
            pipe = self.client.pipeline(transaction=False)
            for subject in subjects:
                pipe.hmget(self._keys(subject, w)[1], "calls", "bytes")
            for subject, (calls, nbytes) in zip(subjects, pipe.execute()):
                rows.append((subject, w, int(calls or 0), int(nbytes or 0)))
        if not rows:
            return 0
        table = UsageCounter.__table__
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        with self.engine.begin() as conn:
            for subject, w, calls, nbytes in rows:
                stmt = insert(table).values(subject=subject, window=w.day, calls=calls, bytes=nbytes, expires_at=_expiry(subject, w))
                stmt = stmt.on_conflict_do_update(
                    index_elements=[table.c.subject, table.c.window],
                    set_={
                        "calls": case((stmt.excluded.calls > table.c.calls, stmt.excluded.calls), else_=table.c.calls),
                        "bytes": case((stmt.excluded.bytes > table.c.bytes, stmt.excluded.bytes), else_=table.c.bytes),
                    },
                )
                conn.execute(stmt)
        return len(rows)


def open_store(config: Mapping[str, Any], engine: Engine) -> QuotaStore:
    """The store the settings ask for: QUOTA_STORE=database (default) or redis (REDIS_URL)."""
    kind = str(config.get("QUOTA_STORE") or "database").strip().lower()
    if kind == "redis":
        import redis

        return RedisStore(redis.Redis.from_url(config["REDIS_URL"], socket_timeout=2, socket_connect_timeout=2), engine)
    if kind != "database":
        raise ValueError(f"PORTAL_QUOTA_STORE must be database or redis, not {kind!r}")
    return DatabaseStore(engine)


def purge_expired(session: Session, *, now: datetime) -> int:
    """Delete counters whose window has passed (minute rows after a minute, address day rows
    after a day, key and user day rows after `USAGE_DAYS`); for `portal tick`. The caller commits."""
    result = session.execute(delete(UsageCounter).where(UsageCounter.expires_at < now).execution_options(synchronize_session=False))
    return int(result.rowcount or 0)
