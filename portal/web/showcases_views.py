"""Showcases (成果展示) over HTTP: the public gallery (`/showcases`, filtered by kind) and a page
per showcase; the submit and edit forms and "my showcases" for signed-in users; the Bureau's
moderation queue (`/showcases/review`). The rules live in `portal.showcases`; every POST checks
on the server who is asking (a refused moderation is audited and answered 403).

Descriptions are Markdown, rendered safely by `portal.text.render_markdown` (no raw HTML, no
images, links carrying rel="noopener nofollow ugc").
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import login_required
from werkzeug.wrappers import Response

from .. import showcases
from ..audit import record_apart
from ..errors import Forbidden, Invalid
from ..models import Showcase, User
from ..text import render_markdown
from ..vocab import N_
from .common import commit_or_redisplay, db_session, now, request_facts, viewer

bp = Blueprint("showcases", __name__)

FIELDS = ("title", "kind", "description", "url", "entries", "slug")
_MARKUP = re.compile(r"!?\[([^\]]*)\]\([^)]*\)|[#*_`>|~]+")


def excerpt(text: str, length: int = 120) -> str:
    """A gallery card's short description: the text without Markdown's marks, cut at `length`."""
    plain = " ".join(_MARKUP.sub(r"\1", text).split())
    return plain if len(plain) <= length else plain[: length - 1] + "…"


def _signed_in() -> User:
    user = viewer()
    assert user is not None  # login_required ran first
    return user


def _bureau() -> User:
    """The viewer, when the Bureau; otherwise the refusal is audited and the request ends (403)."""
    user = viewer()
    if showcases.may_moderate(user):
        assert user is not None
        return user
    record_apart(
        current_app.extensions["portal.sessions"], action="authz:denied", actor=user, now=now(), target="成果展示审核",
        details={"action": "showcase:moderate", "path": request.path}, facts=request_facts(),
    )
    raise Forbidden(N_("成果展示由区数据资源局审核"))


def _kind_arg() -> str | None:
    kind = request.args.get("kind", "")
    return kind if kind in showcases.KINDS else None


# -- public pages ------------------------------------------------------------------------------


@bp.get("/showcases")
def gallery() -> str:
    db = db_session()
    kind = _kind_arg()
    number = request.args.get("page", "1")
    page = showcases.gallery_page(db, kind=kind, page=int(number) if number.isascii() and number.isdigit() and len(number) < 7 else 1)
    return render_template(
        "showcases/gallery.html", items=page.items, page=page, entries=showcases.visible_entries_of(db, page.items, viewer()), kind=kind,
        kinds=showcases.KINDS, excerpt=excerpt, page_url=lambda **changes: url_for("showcases.gallery", kind=kind, **changes),
    )


@bp.get("/showcases/<slug>")
def show(slug: str) -> str:
    db = db_session()
    user = viewer()
    item = showcases.get_showcase(db, slug, user)
    return _show_page(item, user)


def _show_page(item: Showcase, user: User | None, errors: dict[str, str] | None = None, status: int = 200) -> Any:
    db = db_session()
    page = render_template(
        "showcases/show.html", item=item, entries=showcases.visible_entries(db, item, user), description=render_markdown(item.description),
        kinds=showcases.KINDS, states=showcases.STATES, mine=showcases.is_submitter(user, item),
        moderator=showcases.may_moderate(user), editable=showcases.EDITABLE, withdrawable=showcases.WITHDRAWABLE,
        rejectable=showcases.REJECTABLE, errors=errors or {},
    )
    return page if status == 200 else (page, status)


# -- the submitter -----------------------------------------------------------------------------


@bp.get("/showcases/mine")
@login_required
def mine() -> str:
    user = _signed_in()
    db = db_session()
    items = showcases.showcases_of_user(db, user)
    return render_template(
        "showcases/mine.html", items=items, entries=showcases.visible_entries_of(db, items, user), kinds=showcases.KINDS,
        states=showcases.STATES,
    )


@bp.get("/showcases/new")
@login_required
def new() -> str:
    return _form_page(None, {"kind": request.args.get("kind", "app"), "entries": request.args.get("entry", "")[:200]})


def _form_page(item: Showcase | None, form: dict[str, str], errors: dict[str, str] | None = None, status: int = 200) -> Any:
    page = render_template("showcases/form.html", item=item, form=form, errors=errors or {}, kinds=showcases.KINDS)
    return page if status == 200 else (page, status)


def _form() -> dict[str, str]:
    return {key: request.form.get(key, "")[:25000] for key in FIELDS}


def _entry_ids(form: dict[str, str], errors: dict[str, str]) -> list[int]:
    """The entries named in the form; a problem goes into `errors` (checked with the rest)."""
    try:
        return showcases.resolve_entries(db_session(), form["entries"])
    except Invalid as invalid:
        errors.update(invalid.errors)
        return []


@bp.post("/showcases/new")
@login_required
def submit() -> Any:
    user = _signed_in()
    db = db_session()
    form = _form()
    errors: dict[str, str] = {}
    ids = _entry_ids(form, errors)
    return commit_or_redisplay(
        lambda: showcases.submit_showcase(
            db, user=user, title=form["title"], kind=form["kind"], description=form["description"], url=form["url"],
            entry_ids=ids, now=now(), slug=form["slug"],
        ),
        done=gettext("成果已提交，区数据资源局审核通过后将在成果展示中公开"), then=lambda item: url_for("showcases.show", slug=item.slug),
        # with no entries resolved, always Invalid: the other fields are checked too
        again=lambda invalid: _form_page(None, form, {**invalid.errors, **errors}, 400),
    )


def _own(slug: str) -> tuple[User, Showcase]:
    user = _signed_in()
    item = showcases.get_showcase(db_session(), slug, user)
    if not showcases.is_submitter(user, item):
        raise Forbidden(N_("只有提交人可以修改或撤回该成果"))
    return user, item


@bp.get("/showcases/<slug>/edit")
@login_required
def edit(slug: str) -> Any:
    _user, item = _own(slug)
    if item.state not in showcases.EDITABLE:
        flash(gettext("只有待审核或已驳回的成果可以修改"), "error")
        return redirect(url_for("showcases.show", slug=slug))
    codes = [e.resource_code for e in showcases.visible_entries(db_session(), item, None)]  # only open ones can be kept
    form = {
        "title": item.title, "kind": item.kind, "description": item.description, "url": item.url, "entries": "\n".join(codes),
        "version": str(item.version),
    }
    return _form_page(item, form)


@bp.post("/showcases/<slug>/edit")
@login_required
def update(slug: str) -> Any:
    user, item = _own(slug)
    db = db_session()
    form = {**_form(), "version": request.form.get("version", "")[:12]}  # the version the submitter saw, kept
    errors: dict[str, str] = {}
    ids = _entry_ids(form, errors)
    return commit_or_redisplay(
        lambda: showcases.update_showcase(
            db, item, user=user, title=form["title"], kind=form["kind"], description=form["description"], url=form["url"],
            entry_ids=ids, now=now(), version=request.form.get("version", type=int),
        ),
        done=gettext("修改已提交，等待区数据资源局审核"), then=lambda _: url_for("showcases.show", slug=slug),
        # with no entries resolved, always Invalid: the other fields are checked too
        again=lambda invalid: _form_page(item, form, {**invalid.errors, **errors}, 400),
    )


@bp.post("/showcases/<slug>/withdraw")
@login_required
def withdraw(slug: str) -> Response:
    user, item = _own(slug)
    db = db_session()
    showcases.withdraw_showcase(db, item, user=user, now=now(), version=request.form.get("version", type=int))
    db.commit()
    flash(gettext("成果已撤回"))
    return redirect(url_for("showcases.mine"))


# -- the Bureau --------------------------------------------------------------------------------


@bp.get("/showcases/review")
@login_required
def review() -> str:
    _bureau()
    return _review_page()


def _review_page(errors: dict[int, str] | None = None, status: int = 200) -> Any:
    db = db_session()
    items = showcases.pending_showcases(db)
    page = render_template(
        "showcases/review.html", items=items, entries=showcases.visible_entries_of(db, items, viewer()),
        descriptions={i.id: render_markdown(i.description) for i in items}, kinds=showcases.KINDS, errors=errors or {},
    )
    return page if status == 200 else (page, status)


@bp.post("/showcases/<slug>/<any(approve, reject):decision>")
@login_required
def decide(slug: str, decision: str) -> Any:
    user = _bureau()
    db = db_session()
    item = showcases.get_showcase(db, slug, user)
    version = request.form.get("version", type=int)
    from_review = request.form.get("back") == "review"

    def act() -> None:
        if decision == "approve":
            showcases.approve_showcase(db, item, actor=user, now=now(), version=version)
        else:
            showcases.reject_showcase(db, item, actor=user, reason=request.form.get("reason", "")[:4000], now=now(), version=version)

    def again(invalid: Invalid) -> Any:
        if from_review:
            return _review_page({item.id: gettext(invalid.message)}, 400)
        return _show_page(item, user, invalid.errors, 400)

    return commit_or_redisplay(
        act, done=gettext("已通过，该成果已在成果展示中公开") if decision == "approve" else gettext("已驳回，提交人将看到驳回理由"),
        then=lambda _: url_for("showcases.review") if from_review else url_for("showcases.show", slug=slug), again=again,
    )
