"""Data application competitions over HTTP: a competition run through the test client from the
Bureau's form to the public results page with its awards (CSRF on every form), the entry form
with datasets picked and named by resource code, the judges' scoring page (a judge sees only
their own scores), 403 for the wrong people at every Bureau, judge and entrant URL, 409 for a
double click, and safe Markdown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import competitions as comp
from portal.models import AuditEvent, Competition, CompetitionEntry, Entry
from portal.vocab import EntryStatus, OpenType, ShareType

from ..support import World, csrf_token, login

SLUG = "traffic-2026"
URL = f"/competitions/{SLUG}"


def _open(world: World) -> list[Entry]:
    return [e for e in world.entries if e.status == EntryStatus.PUBLISHED and e.open_type != OpenType.CLOSED]


def _as(app: Flask, username: str | None) -> FlaskClient:
    client = app.test_client()
    if username:
        login(client, username)
    return client


def _post(client: FlaskClient, url: str, data: dict[str, object] | None = None, token_from: str = "/") -> object:
    return client.post(url, data={"csrf_token": csrf_token(client, token_from), **(data or {})})


def _create(bureau: FlaskClient, world: World, **overrides: object) -> None:
    today = comp.china_today(datetime.now(UTC))
    data: dict[str, object] = {
        "slug": SLUG, "title": "经开区交通数据应用大赛", "theme": "用开放数据改善出行",
        "rules": "## 参赛规则\n\n作品须使用**开放数据**。<script>alert('x')</script>", "prizes": "- 一等奖 1 名\n- 二等奖 2 名",
        "opens_on": (today - timedelta(days=1)).isoformat(), "closes_on": (today + timedelta(days=10)).isoformat(),
        "more_datasets": f"{_open(world)[0].resource_code}\n{_open(world)[1].title}", "judges": "reviewer, auditor",
    }
    data.update(overrides)
    response = _post(bureau, "/competitions/new", data, "/competitions/new")
    assert response.status_code == 302 and response.headers["Location"].endswith(URL)  # type: ignore[attr-defined]


def _entry_data(world: World, title: str) -> dict[str, object]:
    return {"team_name": f"{title}队", "members": "张三、李四", "title": title, "description": "基于开放数据",
            "url": "https://example.org/app", "datasets": [str(_open(world)[0].id)], "more_datasets": _open(world)[2].resource_code}


def test_a_competition_runs_from_creation_to_published_results(app: Flask, world: World, session: Session) -> None:
    bureau, citizen, entrant, judge_1, judge_2, anonymous = (
        _as(app, u) for u in ("bureau", "citizen", "editor_b", "reviewer", "auditor", None))
    form = bureau.get("/competitions/new").get_data(as_text=True)
    assert 'name="csrf_token"' in form and 'name="judges"' in form
    _create(bureau, world)
    assert anonymous.get(URL).status_code == 404 and SLUG not in anonymous.get("/competitions").get_data(as_text=True)  # a draft
    assert "草稿" in bureau.get("/competitions").get_data(as_text=True)

    assert _post(bureau, f"{URL}/publish").status_code == 302  # type: ignore[attr-defined]
    assert _post(bureau, f"{URL}/publish").status_code == 409  # type: ignore[attr-defined]  # a double click
    listing = anonymous.get("/competitions").get_data(as_text=True)
    assert URL in listing and "征集中" in listing
    page = anonymous.get(URL).get_data(as_text=True)
    assert "<h2>参赛规则</h2>" in page and "<strong>开放数据</strong>" in page and "<li>一等奖 1 名</li>" in page  # Markdown
    assert "<script>alert" not in page and "用开放数据改善出行" in page and "0 件" in page
    assert f'/catalog/{_open(world)[0].slug}"' in page and f'/catalog/{_open(world)[1].slug}"' in page
    assert "登录后参赛" in page

    enter_form = citizen.get(f"{URL}/enter").get_data(as_text=True)
    assert _open(world)[0].title in enter_form and 'name="more_datasets"' in enter_form
    bad = _post(citizen, f"{URL}/enter", _entry_data(world, "出行助手") | {"url": "javascript:alert(1)"})
    assert bad.status_code == 400 and "http://" in bad.get_data(as_text=True)  # type: ignore[attr-defined]
    assert _post(citizen, f"{URL}/enter", _entry_data(world, "出行助手")).status_code == 302  # type: ignore[attr-defined]
    assert _post(entrant, f"{URL}/enter", _entry_data(world, "停车地图")).status_code == 302  # type: ignore[attr-defined]
    mine = citizen.get(f"{URL}/enter").get_data(as_text=True)
    assert "我的参赛作品" in mine and "撤回作品" in mine and "出行助手" in mine
    edited = _entry_data(world, "出行助手2.0") | {"more_datasets": ""}
    assert _post(citizen, f"{URL}/enter", edited).status_code == 302  # type: ignore[attr-defined]  # the second post edits
    entries = {e.title: e for e in session.scalars(select(CompetitionEntry))}
    assert set(entries) == {"出行助手2.0", "停车地图"} and [e.id for e in entries["停车地图"].entries] == sorted(
        [_open(world)[0].id, _open(world)[2].id])
    assert "2 件" in anonymous.get(URL).get_data(as_text=True)
    assert "出行助手" not in anonymous.get(URL).get_data(as_text=True)  # no entry is public before the results

    first, second = entries["出行助手2.0"], entries["停车地图"]
    early = _post(judge_1, f"{URL}/entries/{first.id}/score", {"score": "90"})
    assert early.status_code == 409 and "尚未进入评审" in early.get_data(as_text=True)  # type: ignore[attr-defined]
    not_yet = _post(bureau, f"{URL}/start-judging")
    assert not_yet.status_code == 302 and "征集期尚未结束" in bureau.get(URL).get_data(as_text=True)  # type: ignore[attr-defined]
    assert _post(bureau, f"{URL}/start-judging", {"early": "1"}).status_code == 302  # type: ignore[attr-defined]
    assert "评审中" in anonymous.get(URL).get_data(as_text=True)

    scoring = judge_1.get(f"{URL}/judging").get_data(as_text=True)
    assert "出行助手2.0" in scoring and "停车地图" in scoring and f'/catalog/{_open(world)[0].slug}"' in scoring
    assert "张三" in scoring and "editor_b" not in scoring  # the leader's account is not shown
    for client, entry, value, comment in ((judge_1, first, "80", "创意好"), (judge_1, second, "95", "很实用"),
                                          (judge_2, first, "90", "第二位评委的意见"), (judge_2, second, "60", "")):
        response = _post(client, f"{URL}/entries/{entry.id}/score", {"score": value, "comment": comment})
        assert response.status_code == 302, response.get_data(as_text=True)  # type: ignore[attr-defined]
    bad_score = _post(judge_1, f"{URL}/entries/{first.id}/score", {"score": "101"})
    assert bad_score.status_code == 400 and "0到100" in bad_score.get_data(as_text=True)  # type: ignore[attr-defined]
    scoring = judge_1.get(f"{URL}/judging").get_data(as_text=True)
    assert "创意好" in scoring and "第二位评委的意见" not in scoring  # only the judge's own before the results
    overview = bureau.get(f"{URL}/results").get_data(as_text=True)
    assert "第二位评委的意见" in overview and "85.00" in overview and "77.50" in overview

    response = _post(bureau, f"{URL}/results", {f"award-{first.id}": "一等奖", f"award-{second.id}": "二等奖"})
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert _post(bureau, f"{URL}/results", {f"award-{first.id}": "二等奖"}).status_code == 409  # type: ignore[attr-defined]
    page = anonymous.get(URL).get_data(as_text=True)
    assert "竞赛结果" in page and "一等奖" in page and "二等奖" in page and "85.00" in page
    assert page.index("出行助手2.0") < page.index("停车地图") and "张三、李四" in page and "editor_b" not in page
    assert "已结束" in anonymous.get("/competitions").get_data(as_text=True)
    late = _post(judge_2, f"{URL}/entries/{second.id}/score", {"score": "100"})
    assert late.status_code == 409 and "结果已经公布" in late.get_data(as_text=True)  # type: ignore[attr-defined]
    session.expire_all()
    made = session.scalars(select(Competition)).one()
    assert made.state == "results" and {e.title: (e.rank, e.award) for e in session.scalars(select(CompetitionEntry))} == {
        "出行助手2.0": (1, "一等奖"), "停车地图": (2, "二等奖")}


@pytest.mark.parametrize("user", ["citizen", "editor_a", "reviewer"])
def test_only_the_bureau_uses_the_bureau_urls(app: Flask, world: World, session: Session, user: str) -> None:
    _create(_as(app, "bureau"), world)
    client = _as(app, user)
    assert client.get("/competitions/new").status_code == 403
    assert _post(client, "/competitions/new", {"slug": "mine", "title": "x"}).status_code == 403  # type: ignore[attr-defined]
    for path in ("/edit", "/publish", "/start-judging", "/results"):
        assert _post(client, f"{URL}{path}").status_code == 403, path  # type: ignore[attr-defined]
    assert client.get(f"{URL}/results").status_code == 403
    session.expire_all()
    assert session.scalars(select(Competition)).one().state == "draft"
    denied = session.scalars(select(AuditEvent).where(AuditEvent.action == "authz:denied")).all()
    assert len(denied) >= 6


def test_anonymous_visitors_are_sent_to_log_in(app: Flask, world: World) -> None:
    bureau = _as(app, "bureau")
    _create(bureau, world)
    _post(bureau, f"{URL}/publish")
    client = app.test_client()
    for path in ("/enter", "/judging"):
        response = client.get(f"{URL}{path}")
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_judges_and_the_bureau_may_not_enter_and_outsiders_may_not_score(app: Flask, world: World, session: Session) -> None:
    bureau = _as(app, "bureau")
    _create(bureau, world)
    _post(bureau, f"{URL}/publish")
    for user in ("bureau", "reviewer"):
        client = bureau if user == "bureau" else _as(app, user)
        assert client.get(f"{URL}/enter").status_code == 403
        assert _post(client, f"{URL}/enter", _entry_data(world, "评委的作品")).status_code == 403  # type: ignore[attr-defined]
    citizen = _as(app, "citizen")
    _post(citizen, f"{URL}/enter", _entry_data(world, "出行助手"))
    entry = session.scalars(select(CompetitionEntry)).one()
    _post(bureau, f"{URL}/start-judging", {"early": "1"})
    for user in ("citizen", "editor_a"):
        client = citizen if user == "citizen" else _as(app, user)
        assert client.get(f"{URL}/judging").status_code == 403
        assert _post(client, f"{URL}/entries/{entry.id}/score", {"score": "100"}).status_code == 403  # type: ignore[attr-defined]
    assert _post(bureau, f"{URL}/entries/{entry.id}/score", {"score": "100"}).status_code == 403  # type: ignore[attr-defined]
    assert bureau.get(f"{URL}/judging").status_code == 200  # the Bureau reads it
    other = _as(app, "editor_a")
    assert _post(other, f"{URL}/entries/{entry.id}/withdraw").status_code == 403  # type: ignore[attr-defined]
    withdrawn = _post(citizen, f"{URL}/entries/{entry.id}/withdraw")  # after the period: refused with a message
    assert withdrawn.status_code == 302  # type: ignore[attr-defined]
    assert "不在作品征集期内" in citizen.get(f"{URL}/enter").get_data(as_text=True)
    session.expire_all()
    assert session.get_one(CompetitionEntry, entry.id).state == "submitted"


def test_the_forms_show_their_errors(app: Flask, world: World) -> None:
    bureau = _as(app, "bureau")
    closed = world.entry(ShareType.UNCONDITIONAL, OpenType.CLOSED, EntryStatus.PUBLISHED)
    response = _post(bureau, "/competitions/new", {"slug": "Bad Slug", "title": "", "opens_on": "2026-13-01",
                                                   "more_datasets": closed.resource_code, "judges": "nobody"}, "/competitions/new")
    page = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert closed.resource_code in page and "nobody" in page
    response = _post(bureau, "/competitions/new", {"slug": "Bad Slug", "title": "", "opens_on": "2026-13-01", "judges": ""},
                     "/competitions/new")
    page = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "网址名称须为" in page and "请填写竞赛名称" in page and "请填写作品征集开始日期" in page


def test_the_bureau_edits_a_competition(app: Flask, world: World, session: Session) -> None:
    bureau = _as(app, "bureau")
    _create(bureau, world)
    form = bureau.get(f"{URL}/edit").get_data(as_text=True)
    assert "reviewer auditor" in form and _open(world)[0].title in form and "checked" in form
    made = session.scalars(select(Competition)).one()
    data = {"slug": SLUG, "title": "新名称", "theme": "新主题", "rules": "", "prizes": "", "opens_on": made.opens_on.isoformat(),
            "closes_on": made.closes_on.isoformat(), "datasets": [str(_open(world)[0].id)], "judges": "reviewer"}
    assert _post(bureau, f"{URL}/edit", data).status_code == 302  # type: ignore[attr-defined]
    session.expire_all()
    made = session.scalars(select(Competition)).one()
    assert made.title == "新名称" and [d.entry_id for d in made.datasets] == [_open(world)[0].id] and len(made.judges) == 1
