"""The key pages (shown once, revoke, usage with its chart), the Bureau's quota and usage pages,
and the `portal keys` commands."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import api_keys, quota_tiers, quotas
from portal.cli import main
from portal.models import ApiKey, AuditEvent, QuotaTier
from portal.quota_tiers import Limits
from portal.quotas import DatabaseStore
from portal.web.keys_views import bar_chart

from ..support import NOW, World, csrf_token, login
from .test_quota import add_test_routes

KEY = re.compile(r"zk_[A-Za-z0-9_-]{20,}")


def _create(client: FlaskClient, name: str = "分析脚本", scopes: tuple[str, ...] = ("read",)):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/account/keys")
    return client.post("/account/keys", data={"csrf_token": token, "name": name, "scopes": list(scopes)})


def test_the_key_is_shown_once(app: Flask, client: FlaskClient, session: Session, world: World) -> None:
    add_test_routes(app)
    assert client.get("/account/keys").status_code == 302  # sign in first
    login(client, "citizen")
    response = _create(client)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    key = KEY.search(page).group(0)  # type: ignore[union-attr]
    assert "只显示这一次" in page
    listing = client.get("/account/keys").get_data(as_text=True)
    assert key not in listing and key[:10] + "…" in listing and "分析脚本" in listing and "从未使用" in listing
    row = session.scalar(select(ApiKey).where(ApiKey.name == "分析脚本"))
    assert row is not None and row.key_hash == api_keys.digest(key)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert client.get("/api/test/ping", headers={"Authorization": key}).headers["X-Quota-Tier"] == "registered"
    login(client, "citizen")
    assert "从未使用" not in client.get("/account/keys").get_data(as_text=True)  # last used is shown


def test_write_scope_and_bad_forms(client: FlaskClient, session: Session, world: World) -> None:
    login(client, "citizen")
    response = _create(client, scopes=("read", "write"))
    assert response.status_code == 400 and "只有部门工作人员的密钥可以写入" in response.get_data(as_text=True)
    assert not KEY.search(response.get_data(as_text=True))
    assert _create(client, name="").status_code == 400
    assert client.post("/account/keys", data={"name": "无令牌"}).status_code == 400  # CSRF
    assert session.scalar(select(ApiKey.id)) is None
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, "editor_a")
    response = _create(client, scopes=("read", "write"))
    assert response.status_code == 200 and KEY.search(response.get_data(as_text=True))
    assert session.scalar(select(ApiKey.scopes)) == ["read", "write"]


def test_revoke(app: Flask, client: FlaskClient, session: Session, world: World) -> None:
    add_test_routes(app)
    mine, key = api_keys.create_key(session, world.users["citizen"], name="旧脚本", scopes=["read"], now=NOW)
    theirs, _ = api_keys.create_key(session, world.users["editor_a"], name="别人的", scopes=["read"], now=NOW)
    session.commit()
    login(client, "citizen")
    token = csrf_token(client, "/account/keys")
    assert client.post(f"/account/keys/{theirs.id}/revoke", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/account/keys/{mine.id}/revoke").status_code == 400  # no CSRF token
    response = client.post(f"/account/keys/{mine.id}/revoke", data={"csrf_token": token})
    assert response.status_code == 302
    assert "已吊销" in client.get("/account/keys").get_data(as_text=True)
    session.expire_all()
    assert session.get(ApiKey, mine.id).revoked_at is not None  # type: ignore[union-attr]
    assert session.get(ApiKey, theirs.id).revoked_at is None  # type: ignore[union-attr]
    assert client.get("/api/test/ping", headers={"Authorization": key}).status_code == 401


def test_usage_page_with_table_and_chart(app: Flask, client: FlaskClient, session: Session, world: World) -> None:
    row, _key = api_keys.create_key(session, world.users["citizen"], name="脚本", scopes=["read"], now=NOW)
    session.commit()
    store = DatabaseStore(app.extensions["portal.engine"])
    today = datetime.now(timezone.utc)
    for moment, calls in ((today, 7), (today - timedelta(days=3), 2)):
        for _ in range(calls):
            store.hit(f"key:{row.id}", Limits(0, 0, 0), moment)
    store.add_bytes(f"key:{row.id}", 3 * 1024 * 1024, today)
    url = f"/account/keys/{row.id}/usage"
    login(client, "editor_a")
    assert client.get(url).status_code == 404  # not theirs
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, "citizen")
    response = client.get(url)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "共调用 9 次" in page and "3.0 MB" in page
    assert quotas.china_day(today).isoformat() in page
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg"') == 2 and 'role="img"' in page
    assert page.count("<rect ") == 60 and "<script" not in page and "style=" not in page
    assert f"{quotas.china_day(today):%Y-%m-%d}：7 次" in page
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, "bureau")
    assert client.get(url).status_code == 200  # the Bureau sees every key's usage


def test_bar_chart_scales_and_escapes() -> None:
    days = [(datetime(2026, 11, d).date(), v) for d, v in ((1, 0), (2, 30), (3, 70))]
    svg = str(bar_chart(days, ident="c", title="<调用>", fmt=lambda n: f"{n}<次>"))
    assert "&lt;调用&gt;" in svg and "<调用>" not in svg and "100&lt;次&gt;" in svg  # axis up to 100
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"', svg)]
    assert heights[0] == 0 and heights[2] == pytest.approx(heights[1] * 70 / 30)
    assert 'aria-labelledby="c"' in svg


@pytest.mark.parametrize("name", ["citizen", "editor_a", "auditor", "reviewer"])
def test_bureau_pages_are_for_the_bureau(client: FlaskClient, world: World, name: str) -> None:
    assert client.get("/bureau/quotas").status_code == 302
    login(client, name)
    assert client.get("/bureau/quotas").status_code == 403
    assert client.get("/bureau/usage").status_code == 403
    token = csrf_token(client, "/account/keys")
    assert client.post("/bureau/quotas", data={"csrf_token": token, "tier": "anonymous", "per_minute": "1"}).status_code == 403


def test_bureau_edits_the_numbers(app: Flask, client: FlaskClient, session: Session, world: World) -> None:
    add_test_routes(app)
    assert client.get("/api/test/ping").headers["X-RateLimit-Limit"] == str(quota_tiers.DEFAULTS["anonymous"].per_minute)
    login(client, "bureau")
    page = client.get("/bureau/quotas").get_data(as_text=True)
    for tier in quota_tiers.TIERS:
        assert f'id="tier-{tier}"' in page
    assert page.count('name="max_export_bytes"') == 2  # only for the tiers outside bulk
    token = csrf_token(client, "/bureau/quotas")
    form = {"csrf_token": token, "tier": "anonymous", "per_minute": "5", "per_day": "50", "bytes_per_day": "10", "max_export_bytes": "0.5"}
    response = client.post("/bureau/quotas", data=form)
    assert response.status_code == 302 and response.headers["Location"].endswith("#tier-anonymous")
    row = session.get(QuotaTier, "anonymous")
    assert row is not None and (row.per_minute, row.per_day, row.bytes_per_day, row.max_export_bytes) == (5, 50, 10 << 20, 1 << 19)
    assert row.changed_by == "bureau"
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "quota:change"))
    assert event is not None and event.details["after"]["per_minute"] == 5
    page = client.get("/bureau/quotas").get_data(as_text=True)
    assert "已保存" in page and 'value="5"' in page and 'value="0.5"' in page
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert client.get("/api/test/ping").headers["X-RateLimit-Limit"] == "5"  # at once in this process

    login(client, "bureau")
    bad = client.post("/bureau/quotas", data={**form, "csrf_token": csrf_token(client, "/bureau/quotas"), "per_minute": "-3", "per_day": "many"})
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert "不能为负数" in text and "请填写非负整数" in text and 'value="many"' in text
    session.expire_all()
    assert session.get(QuotaTier, "anonymous").per_minute == 5  # type: ignore[union-attr]
    verified = client.post("/bureau/quotas", data={"csrf_token": csrf_token(client, "/bureau/quotas"), "tier": "verified",
                                                   "per_minute": "900", "per_day": "0", "bytes_per_day": "0"})
    assert verified.status_code == 302
    assert quota_tiers.tier_limits(session)["verified"] == Limits(900, 0, 0, 0)


def test_bureau_usage_page(app: Flask, client: FlaskClient, session: Session, world: World) -> None:
    a, _ = api_keys.create_key(session, world.users["citizen"], name="市民脚本", scopes=["read"], now=NOW)
    b, _ = api_keys.create_key(session, world.users["editor_a"], name="部门同步", scopes=["read"], now=NOW)
    session.commit()
    store = DatabaseStore(app.extensions["portal.engine"])
    today = datetime.now(timezone.utc)
    for owner, key, calls in (("citizen", a, 3), ("editor_a", b, 8), ("citizen", None, 2)):
        for _ in range(calls):  # as the app counts: the account, and the key's own usage row
            store.hit(f"user:{world.users[owner].id}", Limits(0, 0, 0), today, usage=f"key:{key.id}" if key else None)
    login(client, "bureau")
    page = client.get("/bureau/usage").get_data(as_text=True)
    assert "市民脚本" in page and "部门同步" in page and f"{a.prefix}…" in page
    assert page.index("部门同步") < page.index("市民脚本")  # the busiest key first
    top = page[page.index("调用最多的用户"):page.index("每个密钥每日用量")]
    assert top.index("editor_a") < top.index("citizen") and "<td>5</td>" in top  # 3 by key + 2 signed in
    assert "<svg" in page and "共调用 11 次" in page
    empty = client.get("/bureau/usage?start=2020-01-01&end=2020-01-31").get_data(as_text=True)
    assert "市民脚本" not in empty and "该期间没有调用记录" in empty
    assert client.get("/bureau/usage?start=garbage&end=").status_code == 200


def test_keys_commands(database_url: str, session: Session, world: World, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PORTAL_DATABASE_URL", database_url)
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    runner = CliRunner()
    result = runner.invoke(main, ["keys", "create", "editor_a", "--scope", "read", "--scope", "write"])
    assert result.exit_code == 0, result.output
    key = KEY.search(result.output).group(0)  # type: ignore[union-attr]
    found = api_keys.authenticate(session, key, now=NOW)
    assert found is not None and found[0].username == "editor_a" and found[1].scopes == ["read", "write"]
    refused = runner.invoke(main, ["keys", "create", "citizen", "--scope", "write"])
    assert refused.exit_code == 1 and "只有部门工作人员的密钥可以写入" in refused.output and not KEY.search(refused.output)
    assert runner.invoke(main, ["keys", "create", "nobody"]).exit_code == 1
    secret = runner.invoke(main, ["keys", "new-secret"])
    assert secret.exit_code == 0
    Fernet(secret.output.split()[0].encode())  # a valid Fernet key
