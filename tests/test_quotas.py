"""Quotas: the tiers' numbers, the windows, both stores (database and Redis) counted alike, across
processes, usage by day."""

from __future__ import annotations

import multiprocessing
import os
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from portal import api_keys, quota_tiers, quotas, usage
from portal.db import make_engine
from portal.errors import Invalid
from portal.models import AuditEvent, QuotaTier, UsageCounter
from portal.quota_tiers import Limits
from portal.quotas import DatabaseStore, RedisStore

from .support import NOW, World, build_world

REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_client() -> Any:
    """A client of the Redis server on 127.0.0.1:6379; the test is skipped when there is none,
    except in CI (CI set), where the server is part of the build."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as error:
        client.close()
        if os.environ.get("CI"):
            raise
        pytest.skip(f"Redis is not reachable on 127.0.0.1:6379 ({error}); the Redis store tests need it (they never skip in CI)")
    return client


@pytest.fixture
def redis_prefix() -> Iterator[tuple[Any, str]]:
    """A client and a key prefix of this test alone; every key under it is deleted afterwards."""
    client = redis_client()
    prefix = f"test-portal:{uuid.uuid4().hex}:"
    yield client, prefix
    for key in client.scan_iter(match=f"{prefix}*", count=500):
        client.delete(key)
    client.close()


@pytest.fixture(params=["database", "redis"])
def store(request: pytest.FixtureRequest, engine: Engine) -> quotas.QuotaStore:
    if request.param == "database":
        return DatabaseStore(engine)
    client, prefix = request.getfixturevalue("redis_prefix")
    return RedisStore(client, engine, prefix=prefix)


# -- windows -------------------------------------------------------------------------------


@pytest.mark.parametrize("moment, minute, day, minute_reset, day_reset", [
    (datetime(2026, 11, 25, 9, 30, 0, tzinfo=timezone.utc), "m:202611251730", "d:20261125", 60, 6 * 3600 + 30 * 60),
    (datetime(2026, 11, 25, 15, 59, 59, 500000, tzinfo=timezone.utc), "m:202611252359", "d:20261125", 1, 1),  # China midnight is 16:00 UTC
    (datetime(2026, 11, 25, 16, 0, 0, tzinfo=timezone.utc), "m:202611260000", "d:20261126", 60, 86400),
])
def test_windows_are_minutes_and_china_days(moment: datetime, minute: str, day: str, minute_reset: int, day_reset: int) -> None:
    w = quotas.windows(moment)
    assert (w.minute, w.day, w.minute_reset, w.day_reset) == (minute, day, minute_reset, day_reset)


# -- the stores ----------------------------------------------------------------------------


def test_minute_limit_refuses_and_a_refused_call_is_not_counted(store: quotas.QuotaStore) -> None:
    limits = Limits(per_minute=3, per_day=100, bytes_per_day=0)
    decisions = [store.hit("key:1", limits, NOW) for _ in range(5)]
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0, 0]
    assert decisions[0].limit == 3 and decisions[0].reset_seconds == 60  # NOW is on the minute
    refused = decisions[3]
    assert refused.reason == "minute" and refused.retry_after == refused.reset_seconds
    assert refused.day_remaining == 97  # the refused calls did not eat into the day
    later = store.hit("key:1", limits, NOW + timedelta(minutes=1))
    assert later.allowed and later.remaining == 2 and later.day_remaining == 96
    assert store.hit("key:2", limits, NOW).allowed  # another subject counts apart


def test_day_limit_refuses_until_china_midnight(store: quotas.QuotaStore) -> None:
    limits = Limits(per_minute=10, per_day=2, bytes_per_day=0)
    assert store.hit("ip:203.0.113.9", limits, NOW).allowed
    assert store.hit("ip:203.0.113.9", limits, NOW + timedelta(minutes=1)).allowed
    refused = store.hit("ip:203.0.113.9", limits, NOW + timedelta(minutes=2))
    assert not refused.allowed and refused.reason == "day"
    assert refused.retry_after == quotas.windows(NOW + timedelta(minutes=2)).day_reset
    refused_again = store.hit("ip:203.0.113.9", limits, NOW + timedelta(minutes=3))
    assert refused_again.remaining == 10  # a call the day refused does not count in the minute either
    assert store.hit("ip:203.0.113.9", limits, NOW + timedelta(hours=7)).allowed  # 16:30 UTC: the next China day


def test_bytes_are_reserved_counted_and_given_back(store: quotas.QuotaStore) -> None:
    limits = Limits(per_minute=100, per_day=100, bytes_per_day=1000)
    first = store.hit("user:7", limits, NOW, reserve=600)
    assert first.allowed and first.bytes_remaining == 400
    too_big = store.hit("user:7", limits, NOW, reserve=500)
    assert not too_big.allowed and too_big.reason == "bytes" and too_big.bytes_remaining == 400
    store.add_bytes("user:7", -100, NOW)  # the download turned out smaller (a 304, a range)
    assert store.hit("user:7", limits, NOW, reserve=500).allowed
    store.add_bytes("user:7", 1, NOW)  # 1001 > 1000: spent
    spent = store.hit("user:7", limits, NOW)
    assert not spent.allowed and spent.reason == "bytes"
    assert not store.hit("user:8", limits, NOW, reserve=1001).allowed  # larger than the whole day


def test_zero_means_no_limit(store: quotas.QuotaStore) -> None:
    limits = Limits(per_minute=0, per_day=0, bytes_per_day=0)
    assert all(store.hit("key:3", limits, NOW, reserve=10**9).allowed for _ in range(20))


def test_day_rows_of_keys_are_kept_and_minute_rows_purged(engine: Engine, session: Session) -> None:
    store = DatabaseStore(engine)
    limits = Limits(per_minute=10, per_day=10, bytes_per_day=0)
    for subject in ("key:1", "user:2", "ip:198.51.100.1"):
        store.hit(subject, limits, NOW)
    store.add_bytes("key:1", 123, NOW)
    assert quotas.purge_expired(session, now=NOW) == 0
    removed = quotas.purge_expired(session, now=NOW + timedelta(days=3))  # minute rows, and the address's day
    session.commit()
    assert removed == 4
    left = session.execute(select(UsageCounter.subject, UsageCounter.window, UsageCounter.calls, UsageCounter.bytes).order_by(UsageCounter.subject)).all()
    assert [tuple(r) for r in left] == [("key:1", "d:20261125", 1, 123), ("user:2", "d:20261125", 1, 0)]
    assert quotas.purge_expired(session, now=NOW + timedelta(days=quotas.USAGE_DAYS + 2)) == 2


def test_redis_daily_usage_is_copied_to_the_database(engine: Engine, session: Session, redis_prefix: tuple[Any, str]) -> None:
    client, prefix = redis_prefix
    store = RedisStore(client, engine, prefix=prefix)
    limits = Limits(per_minute=100, per_day=100, bytes_per_day=0)
    for _ in range(3):
        store.hit("key:5", limits, NOW)
    store.hit("ip:192.0.2.1", limits, NOW)
    store.add_bytes("key:5", 2048, NOW)
    assert store.sync(NOW) == 1  # the first sync of the minute in this process
    assert store.sync(NOW) == 0  # not again within the minute
    row = session.scalar(select(UsageCounter).where(UsageCounter.subject == "key:5"))
    assert row is not None and (row.window, row.calls, row.bytes) == ("d:20261125", 3, 2048)
    assert session.scalar(select(func.count()).select_from(UsageCounter).where(UsageCounter.subject.like("ip:%"))) == 0
    store.hit("key:5", limits, NOW)
    assert store.sync(NOW, force=True) == 1
    session.expire_all()
    assert session.scalar(select(UsageCounter.calls).where(UsageCounter.subject == "key:5")) == 4


def _hammer(kind: str, url: str, prefix: str, calls: int, queue: Any) -> None:
    """One worker process: `calls` calls of one subject against a limit of 25 a minute."""
    engine = make_engine(url)
    if kind == "redis":
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        store: quotas.QuotaStore = RedisStore(client, engine, prefix=prefix)
    else:
        store = DatabaseStore(engine)
    allowed = sum(store.hit("key:99", Limits(per_minute=25, per_day=1000, bytes_per_day=0), NOW).allowed for _ in range(calls))
    queue.put(allowed)
    engine.dispose()


@pytest.mark.parametrize("kind", ["database", "redis"])
def test_counts_are_shared_by_processes(kind: str, database_url: str, engine: Engine, session: Session, request: pytest.FixtureRequest) -> None:
    prefix = ""
    if kind == "redis":
        _client, prefix = request.getfixturevalue("redis_prefix")
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_hammer, args=(kind, database_url, prefix, 15, queue)) for _ in range(4)]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert sum(results) == 25  # 60 calls, exactly the limit went through
    if kind == "database":
        calls = session.scalar(select(UsageCounter.calls).where(UsageCounter.subject == "key:99", UsageCounter.window == "d:20261125"))
        assert calls == 25


def test_open_store_follows_the_setting(engine: Engine) -> None:
    assert isinstance(quotas.open_store({"QUOTA_STORE": "database"}, engine), DatabaseStore)
    store = quotas.open_store({"QUOTA_STORE": "redis", "REDIS_URL": REDIS_URL}, engine)
    assert isinstance(store, RedisStore)
    store.client.close()
    with pytest.raises(ValueError):
        quotas.open_store({"QUOTA_STORE": "memcached"}, engine)


# -- the tiers' numbers ----------------------------------------------------------------------


def test_defaults_until_the_bureau_saves_its_own(session: Session, world: World) -> None:
    bureau = world.users["bureau"]
    assert quota_tiers.tier_limits(session) == quota_tiers.DEFAULTS
    new = Limits(per_minute=30, per_day=500, bytes_per_day=50 * quota_tiers.MB, max_export_bytes=10 * quota_tiers.MB)
    assert quota_tiers.set_tier_limits(session, "anonymous", new, actor=bureau, now=NOW)
    session.commit()
    assert quota_tiers.tier_limits(session)["anonymous"] == new
    assert quota_tiers.tier_limits(session)["registered"] == quota_tiers.DEFAULTS["registered"]
    assert not quota_tiers.set_tier_limits(session, "anonymous", new, actor=bureau, now=NOW)  # unchanged: no audit row
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "quota:change"))
    assert event is not None and event.target == "anonymous" and event.details["after"]["per_minute"] == 30
    assert event.details["before"]["per_minute"] == quota_tiers.DEFAULTS["anonymous"].per_minute
    assert session.get(QuotaTier, "anonymous").changed_by == "bureau"  # type: ignore[union-attr]
    with pytest.raises(Invalid) as invalid:
        quota_tiers.set_tier_limits(session, "anonymous", Limits(-1, 10, 10), actor=bureau, now=NOW)
    assert "per_minute" in invalid.value.errors
    with pytest.raises(Invalid):
        quota_tiers.set_tier_limits(session, "gold", new, actor=bureau, now=NOW)


def test_tiers_of_users(session: Session, world: World) -> None:
    assert quota_tiers.tier_of(session, None) == "anonymous"
    assert quota_tiers.tier_of(session, world.users["citizen"]) == "registered"
    for name in ("editor_a", "bureau", "auditor", "reviewer"):
        assert quota_tiers.tier_of(session, world.users[name]) == "department"


# -- usage ---------------------------------------------------------------------------------


def test_usage_by_key_and_user(engine: Engine, session: Session) -> None:
    world = build_world(session, users=("citizen", "editor_a"))
    citizen, editor = world.users["citizen"], world.users["editor_a"]
    key_a, _ = api_keys.create_key(session, citizen, name="脚本", scopes=["read"], now=NOW)
    key_b, _ = api_keys.create_key(session, citizen, name="备用", scopes=["read"], now=NOW)
    key_c, _ = api_keys.create_key(session, editor, name="部门", scopes=["read"], now=NOW)
    session.commit()
    store = DatabaseStore(engine)
    limits = Limits(per_minute=0, per_day=0, bytes_per_day=0)
    yesterday = NOW - timedelta(days=1)
    for owner, key, moment, calls in ((citizen, key_a, NOW, 3), (citizen, key_a, yesterday, 2), (citizen, key_b, NOW, 1),
                                      (editor, key_c, NOW, 5), (citizen, None, NOW, 4)):
        for _ in range(calls):  # as the app counts: limits on the account, usage on the key
            store.hit(f"user:{owner.id}", limits, moment, usage=f"key:{key.id}" if key else None)
    store.add_bytes(f"user:{citizen.id}", 1000, NOW, usage=f"key:{key_a.id}")

    days = usage.key_usage(session, key_a, today=date(2026, 11, 25), days=30)
    assert len(days) == 30 and days[0].day == date(2026, 10, 27) and days[-1] == usage.DayUsage(date(2026, 11, 25), 3, 1000)
    assert days[-2].calls == 2 and sum(d.calls for d in days) == 5

    rows, more = usage.keys_usage(session, start=date(2026, 11, 24), end=date(2026, 11, 25))
    assert not more
    assert [(r.day.day, r.key.name, r.calls) for r in rows] == [(25, "部门", 5), (25, "脚本", 3), (25, "备用", 1), (24, "脚本", 2)]
    top = usage.top_users(session, start=date(2026, 11, 25), end=date(2026, 11, 25))
    assert [(t.user.username, t.calls, t.bytes, t.keys) for t in top] == [("citizen", 8, 1000, 2), ("editor_a", 5, 0, 1)]
    totals = usage.daily_totals(session, start=date(2026, 11, 24), end=date(2026, 11, 25))
    assert [(t.day.day, t.calls) for t in totals] == [(24, 2), (25, 9)]
    assert usage.clamp_range(date(2026, 12, 31), date(2024, 1, 1)) == (date(2025, 12, 31), date(2026, 12, 31))
