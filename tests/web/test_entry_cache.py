"""The entry page's HTTP validator: a strong ETag computed before rendering from everything the
page shows, `Cache-Control: private, no-cache`, 304 on a matching If-None-Match, and the
per-process cache of rendered anonymous pages. No timing is asserted: only what is answered."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, template_rendered
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import showcases
from portal.catalog import update_entry
from portal.models import AuditEvent, Entry
from portal.vocab import EntryStatus, OpenType, ShareType
from portal.web import catalog_views
from portal.web.catalog_views import PageCache

from ..support import NOW, World, csrf_token, entry_fields, login


@pytest.fixture
def rendered(app: Flask) -> Iterator[list[str]]:
    """The templates rendered while the test runs, by name."""
    names: list[str] = []

    def record(_sender: Flask, template: Any, context: dict[str, Any], **_extra: Any) -> None:
        names.append(template.name)

    template_rendered.connect(record, app)
    yield names
    template_rendered.disconnect(record, app)


class Clock:
    """Stands in for the `time` module in the entry view: the CSRF time slice of signed-in pages."""

    def __init__(self) -> None:
        self.now = 1_795_000_000.0

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fixed = Clock()
    monkeypatch.setattr(catalog_views, "time", fixed)
    return fixed


def _open(world: World) -> Entry:
    return world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.PUBLISHED)


def _etag(client: FlaskClient, slug: str) -> str:
    response = client.get(f"/catalog/{slug}")
    assert response.status_code == 200
    tag = response.headers.get("ETag")
    assert tag and tag.startswith('"') and not tag.startswith("W/"), tag  # strong
    return tag


def _sign_in(client: FlaskClient, username: str) -> None:
    login(client, username)
    client.get("/")  # shows the welcome message: an entry page with a message waiting gets no ETag


def _sign_out(client: FlaskClient) -> None:
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    client.get("/")


def _revalidate(client: FlaskClient, slug: str, tag: str) -> Any:
    return client.get(f"/catalog/{slug}", headers={"If-None-Match": tag})


def _changed(client: FlaskClient, slug: str, tag: str, shown: str) -> str:
    """Revalidating `tag` gets the page anew, showing `shown`, under another ETag: that ETag."""
    response = _revalidate(client, slug, tag)
    assert response.status_code == 200 and shown in response.get_data(as_text=True)
    assert response.headers["ETag"] != tag
    return response.headers["ETag"]


def test_the_page_sends_a_strong_etag_and_is_revalidated_every_time(client: FlaskClient, world: World) -> None:
    entry = _open(world)
    response = client.get(f"/catalog/{entry.slug}")
    assert response.status_code == 200 and entry.title in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "private, no-cache"
    assert "Cookie" in response.headers["Vary"]
    assert "Last-Modified" not in response.headers and "Expires" not in response.headers
    assert response.headers["ETag"] == _etag(client, entry.slug)  # the same page, the same validator


def test_a_matching_if_none_match_gets_304_without_rendering(client: FlaskClient, world: World, rendered: list[str]) -> None:
    entry = _open(world)
    tag = _etag(client, entry.slug)
    rendered.clear()
    response = _revalidate(client, entry.slug, tag)
    assert response.status_code == 304 and response.get_data() == b""
    assert response.headers["ETag"] == tag and response.headers["Cache-Control"] == "private, no-cache"
    assert "Cookie" in response.headers["Vary"]
    assert rendered == []
    assert _revalidate(client, entry.slug, f'"other", {tag}').status_code == 304  # a list of validators
    assert _revalidate(client, entry.slug, "*").status_code == 304
    assert _revalidate(client, entry.slug, '"other"').status_code == 200


def test_head_answers_like_get(client: FlaskClient, world: World) -> None:
    entry = _open(world)
    tag = _etag(client, entry.slug)
    head = client.head(f"/catalog/{entry.slug}")
    assert head.status_code == 200 and head.get_data() == b"" and head.headers["ETag"] == tag
    assert head.headers["Cache-Control"] == "private, no-cache"
    assert client.head(f"/catalog/{entry.slug}", headers={"If-None-Match": tag}).status_code == 304


def test_an_entry_that_is_not_visible_is_still_404(client: FlaskClient, world: World) -> None:
    closed = world.entry(ShareType.UNCONDITIONAL, OpenType.CLOSED, EntryStatus.PUBLISHED)
    response = client.get(f"/catalog/{closed.slug}", headers={"If-None-Match": "*"})
    assert response.status_code == 404 and "ETag" not in response.headers
    assert client.get("/catalog/no-such-entry", headers={"If-None-Match": "*"}).status_code == 404


def test_the_etag_changes_when_the_entry_is_edited(client: FlaskClient, world: World, session: Session) -> None:
    entry = _open(world)
    tag = _etag(client, entry.slug)
    fields = entry_fields(title=entry.title, abstract="摘要改过了：按小时更新。", share_type=entry.share_type, open_type=entry.open_type)
    assert update_entry(session, entry, fields, actor=None, now=NOW)  # the same `now`: the version moves, not the time
    session.commit()
    _changed(client, entry.slug, tag, "摘要改过了")


def test_the_etag_changes_when_an_error_report_is_filed(client: FlaskClient, world: World) -> None:
    entry = _open(world)
    tag = _etag(client, entry.slug)
    data = {"csrf_token": csrf_token(client, f"/catalog/{entry.slug}/reports/new"), "subject": "data", "description": "第3行监测站点名称有误"}
    assert client.post(f"/catalog/{entry.slug}/reports", data=data).status_code == 302
    client.get("/")  # shows the flashed confirmation, which is then gone
    again = _changed(client, entry.slug, tag, "第3行监测站点名称有误")
    assert _revalidate(client, entry.slug, again).status_code == 304


def test_the_etag_changes_when_a_showcase_using_the_entry_is_approved(client: FlaskClient, world: World, session: Session) -> None:
    entry = _open(world)
    item = showcases.submit_showcase(
        session, user=world.users["citizen"], title="空气质量地图", kind="app", description="按站点显示经开区空气质量的地图，每小时更新。", url="https://aq.example.cn/map",
        entry_ids=[entry.id], now=NOW,
    )
    session.commit()
    tag = _etag(client, entry.slug)
    assert "空气质量地图" not in client.get(f"/catalog/{entry.slug}").get_data(as_text=True)  # pending: not listed
    showcases.approve_showcase(session, item, actor=world.users["bureau"], now=NOW)
    session.commit()
    _changed(client, entry.slug, tag, "空气质量地图")


def test_the_etag_changes_with_the_locale(client: FlaskClient, world: World) -> None:
    entry = _open(world)
    chinese = _etag(client, entry.slug)
    client.get("/lang/en")
    response = _revalidate(client, entry.slug, chinese)
    assert response.status_code == 200 and response.headers["ETag"] != chinese
    english = response.headers["ETag"]
    other = client.application.test_client()  # the locale also follows Accept-Language
    assert other.get(f"/catalog/{entry.slug}", headers={"Accept-Language": "en"}).headers["ETag"] == english
    assert other.get(f"/catalog/{entry.slug}", headers={"Accept-Language": "zh-CN"}).headers["ETag"] == chinese


def test_the_etag_changes_when_the_viewer_signs_in(client: FlaskClient, world: World, clock: Clock) -> None:
    entry = _open(world)
    anonymous = _etag(client, entry.slug)
    _sign_in(client, "citizen")
    signed_in = _changed(client, entry.slug, anonymous, "citizen")
    assert _revalidate(client, entry.slug, signed_in).status_code == 304  # the viewer's own page still validates
    _sign_out(client)
    assert _revalidate(client, entry.slug, signed_in).status_code == 200


def test_another_sessions_csrf_token_is_never_revalidated(app: Flask, world: World, clock: Clock) -> None:
    """The signed-in page carries forms with the session's CSRF token: the same user in another
    session (another token) must get the page anew, with its own token."""
    entry = world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.PUBLISHED)
    first, second = app.test_client(), app.test_client()
    _sign_in(first, "admin_a")  # the department's administrator: withdraw and upload forms too
    _sign_in(second, "admin_a")
    page = first.get(f"/catalog/{entry.slug}")
    tag = page.headers["ETag"]
    assert 'name="csrf_token"' in page.get_data(as_text=True)
    response = _revalidate(second, entry.slug, tag)
    assert response.status_code == 200 and response.headers["ETag"] != tag
    token = csrf_token(second, f"/catalog/{entry.slug}")
    withdrawn = second.post(f"/catalog/{entry.slug}/withdraw", data={"csrf_token": token})
    assert withdrawn.status_code == 302  # the token on the page that second got is its own


def test_a_signed_in_page_is_not_revalidated_past_its_csrf_time_slice(client: FlaskClient, world: World, clock: Clock) -> None:
    """The token in a signed-in page expires (WTF_CSRF_TIME_LIMIT, an hour): a kept copy is
    revalidated for a quarter of it at most, so its forms keep at least three quarters."""
    entry = _open(world)
    _sign_in(client, "citizen")
    tag = _etag(client, entry.slug)
    clock.now += 60
    assert _revalidate(client, entry.slug, tag).status_code == 304
    clock.now += 900
    response = _revalidate(client, entry.slug, tag)
    assert response.status_code == 200 and response.headers["ETag"] != tag
    anonymous = _fresh_etag(client, entry.slug)
    clock.now += 900
    assert _fresh_etag(client, entry.slug) == anonymous  # anonymous pages carry no token: no time in their ETag


def _fresh_etag(client: FlaskClient, slug: str) -> str:
    """The ETag another, anonymous, client gets."""
    return _etag(client.application.test_client(), slug)


def test_a_flashed_message_is_never_answered_304(client: FlaskClient, world: World) -> None:
    entry = _open(world)
    tag = _etag(client, entry.slug)
    with client.session_transaction() as cookie_session:
        cookie_session["_flashes"] = [("message", "已保存为测试提示")]
    response = _revalidate(client, entry.slug, tag)
    assert response.status_code == 200 and "已保存为测试提示" in response.get_data(as_text=True)
    assert "ETag" not in response.headers  # a copy would show the message again
    assert _revalidate(client, entry.slug, tag).status_code == 304  # the message is gone: the page is the one before


def test_a_signed_in_viewer_of_non_public_data_is_audited_on_every_view(
    client: FlaskClient, world: World, session: Session, clock: Clock
) -> None:
    closed = world.entry(ShareType.UNCONDITIONAL, OpenType.CLOSED, EntryStatus.PUBLISHED)
    login(client, "provider_a")
    token = csrf_token(client, f"/catalog/{closed.slug}")
    client.post(f"/catalog/{closed.slug}/files", data={"csrf_token": token, "file": (io.BytesIO("station,aqi\r\n甲,1\r\n".encode()), "a.csv")},
                content_type="multipart/form-data")
    _sign_out(client)
    _sign_in(client, "provider_b")  # another department: 无条件共享 data, beyond the public's
    tag = _etag(client, closed.slug)
    assert _revalidate(client, closed.slug, tag).status_code == 304
    views = session.scalars(select(AuditEvent).where(AuditEvent.action == "data:view")).all()
    assert [e.actor for e in views] == ["provider_b", "provider_b"]


def test_another_anonymous_visitor_gets_the_kept_page_without_rendering(app: Flask, world: World, rendered: list[str]) -> None:
    entry = _open(world)
    first = app.test_client().get(f"/catalog/{entry.slug}")
    assert rendered.count("catalog/entry.html") == 1
    second = app.test_client().get(f"/catalog/{entry.slug}")
    assert rendered.count("catalog/entry.html") == 1  # from the page cache
    assert second.status_code == 200 and second.get_data() == first.get_data()
    assert second.headers["ETag"] == first.headers["ETag"] and second.headers["Cache-Control"] == "private, no-cache"
    assert second.headers["Content-Type"] == first.headers["Content-Type"]
    assert second.headers.getlist("Link") == first.headers.getlist("Link")


def test_signed_in_pages_are_not_kept(app: Flask, world: World, rendered: list[str]) -> None:
    entry = _open(world)
    client = app.test_client()
    _sign_in(client, "citizen")
    client.get(f"/catalog/{entry.slug}")
    client.get(f"/catalog/{entry.slug}")
    assert rendered.count("catalog/entry.html") == 2
    assert len(app.extensions.get("portal.entry_pages", PageCache())) == 0


def test_the_page_cache_is_bounded_and_least_recently_used_first_out() -> None:
    cache = PageCache(size=2, budget=1 << 20)
    cache.put('"a"', b"A")
    cache.put('"b"', b"B")
    assert cache.get('"a"') == b"A"  # a is now the most recently used
    cache.put('"c"', b"C")
    assert cache.get('"b"') is None and cache.get('"a"') == b"A" and cache.get('"c"') == b"C"
    small = PageCache(size=10, budget=16 * 100)
    small.put('"big"', b"x" * 101)  # over a sixteenth of the budget: not kept
    assert small.get('"big"') is None and len(small) == 0
    for n in range(20):
        small.put(f'"{n}"', b"x" * 100)
    assert len(small) == 10 and small.used == 1000

