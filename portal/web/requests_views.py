"""Share and open requests over HTTP: the request form on an entry, the request page with its
clock, history and the actions the viewer may take, and "my work". Each view calls one domain
function of `data_requests`, which checks who may do what and answers 409 to a stale click."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import login_required

from .. import browse
from .. import data_requests as dr
from ..calendars import clock_kind, current_calendar
from ..errors import Invalid
from ..exports import FORMATS
from .common import db_session, now, viewer

bp = Blueprint("requests", __name__)


def _date(name: str) -> date | None:
    try:
        return date.fromisoformat(request.form.get(name, ""))
    except ValueError:
        return None


@bp.route("/catalog/<slug>/requests/new", methods=["GET", "POST"])
@login_required
def new_request(slug: str) -> Any:
    db = db_session()
    entry = browse.get_entry(db, slug, viewer())
    kind = request.values.get("kind", "share")
    kind = kind if kind in dr.KINDS else "share"
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            made = dr.submit(
                db, entry, kind=kind, requester=viewer(), purpose=request.form.get("purpose", "")[:2000],  # type: ignore[arg-type]
                duty=request.form.get("duty", "")[:2000], items=request.form.getlist("items"),
                period_from=_date("period_from"), period_to=_date("period_to"), now=now(),
            )
        except Invalid as invalid:
            db.rollback()
            errors = invalid.errors
        else:
            db.commit()
            flash(gettext("申请已提交，等待提供部门受理"))
            return redirect(url_for("requests.show", request_id=made.id))
    clock = clock_kind(db, f"{kind}_request")
    return render_template("requests/new.html", entry=entry, kind=kind, clock=clock, errors=errors, form=request.form), (400 if errors else 200)


@bp.get("/requests/<int:request_id>")
@login_required
def show(request_id: int) -> str:
    db = db_session()
    item = dr.get_request(db, request_id, viewer())
    today = dr.china_day(now())
    grant = dr.active_grant(db, viewer(), item.entry, today)
    granted_files = [f for f in item.entry.files if f.tabular and f.valid] if grant is not None and grant.request_id == item.id else []
    return render_template(
        "requests/show.html", item=item, clock=dr.clock(current_calendar(db), item, today), actions=dr.available(viewer(), item),
        transitions=dr.TRANSITIONS, states=dr.STATES, kinds=dr.KINDS, today=today, granted_files=granted_files, formats=FORMATS,
    )


@bp.post("/requests/<int:request_id>/<action>")
@login_required
def act(request_id: int, action: str) -> Response:
    db = db_session()
    item = dr.get_request(db, request_id, viewer())
    user, moment, form = viewer(), now(), request.form
    steps = {
        "accept": lambda: dr.accept(db, item, actor=user, now=moment),
        "return": lambda: dr.return_incomplete(db, item, actor=user, now=moment, note=form.get("note", "")),
        "clarify": lambda: dr.ask_clarification(db, item, actor=user, now=moment, question=form.get("note", "")),
        "reply": lambda: dr.reply(db, item, actor=user, now=moment, answer=form.get("note", "")),
        "approve": lambda: dr.approve(db, item, actor=user, now=moment, expires_on=_date("expires_on"), items=form.getlist("items"),
                                      scope=form.get("scope", ""), purpose=form.get("purpose", "")),
        "refuse": lambda: dr.refuse(db, item, actor=user, now=moment, reason=form.get("reason", ""), basis=form.get("basis", "")),
        "escalate": lambda: dr.escalate(db, item, actor=user, now=moment, note=form.get("note", "")),
        "uphold": lambda: dr.coordinate(db, item, actor=user, now=moment, uphold=True, note=form.get("note", "")),
        "order": lambda: dr.coordinate(db, item, actor=user, now=moment, uphold=False, note=form.get("note", ""),
                                       expires_on=_date("expires_on"), items=form.getlist("items"), scope=form.get("scope", "")),
    }
    if action not in steps:
        return redirect(url_for("requests.show", request_id=request_id))
    try:
        steps[action]()  # type: ignore[no-untyped-call]
    except Invalid as invalid:
        db.rollback()
        flash(gettext(invalid.message), "error")
    else:
        db.commit()
        flash(gettext("已%(action)s", action=gettext(dr.TRANSITIONS[action].label)))
    return redirect(url_for("requests.show", request_id=request_id))
