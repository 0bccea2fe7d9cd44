"""Showcases over HTTP: a user submits, the Bureau approves, and the gallery, the showcase page and
the entry page list it; a rejection's reason reaches the submitter, who changes and resubmits;
moderation is refused on the server to everyone but the Bureau (403, audited), a double click
answers 409, every form needs its CSRF token; descriptions and links are rendered safely and a
showcase never names an entry that left the open catalog."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import AuditEvent, Entry, Showcase
from portal.vocab import EntryStatus, OpenType, ShareType

from ..support import NOW, World, csrf_token, login

DESCRIPTION = "按站点显示经开区**空气质量**的地图。\n\n<script>alert('x')</script>"


def _open(world: World, open_: OpenType = OpenType.OPEN) -> Entry:
    return world.entry(ShareType.UNCONDITIONAL, open_, EntryStatus.PUBLISHED)


def _logout(client: FlaskClient) -> None:
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


def _submit(client: FlaskClient, **form: str):  # type: ignore[no-untyped-def]
    data = {"title": "空气质量地图", "kind": "app", "url": "https://aq.example.cn/map", "description": DESCRIPTION, **form}
    return client.post("/showcases/new", data={**data, "csrf_token": csrf_token(client, "/showcases/new")})


def _decide(client: FlaskClient, slug: str, decision: str, **form: str):  # type: ignore[no-untyped-def]
    return client.post(f"/showcases/{slug}/{decision}", data={**form, "csrf_token": csrf_token(client, "/showcases")})


def _only(session: Session) -> Showcase:
    session.expire_all()
    return session.scalars(select(Showcase)).one()


def test_submitted_approved_and_listed_in_the_gallery_and_on_the_entry_page(client: FlaskClient, session: Session, world: World) -> None:
    entry, other = _open(world), _open(world, OpenType.ON_APPLICATION)
    login(client, "citizen")
    response = _submit(client, entries=f"{entry.resource_code}\n/catalog/{other.slug}")
    assert response.status_code == 302
    item = _only(session)
    assert response.headers["Location"].endswith(f"/showcases/{item.slug}") and item.state == "pending"
    page = client.get(f"/showcases/{item.slug}").get_data(as_text=True)
    assert "成果已提交" in page and "待审核" in page and entry.title in page
    assert "空气质量地图" not in client.get("/showcases").get_data(as_text=True)
    assert "待审核" in client.get("/showcases/mine").get_data(as_text=True)
    _logout(client)
    assert client.get(f"/showcases/{item.slug}").status_code == 404  # not public yet

    login(client, "bureau")
    queue = client.get("/showcases/review").get_data(as_text=True)
    assert "空气质量地图" in queue and "citizen" in queue
    response = _decide(client, item.slug, "approve", version=str(item.version), back="review")
    assert response.status_code == 302 and response.headers["Location"].endswith("/showcases/review")
    assert "没有待审核的成果" in client.get("/showcases/review").get_data(as_text=True)
    _logout(client)

    gallery = client.get("/showcases").get_data(as_text=True)
    assert f'href="/showcases/{item.slug}"' in gallery and f'href="/catalog/{entry.slug}"' in gallery
    assert "空气质量地图" in client.get("/showcases?kind=app").get_data(as_text=True)
    assert "空气质量地图" not in client.get("/showcases?kind=analysis").get_data(as_text=True)
    for slug in (entry.slug, other.slug):
        page = client.get(f"/catalog/{slug}").get_data(as_text=True)
        assert "使用该数据的成果" in page and f'href="/showcases/{item.slug}"' in page
    page = client.get(f"/showcases/{item.slug}").get_data(as_text=True)
    assert f'href="/catalog/{entry.slug}"' in page and f'href="/catalog/{other.slug}"' in page
    assert "citizen" not in page  # the submitter's account is not published


def test_the_page_renders_the_description_safely_and_links_out_with_rel(client: FlaskClient, session: Session, world: World) -> None:
    login(client, "citizen")
    _submit(client, entries=_open(world).resource_code, url='https://aq.example.cn/map?a=1&b="x"')
    item = _only(session)
    page = client.get(f"/showcases/{item.slug}").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    link = re.search(r'<a class="button" href="([^"]*)" rel="([^"]*)"', page)
    assert link and link.group(2) == "noopener nofollow ugc" and link.group(1) == "https://aq.example.cn/map?a=1&amp;b=&#34;x&#34;"


def test_form_errors_are_shown_in_chinese_and_the_values_kept(client: FlaskClient, session: Session, world: World) -> None:
    closed = world.entry(ShareType.UNCONDITIONAL, OpenType.CLOSED, EntryStatus.PUBLISHED)
    login(client, "citizen")
    response = _submit(client, title="我的作品", url="javascript:alert(1)", entries=f"{closed.resource_code}\nno-such-entry")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "开放目录中没有找到" in page and "no-such-entry" in page and "http://" in page
    assert closed.title not in page and 'value="我的作品"' in page
    response = _submit(client, entries="")
    assert response.status_code == 400 and "请至少填写一项" in response.get_data(as_text=True)
    assert session.scalar(select(Showcase.id)) is None


def test_a_rejection_reason_reaches_the_submitter_who_resubmits(client: FlaskClient, session: Session, world: World) -> None:
    login(client, "citizen")
    _submit(client, entries=_open(world).resource_code)
    item = _only(session)
    _logout(client)
    login(client, "bureau")
    response = _decide(client, item.slug, "reject", version="0", reason="", back="review")
    assert response.status_code == 400 and "请说明驳回的理由" in response.get_data(as_text=True)
    assert _decide(client, item.slug, "reject", version="0", reason="地图无法打开，请检查链接").status_code == 302
    _logout(client)

    login(client, "citizen")
    mine = client.get("/showcases/mine").get_data(as_text=True)
    assert "已驳回" in mine and "地图无法打开，请检查链接" in mine
    form = client.get(f"/showcases/{item.slug}/edit").get_data(as_text=True)
    assert _open(world).resource_code in form and 'name="version" value="1"' in form
    response = client.post(f"/showcases/{item.slug}/edit", data={
        "title": "空气质量地图（修正）", "kind": "app", "url": "https://aq.example.cn/v2", "description": DESCRIPTION,
        "entries": _open(world).resource_code, "version": "1", "csrf_token": csrf_token(client, f"/showcases/{item.slug}/edit"),
    })
    assert response.status_code == 302
    item = _only(session)
    assert (item.state, item.reason, item.title) == ("pending", "", "空气质量地图（修正）")

    response = client.post(f"/showcases/{item.slug}/withdraw", data={"version": str(item.version), "csrf_token": csrf_token(client, "/showcases")})
    assert response.status_code == 302 and _only(session).state == "withdrawn"
    assert "已撤回" in client.get("/showcases/mine").get_data(as_text=True)


@pytest.mark.parametrize("user", ["citizen", "editor_a", "admin_a", "reviewer", "auditor"])
def test_only_the_bureau_moderates_checked_on_the_server(client: FlaskClient, session: Session, world: World, user: str) -> None:
    login(client, "citizen")
    _submit(client, entries=_open(world).resource_code)
    item = _only(session)
    _logout(client)
    login(client, user)
    assert client.get("/showcases/review").status_code == 403
    for decision in ("approve", "reject"):
        assert _decide(client, item.slug, decision, version="0", reason="越权的驳回理由").status_code == 403
    assert _only(session).state == "pending"
    denied = session.scalars(select(AuditEvent).where(AuditEvent.action == "authz:denied")).all()
    assert len(denied) == 3 and all(e.actor == user for e in denied)


def test_others_cannot_change_a_showcase_and_anonymous_users_are_sent_to_login(client: FlaskClient, session: Session, world: World) -> None:
    assert client.get("/showcases/new").status_code == 302 and "/login" in client.get("/showcases/new").headers["Location"]
    assert "/login" in client.get("/showcases/mine").headers["Location"]
    login(client, "citizen")
    _submit(client, entries=_open(world).resource_code)
    item = _only(session)
    _logout(client)
    login(client, "editor_a")
    token = csrf_token(client, "/showcases")
    assert client.post(f"/showcases/{item.slug}/withdraw", data={"csrf_token": token}).status_code == 404  # not even visible
    _logout(client)
    login(client, "bureau")
    assert _decide(client, item.slug, "approve", version="0").status_code == 302
    _logout(client)
    login(client, "editor_a")
    token = csrf_token(client, "/showcases")
    assert client.post(f"/showcases/{item.slug}/withdraw", data={"csrf_token": token}).status_code == 403
    assert client.get(f"/showcases/{item.slug}/edit").status_code == 403
    assert _only(session).state == "approved"


def test_a_double_click_on_approve_answers_409(client: FlaskClient, session: Session, world: World) -> None:
    login(client, "citizen")
    _submit(client, entries=_open(world).resource_code)
    item = _only(session)
    _logout(client)
    login(client, "bureau")
    assert _decide(client, item.slug, "approve", version="0").status_code == 302
    response = _decide(client, item.slug, "approve", version="0")
    assert response.status_code == 409 and "请刷新页面" in response.get_data(as_text=True)
    response = _decide(client, item.slug, "reject", version="0", reason="同一页面上的驳回")
    assert response.status_code == 409
    assert _only(session).state == "approved"
    assert len(session.scalars(select(AuditEvent).where(AuditEvent.action == "showcase:approve")).all()) == 1


def test_forms_without_a_csrf_token_are_refused(client: FlaskClient, session: Session, world: World) -> None:
    login(client, "citizen")
    response = client.post("/showcases/new", data={"title": "空气质量地图", "kind": "app", "url": "https://a.example.cn/",
                                                   "description": DESCRIPTION, "entries": _open(world).resource_code})
    assert response.status_code == 400 and session.scalar(select(Showcase.id)) is None
    _submit(client, entries=_open(world).resource_code)
    item = _only(session)
    _logout(client)
    login(client, "bureau")
    assert client.post(f"/showcases/{item.slug}/approve", data={"version": "0"}).status_code == 400
    assert _only(session).state == "pending"


def test_an_entry_that_left_the_open_catalog_is_no_longer_named(client: FlaskClient, session: Session, world: World) -> None:
    kept, leaving = _open(world, OpenType.ON_APPLICATION), _open(world)
    login(client, "citizen")
    _submit(client, entries=f"{kept.resource_code}\n{leaving.resource_code}")
    item = _only(session)
    _logout(client)
    login(client, "bureau")
    _decide(client, item.slug, "approve", version="0")
    _logout(client)
    session.get(Entry, leaving.id).status = EntryStatus.WITHDRAWN  # type: ignore[union-attr]
    session.commit()
    for url in (f"/showcases/{item.slug}", "/showcases"):
        page = client.get(url).get_data(as_text=True)
        assert kept.title in page and leaving.title not in page and leaving.slug not in page


def test_the_gallery_is_paged_newest_first_within_its_kind(client: FlaskClient, session: Session, world: World) -> None:
    from datetime import timedelta

    from portal import showcases as sc

    entry = _open(world)
    for n in range(26):
        item = sc.submit_showcase(session, user=world.users["citizen"], title=f"成果{n:02d}号", kind="app" if n % 2 else "analysis",
                                  description="按站点显示空气质量的地图。", url=f"https://aq.example.cn/{n}", entry_ids=[entry.id], now=NOW)
        sc.approve_showcase(session, item, actor=world.users["bureau"], now=NOW + timedelta(minutes=n))
    session.commit()

    def titles(page: str) -> list[str]:
        return re.findall(r"成果(\d\d)号</a></h2>", page)

    first = client.get("/showcases").get_data(as_text=True)
    assert titles(first) == [f"{n:02d}" for n in range(25, 1, -1)] and "第 1 / 2 页" in first
    assert 'rel="next" href="/showcases?page=2"' in first and 'rel="prev"' not in first
    second = client.get("/showcases?page=2").get_data(as_text=True)
    assert titles(second) == ["01", "00"] and 'rel="prev" href="/showcases?page=1"' in second
    assert titles(client.get("/showcases?page=999").get_data(as_text=True)) == ["01", "00"]  # past the end: the last page
    assert titles(client.get("/showcases?page=abc").get_data(as_text=True)) == titles(first)
    apps = client.get("/showcases?kind=app").get_data(as_text=True)
    assert titles(apps) == [f"{n:02d}" for n in range(25, 0, -2)] and 'class="pager"' not in apps
