"""Data security incidents (数据安全事件, Art. 21) over HTTP: the list (the Bureau's and the
auditor's of the whole zone, a department's of its own), the form that reports one, the page
with the affected entries, the timeline of notes and the forms the viewer may use, and the
POSTs that acknowledge, add a note and close.

Each view calls one function of `incidents`, which checks who may do what on the server (404
for an incident the viewer may not see, 403 for an action the viewer may not take), answers 409
to a stale or double click and writes the audit row; the view commits (`common.commit_or_flash`,
`common.commit_or_redisplay`)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from .. import incidents
from ..data_requests import china_day
from ..errors import Forbidden
from ..models import Department, User
from ..vocab import N_, Role
from .common import commit_or_flash, commit_or_redisplay, db_session, now, viewer

bp = Blueprint("incidents", __name__)
CHINA = timezone(timedelta(hours=8))


def _user() -> User:
    return viewer()  # type: ignore[return-value]  # behind login_required


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isascii() and value.isdigit() and len(value) < 10 else None


def _date(name: str) -> date | None:
    try:
        return date.fromisoformat(request.form.get(name, "")[:10])
    except ValueError:
        return None


def _moment(name: str) -> datetime | None:
    """A `datetime-local` field (China time), as an aware time; None when missing or malformed."""
    try:
        value = datetime.fromisoformat(request.form.get(name, "")[:30])
    except ValueError:
        return None
    return value.replace(tzinfo=CHINA) if value.tzinfo is None else value


def _checked(name: str) -> bool:
    return request.form.get(name) in ("1", "on", "yes", "true")


@bp.get("/incidents")
@login_required
def index() -> str:
    db = db_session()
    user = viewer()
    state = request.args.get("state", "")
    state = state if state in incidents.STATES else ""
    return render_template(
        "incidents/list.html", items=incidents.visible_incidents(db, user, state=state or None), state=state,
        states=incidents.STATES, kinds=incidents.KINDS, may_report=incidents.may_report(user),
    )


def _form(department: Department | None, values: Any, errors: dict[str, str]) -> tuple[str, int]:
    db = db_session()
    user = _user()
    departments = list(db.scalars(select(Department).order_by(Department.id))) if user.role == Role.BUREAU else []
    latest = now().astimezone(CHINA).strftime("%Y-%m-%dT%H:%M")
    return render_template(
        "incidents/new.html", department=department, departments=departments, values=values, errors=errors,
        kinds=incidents.KINDS, today=china_day(now()), latest=latest,
    ), (400 if errors else 200)


@bp.route("/incidents/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    db = db_session()
    user = _user()
    if not incidents.may_report(user):
        raise Forbidden(N_("只有本部门的数据提供员、部门管理员或区数据资源局可以报告数据安全事件"))
    chosen = _int(request.values.get("department"))
    department = (db.get(Department, chosen) if chosen else None) if user.role == Role.BUREAU else user.department
    if request.method == "GET":
        return _form(department, {}, {})
    form = request.form
    return commit_or_redisplay(
        lambda: incidents.report(
            db, department=department, kind=form.get("kind", ""), title=form.get("title", "")[:1000],
            description=form.get("description", "")[:30000], discovered_at=_moment("discovered_at"),
            entries=incidents.split_refs(form.get("entries", "")[:10000]), personal_information=_checked("personal_information"),
            police_reported=_checked("police_reported"), police_reported_on=_date("police_reported_on"),
            police_reference=form.get("police_reference", "")[:1000], actor=user, now=now(),
        ),
        done=gettext("已向区数据资源局报告数据安全事件"), then=lambda made: url_for("incidents.show", incident_id=made.id),
        again=lambda invalid: _form(department, form, invalid.errors),
    )


@bp.get("/incidents/<int:incident_id>")
@login_required
def show(incident_id: int) -> str:
    db = db_session()
    user = viewer()
    item = incidents.get_incident(db, incident_id, user)
    is_open = item.state in incidents.OPEN
    return render_template(
        "incidents/show.html", item=item, states=incidents.STATES, kinds=incidents.KINDS, events=incidents.EVENTS,
        may_acknowledge=item.state == "reported" and incidents.may_handle(user),
        may_close=item.state == "acknowledged" and incidents.may_handle(user),
        may_note=is_open and incidents.may_note(user, item), today=china_day(now()),
    )


def _act(incident_id: int, act: Any, done: str, **kwargs: Any) -> Response:
    """Call `act(session, incident, actor=, now=, **kwargs)` on an incident the viewer may see
    (404 otherwise): commit and flash `done`, or flash the Invalid and save nothing."""
    db = db_session()
    item = incidents.get_incident(db, incident_id, viewer())
    commit_or_flash(lambda: act(db, item, actor=_user(), now=now(), **kwargs), done)
    return redirect(url_for("incidents.show", incident_id=incident_id))


@bp.post("/incidents/<int:incident_id>/acknowledge")
@login_required
def acknowledge(incident_id: int) -> Response:
    return _act(incident_id, incidents.acknowledge, gettext("已受理数据安全事件"), note=request.form.get("note", "")[:10000])


@bp.post("/incidents/<int:incident_id>/note")
@login_required
def note(incident_id: int) -> Response:
    return _act(
        incident_id, incidents.add_note, gettext("已记录处置情况"), note=request.form.get("note", "")[:10000],
        police_reported=_checked("police_reported"), police_reported_on=_date("police_reported_on"),
        police_reference=request.form.get("police_reference", "")[:1000],
    )


@bp.post("/incidents/<int:incident_id>/close")
@login_required
def close(incident_id: int) -> Response:
    return _act(incident_id, incidents.close, gettext("已结案"), result=request.form.get("result", "")[:30000])
