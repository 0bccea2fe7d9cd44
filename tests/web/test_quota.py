"""Quotas over HTTP: what counts, for whom, 429 with Retry-After and the X-RateLimit-* headers,
invalid keys, bulk exports, bytes, two workers on one database, the Redis store."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, Response, jsonify
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from portal import api_keys, create_app, quota_tiers, quotas
from portal.accounts import create_user
from portal.models import Entry, UsageCounter, User
from portal.quota_tiers import Limits
from portal.quotas import RedisStore
from portal.vocab import Role

from ..support import NOW, login
from ..test_quotas import redis_client

BIG = b"x" * 5000


def add_test_routes(app: Flask) -> None:
    """Counted routes of the test app alone (the APIs themselves are tested elsewhere)."""

    @app.get("/api/test/ping")
    def ping() -> Any:
        return jsonify(ok=True)

    @app.get("/api/test/stream")
    def stream() -> Response:
        return Response((chunk for chunk in (b"a" * 100, b"b" * 200, "中文")), mimetype="text/plain")

    @app.get("/api/test/big")
    def big() -> Response:
        return Response(BIG, mimetype="application/octet-stream")


@pytest.fixture
def moment(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """The clock of the quota hooks, frozen at the start of a minute (no test crosses one)."""
    frozen = datetime.now(timezone.utc).replace(second=5, microsecond=0)
    monkeypatch.setattr("portal.web.quota.now", lambda: frozen)
    return frozen


@pytest.fixture
def api(app: Flask, moment: datetime) -> Flask:
    add_test_routes(app)
    return app


def set_limits(session: Session, tier: str, **numbers: int) -> Limits:
    limits = Limits(**{"per_minute": 0, "per_day": 0, "bytes_per_day": 0, "max_export_bytes": 0, **numbers})
    quota_tiers.set_tier_limits(session, tier, limits, actor=None, actor_name="测试", now=NOW)
    session.commit()
    return limits


def make_user(session: Session, name: str, role: Role = Role.PUBLIC) -> User:
    user, _ = create_user(session, username=name, role=role, password="Zone-Test-Pass-2026", display_name=name, now=NOW)
    session.commit()
    return user


def new_key(session: Session, user: User) -> str:
    _row, key = api_keys.create_key(session, user, name="测试", scopes=["read"], now=NOW)
    session.commit()
    return key


def counter(session: Session, subject: str, window: str) -> UsageCounter | None:
    session.expire_all()
    return session.scalar(select(UsageCounter).where(UsageCounter.subject == subject, UsageCounter.window == window))


@pytest.mark.parametrize("method, path, kind", [
    ("GET", "/api/3/action/package_show", "api"),
    ("POST", "/api/action/package_create", "api"),
    ("GET", "/api/v1/requests", "api"),
    ("GET", "/api/nothing-here", "api"),  # unknown API paths count too: probing is not free
    ("OPTIONS", "/api/v1/requests", None),
    ("GET", "/catalog.jsonld", "linked-data"),
    ("GET", "/catalog.ttl", "linked-data"),
    ("GET", "/catalog/air-quality.jsonld", "linked-data"),
    ("HEAD", "/catalog/air-quality.ttl", "linked-data"),
    ("GET", "/catalog/changes.json", "linked-data"),
    ("GET", "/sitemap.xml", None),
    ("GET", "/catalog/x/files/3/a.csv", "download"),
    ("GET", "/catalog/x/data/3/xlsx", "download"),
    ("GET", "/catalog/x/package.zip", "download"),
    ("GET", "/catalog/x/datapackage.json", "download"),
    ("GET", "/catalog/x/files/3", None),  # the resource page
    ("POST", "/catalog/x/files", None),  # an upload
    ("POST", "/catalog/x/files/3/mask", None),
    ("GET", "/", None),
    ("GET", "/catalog", None),
    ("GET", "/catalog/x", None),
    ("GET", "/account/keys", None),
])
def test_what_counts(app: Flask, method: str, path: str, kind: str | None) -> None:
    from portal.web.quota import counted_kind

    with app.test_request_context(path, method=method):
        assert counted_kind() == kind


def test_anonymous_calls_past_the_minute_get_429_with_retry_after(api: Flask, client: FlaskClient, session: Session) -> None:
    set_limits(session, "anonymous", per_minute=3, per_day=100, bytes_per_day=10_000)
    answers = [client.get("/api/test/ping") for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in answers] == ["2", "1", "0", "0"]
    for response in answers:
        assert response.headers["X-RateLimit-Limit"] == "3" and response.headers["X-Quota-Tier"] == "anonymous"
        assert response.headers["X-RateLimit-Reset"] == "55"  # the frozen clock is at :05
        assert response.headers["X-RateLimit-Limit-Day"] == "100" and response.headers["X-RateLimit-Limit-Bytes-Day"] == "10000"
    assert answers[2].headers["X-RateLimit-Remaining-Day"] == "97"
    refused = answers[3]
    assert refused.headers["Retry-After"] == "55" and "Retry-After" not in answers[0].headers
    assert refused.json["error"]["code"] == "too_many_requests" and "55" in refused.json["error"]["message"]  # type: ignore[index]


def test_pages_are_not_counted(api: Flask, client: FlaskClient, session: Session) -> None:
    set_limits(session, "anonymous", per_minute=1, per_day=1)
    assert client.get("/api/test/ping").status_code == 200
    assert client.get("/api/test/ping").status_code == 429
    for url in ("/", "/catalog", "/login"):
        response = client.get(url)
        assert response.status_code == 200 and "X-RateLimit-Limit" not in response.headers
    assert client.options("/api/test/ping").status_code == 200  # a CORS preflight is not a call


def test_anonymous_callers_count_by_address(api: Flask, client: FlaskClient, session: Session, moment: datetime) -> None:
    set_limits(session, "anonymous", per_minute=1, per_day=10)

    def call(address: str) -> int:
        return client.get("/api/test/ping", environ_base={"REMOTE_ADDR": address}).status_code

    assert [call("198.51.100.1"), call("198.51.100.1"), call("198.51.100.2")] == [200, 429, 200]
    assert [call("2001:db8:1:2::1"), call("2001:db8:1:2::ffff"), call("2001:db8:1:3::1")] == [200, 429, 200]  # by /64
    assert counter(session, "ip:2001:db8:1:2::/64", quotas.windows(moment).day).calls == 1  # type: ignore[union-attr]


def test_the_quota_counts_per_account_whichever_key_or_session_calls(api: Flask, client: FlaskClient, session: Session, moment: datetime) -> None:
    set_limits(session, "registered", per_minute=3, per_day=10)
    set_limits(session, "anonymous", per_minute=1, per_day=1)
    alice, bob = make_user(session, "alice"), make_user(session, "bob")
    first, second = new_key(session, alice), new_key(session, alice)
    assert [client.get("/api/test/ping", headers={"Authorization": first}).status_code for _ in range(2)] == [200, 200]
    response = client.get("/api/test/ping", headers={"X-API-Key": second})
    assert response.status_code == 200 and response.headers["X-Quota-Tier"] == "registered"
    assert response.headers["X-RateLimit-Remaining"] == "0"  # a second key does not give a second quota
    refused = client.get("/api/test/ping", headers={"X-API-Key": second})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    login(client, "alice", "Zone-Test-Pass-2026")
    assert client.get("/api/test/ping").status_code == 429  # signed in, the same account
    assert client.get("/api/test/ping", headers={"Authorization": new_key(session, bob)}).status_code == 200  # another account
    day = quotas.windows(moment).day
    rows = {r.subject: r.calls for r in session.scalars(select(UsageCounter).where(UsageCounter.window == day))}
    key_ids = [k.id for k in api_keys.keys_of(session, alice)]
    bob_key = api_keys.keys_of(session, bob)[0].id
    # limits on the accounts; each key's own usage row (no limit) for the usage pages
    assert rows == {f"user:{alice.id}": 3, f"key:{key_ids[1]}": 2, f"key:{key_ids[0]}": 1, f"user:{bob.id}": 1, f"key:{bob_key}": 1}


@pytest.mark.parametrize("url, status, kind", [
    ("/api/test/ping", 401, "json"),
    ("/api/v1/entries", 401, "json"),
    ("/api/3/action/package_show?id=x", 403, "ckan"),
    ("/api/action/package_list", 403, "ckan"),
    ("/catalog/whatever/datapackage.json", 401, "html"),
    ("/catalog.ttl", 401, "html"),
])
def test_an_invalid_key_is_refused_never_taken_for_anonymous(api: Flask, client: FlaskClient, session: Session, url: str, status: int, kind: str) -> None:
    alice = make_user(session, "alice")
    revoked_key = new_key(session, alice)
    api_keys.revoke_key(session, alice, api_keys.keys_of(session, alice)[0].id, now=NOW)
    session.commit()
    for presented in ("zk_not-a-real-key", revoked_key):
        response = client.get(url, headers={"Authorization": presented})
        assert response.status_code == status
        if kind == "ckan":
            body = response.json
            assert body["success"] is False and body["help"].endswith("api/3/action/help_show?name=" + url.split("/")[-1].split("?")[0])  # type: ignore[index]
            assert body["error"]["__type"] == "Authorization Error" and "API密钥无效" in body["error"]["message"]  # type: ignore[index]
        elif kind == "json":
            assert response.json["error"]["code"] == "unauthorized" and "API" in response.json["error"]["message"]  # type: ignore[index]
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        else:
            assert response.mimetype == "text/html" and "API密钥无效" in response.get_data(as_text=True)
    assert client.get("/", headers={"Authorization": "zk_not-a-real-key"}).status_code == 200  # pages ignore keys


def test_two_workers_on_one_database_share_the_counts(api: Flask, database_url: str, engine: Engine, session: Session, tmp_path: Path) -> None:
    set_limits(session, "anonymous", per_minute=4, per_day=100)
    other = create_app({"DATABASE_URL": database_url, "INSTANCE_PATH": tmp_path / "other", "FILES_PATH": tmp_path / "other-files",
                        "SECRET_KEY": "test-secret", "TESTING": True})
    add_test_routes(other)
    try:
        clients = [api.test_client(), other.test_client()]
        codes = [clients[n % 2].get("/api/test/ping").status_code for n in range(6)]
    finally:
        other.extensions["portal.engine"].dispose()
    assert codes == [200, 200, 200, 200, 429, 429]


def test_bytes_are_counted_after_the_response(api: Flask, client: FlaskClient, session: Session, moment: datetime) -> None:
    set_limits(session, "anonymous", per_minute=100, per_day=100, bytes_per_day=10_000)
    day = quotas.windows(moment).day
    with client.get("/api/test/stream") as response:
        assert response.get_data() == b"a" * 100 + b"b" * 200 + "中文".encode()
    assert counter(session, "ip:127.0.0.1", day).bytes == 306  # type: ignore[union-attr]
    with client.get("/api/test/big") as response:
        assert response.status_code == 200 and response.headers["X-RateLimit-Remaining-Bytes-Day"] == str(10_000 - 306 - 5000)
    assert counter(session, "ip:127.0.0.1", day).bytes == 5306  # type: ignore[union-attr]
    with client.head("/api/test/big") as response:
        assert response.status_code == 200
    assert counter(session, "ip:127.0.0.1", day).bytes == 5306  # type: ignore[union-attr]
    with client.get("/api/test/big") as response:  # 5000 more than the 4694 left: refused before sending
        assert response.status_code == 429 and response.headers["Retry-After"] == str(quotas.windows(moment).day_reset)
        assert response.json["error"]["code"] == "too_many_requests"  # type: ignore[index]
    with client.get("/api/test/ping") as response:
        assert response.status_code == 200  # a small answer still fits


@pytest.fixture
def school(app: Flask, sample_catalog: None, session: Session) -> Entry:
    entry = session.scalar(select(Entry).where(Entry.slug == "school-directory"))
    assert entry is not None and entry.files
    return entry


def _get(client: FlaskClient, url: str, **kwargs: Any) -> Any:
    with client.get(url, **kwargs) as response:
        response.get_data()
    return response


def test_whole_resource_exports_above_the_tier_size_are_a_bulk_service(api: Flask, client: FlaskClient, session: Session, school: Entry) -> None:
    record = school.files[0]
    set_limits(session, "anonymous", per_minute=100, per_day=100, bytes_per_day=10**9, max_export_bytes=record.size - 1)
    original = f"/catalog/{school.slug}/files/{record.id}/{record.name}"
    for url in (original, f"/catalog/{school.slug}/data/{record.id}/csv", f"/catalog/{school.slug}/package.zip"):
        response = _get(client, url)
        assert response.status_code == 403, url
        assert "实名认证" in response.get_data(as_text=True) and "第二十三条" in response.get_data(as_text=True)
    assert _get(client, f"/catalog/{school.slug}/datapackage.json").status_code == 200  # the descriptor is small
    department = make_user(session, "bureau2", Role.BUREAU)  # the department tier may export in bulk
    response = _get(client, original, headers={"X-API-Key": new_key(session, department)})
    assert response.status_code == 200 and len(response.data) == record.size and response.headers["X-Quota-Tier"] == "department"


def test_a_download_larger_than_what_is_left_of_the_day_is_refused_before_sending(api: Flask, client: FlaskClient, session: Session, school: Entry, moment: datetime) -> None:
    record = school.files[0]
    set_limits(session, "anonymous", per_minute=100, per_day=100, bytes_per_day=record.size + 100)
    url = f"/catalog/{school.slug}/files/{record.id}/{record.name}"
    first = _get(client, url)
    assert first.status_code == 200 and len(first.data) == record.size
    assert first.headers["X-RateLimit-Remaining-Bytes-Day"] == "100"
    assert counter(session, "ip:127.0.0.1", quotas.windows(moment).day).bytes == record.size  # type: ignore[union-attr]
    second = _get(client, url)
    assert second.status_code == 429 and second.mimetype == "text/html" and int(second.headers["Retry-After"]) > 0
    assert "今日可下载的数据量" in second.get_data(as_text=True)
    assert counter(session, "ip:127.0.0.1", quotas.windows(moment).day).bytes == record.size  # type: ignore[union-attr]
    set_limits(session, "anonymous", per_minute=100, per_day=100, bytes_per_day=2 * record.size + 100)
    api.extensions["portal.quota"].forget_limits()
    not_modified = _get(client, url, headers={"If-None-Match": first.headers["ETag"]})
    assert not_modified.status_code == 304  # the reserved size is given back: nothing was sent
    assert counter(session, "ip:127.0.0.1", quotas.windows(moment).day).bytes == record.size  # type: ignore[union-attr]


def test_a_key_made_on_the_command_line_works_on_a_download(api: Flask, client: FlaskClient, session: Session, school: Entry,
                                                            database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    from click.testing import CliRunner

    from portal.cli import main

    make_user(session, "carol")
    monkeypatch.setenv("PORTAL_DATABASE_URL", database_url)
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / "cli"))
    result = CliRunner().invoke(main, ["keys", "create", "carol", "--name", "夜间同步"])
    assert result.exit_code == 0, result.output
    key = re.search(r"^(zk_\S+)$", result.output, re.M).group(1)  # type: ignore[union-attr]
    response = _get(client, f"/catalog/{school.slug}/datapackage.json", headers={"Authorization": key})
    assert response.status_code == 200 and response.headers["X-Quota-Tier"] == "registered"
    row = api_keys.keys_of(session, session.scalar(select(User).where(User.username == "carol")))[0]  # type: ignore[arg-type]
    assert row.name == "夜间同步" and row.last_used_at is not None
    assert counter(session, f"key:{row.id}", quotas.windows(moment).day).calls == 1  # type: ignore[union-attr]


def test_the_redis_store_answers_the_same(api: Flask, client: FlaskClient, session: Session, engine: Engine) -> None:
    redis = redis_client()
    prefix = f"test-portal:{__import__('uuid').uuid4().hex}:"
    api.extensions["portal.quota"].store = RedisStore(redis, engine, prefix=prefix)
    try:
        set_limits(session, "anonymous", per_minute=2, per_day=100, bytes_per_day=10_000)
        answers = [client.get("/api/test/ping") for _ in range(3)]
        assert [r.status_code for r in answers] == [200, 200, 429]
        assert answers[1].headers["X-RateLimit-Remaining"] == "0" and answers[2].headers["Retry-After"] == "55"
        with client.get("/api/test/big") as response:
            assert response.status_code == 429  # the minute is spent
        assert session.scalar(select(UsageCounter.id).limit(1)) is None  # nothing in the database
    finally:
        for key in redis.scan_iter(match=f"{prefix}*"):
            redis.delete(key)
        redis.close()


def test_a_store_that_fails_lets_requests_through(api: Flask, client: FlaskClient, session: Session, caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def hit(self, *args: Any, **kwargs: Any) -> Any:
            raise ConnectionError("down")

    api.extensions["portal.quota"].store = Broken()
    set_limits(session, "anonymous", per_minute=1, per_day=1)
    assert [client.get("/api/test/ping").status_code for _ in range(3)] == [200, 200, 200]
    assert sum("quota store failed" in r.message for r in caplog.records) == 1  # logged once a minute, not per request


@pytest.fixture
def no_limits(session: Session) -> Iterator[None]:
    set_limits(session, "anonymous")
    yield


def test_unlimited_anonymous_calls_are_not_even_counted(api: Flask, client: FlaskClient, session: Session, no_limits: None) -> None:
    for _ in range(5):
        response = client.get("/api/test/ping")
        assert response.status_code == 200 and "X-RateLimit-Limit" not in response.headers
    assert session.scalar(select(UsageCounter.id).limit(1)) is None
