"""Data application competitions (数据应用竞赛, Art. 19) over HTTP, under /competitions.

- everyone: the list (open, upcoming, judging, finished) and a page per competition (theme,
  period, rules and prizes as safe Markdown — the `markdown` filter of `portal.text` — the
  datasets offered, the number of entries, and the ranked results with their awards);
- signed-in users: the entry form, and editing or withdrawing their entry while it is open;
- judges: the scoring page of the competitions they judge;
- the Bureau: the create and edit form, publish, start judging, and the results form with an
  award per entry.
Every view checks on the server who may do it (403, recorded in the audit trail), then calls
one function of `competitions` or `judging`, which check again; a stale click answers 409.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import login_required
from werkzeug.wrappers import Response

from .. import competitions as comp
from .. import judging
from ..audit import record_apart
from ..errors import Forbidden, Invalid, NotFound
from ..models import Competition, CompetitionEntry, User
from ..vocab import N_
from .common import commit_or_flash, commit_or_redisplay, db_session, now, request_facts, viewer

bp = Blueprint("competitions", __name__)

FIELD_LENGTH = 20000


def _deny(message: str) -> Forbidden:
    """A refusal recorded in the audit trail (as `common.require` does), to raise."""
    record_apart(
        current_app.extensions["portal.sessions"], action="authz:denied", actor=viewer(), now=now(), target=request.path,
        details={"action": "competition", "path": request.path}, facts=request_facts(),
    )
    return Forbidden(message)


def _bureau() -> User:
    user = viewer()
    if not comp.may_manage(user):
        raise _deny(N_("只有区数据资源局可以管理数据应用竞赛"))
    assert user is not None
    return user


def _competition(slug: str) -> Competition:
    return comp.get_competition(db_session(), slug, viewer())


def _date(name: str) -> date | None:
    try:
        return date.fromisoformat(request.form.get(name, "").strip())
    except ValueError:
        return None


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.isascii() and v.isdigit() and len(v) < 10]


def _lines(name: str) -> list[str]:
    return [t for t in re.split(r"[\r\n]+", request.form.get(name, "")[:FIELD_LENGTH]) if t.strip()][:50]


def _chosen_datasets(field: str = "more_datasets") -> list[int]:
    """The datasets ticked, and those named by resource code or title, one a line."""
    extra = comp.find_open_entries(db_session(), _lines(field), field=field)
    return list(dict.fromkeys(_ids(request.form.getlist("datasets")) + [e.id for e in extra]))


def _entry(competition: Competition, entry_id: int) -> CompetitionEntry:
    found = judging.get_entry(db_session(), competition, entry_id)
    if found is None:
        raise NotFound(N_("没有找到该参赛作品"))
    return found


# -- public --------------------------------------------------------------------------------


@bp.get("/competitions")
def index() -> str:
    db, user = db_session(), viewer()
    today = comp.china_today(now())
    groups: dict[str, list[Competition]] = {"open": [], "upcoming": [], "judging": [], "results": [], "draft": []}
    for competition in comp.all_competitions(db, user):
        key = comp.phase(competition, today)
        groups["judging" if key == "closed" else key].append(competition)
    return render_template(
        "competitions/index.html", groups=groups, may_manage=comp.may_manage(user), judged=comp.judged_by(db, user),
    )


@bp.get("/competitions/<slug>")
def show(slug: str) -> str:
    db, user = db_session(), viewer()
    competition = _competition(slug)
    today = comp.china_today(now())
    return render_template(
        "competitions/show.html", competition=competition, phase=comp.phase(competition, today), phases=comp.PHASES,
        datasets=comp.offered_datasets(db, competition), entry_count=comp.entry_count(db, competition),
        results=judging.competition_results(db, competition),
        mine=judging.my_entry(db, competition, user), may_enter=judging.may_enter(competition, user),
        accepting=comp.accepting_entries(competition, today), is_judge=comp.is_judge(competition, user),
        may_manage=comp.may_manage(user),
    )


# -- the Bureau ----------------------------------------------------------------------------


def _competition_form(competition: Competition | None, form: Any, errors: dict[str, str], status: int = 200) -> tuple[str, int]:
    db = db_session()
    offered = comp.offered_datasets(db, competition) if competition is not None else []
    chosen = set(_ids(form.getlist("datasets"))) if hasattr(form, "getlist") and "csrf_token" in form else {e.id for e in offered}
    return render_template(
        "competitions/form.html", competition=competition, form=form, errors=errors, offered=offered, chosen=chosen,
    ), status


def _competition_values(competition: Competition | None) -> dict[str, Any]:
    form = request.form
    values: dict[str, Any] = {k: form.get(k, "")[:FIELD_LENGTH] for k in ("slug", "title", "theme", "rules", "prizes")}
    values["slug"] = values["slug"] or (competition.slug if competition is not None else "")
    values |= {"opens_on": _date("opens_on"), "closes_on": _date("closes_on")}
    errors: dict[str, str] = {}
    try:
        values["dataset_ids"] = _chosen_datasets()
    except Invalid as invalid:
        errors |= invalid.errors
    try:
        values["judges"] = comp.find_judges(db_session(), re.split(r"[\s,，、;；]+", form.get("judges", "")[:2000]))
    except Invalid as invalid:
        errors |= invalid.errors
    if errors:
        raise Invalid(errors)
    return values


@bp.route("/competitions/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    user = _bureau()
    if request.method == "GET":
        return _competition_form(None, {}, {})
    return commit_or_redisplay(
        lambda: comp.create_competition(db_session(), **_competition_values(None), actor=user, now=now()),
        done=gettext("已创建竞赛草稿；确认无误后请发布"), then=lambda made: url_for("competitions.show", slug=made.slug),
        again=lambda invalid: _competition_form(None, request.form, invalid.errors, 400),
    )


@bp.route("/competitions/<slug>/edit", methods=["GET", "POST"])
@login_required
def edit(slug: str) -> Any:
    user = _bureau()
    competition = _competition(slug)
    if request.method == "GET":
        values = {k: getattr(competition, k) for k in ("slug", "title", "theme", "rules", "prizes")}
        values |= {"opens_on": competition.opens_on.isoformat(), "closes_on": competition.closes_on.isoformat(),
                   "judges": " ".join(j.user.username for j in competition.judges)}
        return _competition_form(competition, values, {})
    return commit_or_redisplay(
        lambda: comp.update_competition(db_session(), competition, **_competition_values(competition), actor=user, now=now()),
        done=gettext("已保存竞赛信息"), then=lambda _: url_for("competitions.show", slug=competition.slug),
        again=lambda invalid: _competition_form(competition, request.form, invalid.errors, 400),
    )


def _transition(slug: str, act: Any, done: str, **kwargs: Any) -> Response:
    """The Bureau's button: `act(session, competition, actor=, now=, **kwargs)`, as `commit_or_flash`."""
    user = _bureau()
    competition = _competition(slug)
    commit_or_flash(lambda: act(db_session(), competition, actor=user, now=now(), **kwargs), done)
    return redirect(url_for("competitions.show", slug=slug))


@bp.post("/competitions/<slug>/publish")
@login_required
def publish(slug: str) -> Response:
    return _transition(slug, comp.publish_competition, gettext("竞赛已发布，公众可以查看并在征集期内提交作品"))


@bp.post("/competitions/<slug>/start-judging")
@login_required
def start_judging(slug: str) -> Response:
    return _transition(slug, comp.start_judging, gettext("竞赛已进入评审阶段，作品征集结束"), early=request.form.get("early") == "1")


@bp.route("/competitions/<slug>/results", methods=["GET", "POST"])
@login_required
def results(slug: str) -> Any:
    user = _bureau()
    db = db_session()
    competition = _competition(slug)
    standings = judging.standings(db, competition)

    def page(errors: dict[str, str]) -> tuple[str, int]:
        return render_template(
            "competitions/results.html", competition=competition, standings=standings, errors=errors, form=request.form,
            scores=judging.visible_scores(db, competition, user),
            withdrawn=[e for e in judging.entries_of(db, competition, user) if e.state == "withdrawn"],
        ), (400 if errors else 200)

    if request.method == "GET":
        return page({})
    awards = {r.entry.id: request.form.get(f"award-{r.entry.id}", "")[:200] for r in standings}
    return commit_or_redisplay(
        lambda: judging.publish_results(db, competition, awards, actor=user, now=now()),
        done=gettext("竞赛结果已公布"), then=lambda _: url_for("competitions.show", slug=slug),
        again=lambda invalid: page(invalid.errors),
    )


# -- entering ------------------------------------------------------------------------------


def _entry_form(competition: Competition, mine: CompetitionEntry | None, form: Any, errors: dict[str, str],
                status: int = 200) -> tuple[str, int]:
    db = db_session()
    offered = comp.offered_datasets(db, competition)
    used = judging.datasets_of(mine) if mine is not None else []
    posted = "csrf_token" in form
    chosen = set(_ids(form.getlist("datasets"))) if posted else {e.id for e in used}
    choices = offered + [e for e in used if e not in offered]
    return render_template(
        "competitions/enter.html", competition=competition, mine=mine, form=form, errors=errors, choices=choices, chosen=chosen,
        accepting=comp.accepting_entries(competition, comp.china_today(now())),
    ), status


def _entrant(competition: Competition) -> User:
    user = viewer()
    if not judging.may_enter(competition, user):
        raise _deny(N_("区数据资源局和本竞赛的评委不能参赛"))
    assert user is not None
    return user


@bp.route("/competitions/<slug>/enter", methods=["GET", "POST"])
@login_required
def enter(slug: str) -> Any:
    db = db_session()
    competition = _competition(slug)
    user = _entrant(competition)
    mine = judging.my_entry(db, competition, user)
    if request.method == "GET":
        values = {k: getattr(mine, k) for k in ("team_name", "members", "title", "description", "url")} if mine else {}
        return _entry_form(competition, mine, values, {})
    form = request.form
    fields: dict[str, Any] = {k: form.get(k, "")[:FIELD_LENGTH] for k in ("team_name", "members", "title", "description", "url")}

    def save() -> None:
        fields["entry_ids"] = _chosen_datasets()
        if mine is None:
            judging.submit_entry(db, competition, leader=user, **fields, now=now())
        else:
            judging.update_entry(db, mine, leader=user, **fields, now=now())

    return commit_or_redisplay(
        save, done=gettext("参赛作品已提交；征集截止前您可以修改或撤回") if mine is None else gettext("参赛作品已修改"),
        then=lambda _: url_for("competitions.enter", slug=slug),
        again=lambda invalid: _entry_form(competition, mine, form, invalid.errors, 400),
    )


@bp.post("/competitions/<slug>/entries/<int:entry_id>/withdraw")
@login_required
def withdraw(slug: str, entry_id: int) -> Response:
    db = db_session()
    competition = _competition(slug)
    entry = _entry(competition, entry_id)
    user = viewer()
    if user is None or entry.leader_id != user.id:
        raise _deny(N_("只有作品的提交人可以撤回作品"))
    withdrawn = commit_or_flash(lambda: judging.withdraw_entry(db, entry, leader=user, now=now()), gettext("参赛作品已撤回"))
    return redirect(url_for("competitions.show" if withdrawn else "competitions.enter", slug=slug))


# -- judging -------------------------------------------------------------------------------


def _judge_or_bureau(competition: Competition) -> User:
    user = viewer()
    if not (comp.is_judge(competition, user) or comp.may_manage(user)):
        raise _deny(N_("只有本竞赛的评委可以评分"))
    assert user is not None
    return user


def _judging_page(competition: Competition, errors: dict[int, dict[str, str]] | None = None, status: int = 200) -> tuple[str, int]:
    db, user = db_session(), viewer()
    return render_template(
        "competitions/judging.html", competition=competition, entries=judging.entries_of(db, competition, user)
        if competition.state in ("judging", "results") else [], scores=judging.visible_scores(db, competition, user),
        is_judge=comp.is_judge(competition, user), errors=errors or {}, form=request.form,
        datasets_of=judging.datasets_of, me=user,
    ), status


@bp.get("/competitions/<slug>/judging")
@login_required
def judging_page(slug: str) -> tuple[str, int]:
    competition = _competition(slug)
    _judge_or_bureau(competition)
    return _judging_page(competition)


def _score(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 4 else None


@bp.post("/competitions/<slug>/entries/<int:entry_id>/score")
@login_required
def score(slug: str, entry_id: int) -> Any:
    db = db_session()
    competition = _competition(slug)
    user = viewer()
    if not comp.is_judge(competition, user):
        raise _deny(N_("只有本竞赛的评委可以评分"))
    assert user is not None
    entry = _entry(competition, entry_id)
    return commit_or_redisplay(
        lambda: judging.score_entry(db, entry, judge=user, score=_score(request.form.get("score", "")),
                                    comment=request.form.get("comment", "")[:FIELD_LENGTH], now=now()),
        done=gettext("已保存对“%(title)s”的评分", title=entry.title),
        then=lambda _: url_for("competitions.judging_page", slug=slug) + f"#entry-{entry_id}",
        again=lambda invalid: _judging_page(competition, {entry_id: invalid.errors}, 400),
    )
