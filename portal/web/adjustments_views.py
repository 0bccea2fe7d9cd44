"""Catalog adjustments (目录调整, Art. 10) over HTTP: the list, the form that opens one, the page
with its clock and the state of each entry named, and cancelling. Each view calls one domain
function of `adjustments`, which checks who may do what (403/404) and answers 409 to a stale
click. Showing an adjustment first notes the entries updated since (and closes it when all are)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from .. import adjustments as adj
from ..calendars import current_calendar
from ..data_requests import china_day
from ..errors import Forbidden, Invalid
from ..models import Department, User
from ..vocab import N_, Role
from .common import db_session, now, viewer

bp = Blueprint("adjustments", __name__)
FILTERS = ("open", "done", "cancelled")


def _date(name: str) -> date | None:
    try:
        return date.fromisoformat(request.form.get(name, ""))
    except ValueError:
        return None


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.isascii() and v.isdigit() and len(v) < 10]


@bp.get("/adjustments")
@login_required
def index() -> str:
    db = db_session()
    user = viewer()
    state = request.args.get("state", "")
    state = state if state in FILTERS else ""
    items = adj.visible_adjustments(db, user, state=state or None)
    calendar, today = current_calendar(db), china_day(now())
    return render_template(
        "adjustments/list.html", items=items, state=state, filters=FILTERS, states=adj.STATES, causes=adj.CAUSES,
        clocks={a.id: adj.clock(calendar, a, today) for a in items}, may_open=adj.may_open(user),
    )


def _department(user: User, chosen: str) -> Department | None:
    """The department the form is for: the Bureau's choice, or the staff member's own."""
    db = db_session()
    if user.role == Role.BUREAU:
        return db.get(Department, int(chosen)) if chosen.isascii() and chosen.isdigit() and len(chosen) < 10 else None
    return user.department


@bp.route("/adjustments/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    db = db_session()
    user: User = viewer()  # type: ignore[assignment]
    if not adj.may_open(user):
        raise Forbidden(N_("只有区数据资源局或本部门的目录编制员、部门管理员可以发起目录调整"))
    department = _department(user, request.values.get("department", ""))
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            made = adj.open_adjustment(
                db, department=department, cause=request.form.get("cause", ""), event=request.form.get("event", "")[:2000],
                event_on=_date("event_on"), entry_ids=_ids(request.form.getlist("entries")), actor=user, now=now(),
            )
        except Invalid as invalid:
            db.rollback()
            errors = invalid.errors
        else:
            db.commit()
            flash(gettext("已发起目录调整，请在时限内更新所列目录条目"))
            return redirect(url_for("adjustments.show", adjustment_id=made.id))
    departments = list(db.scalars(select(Department).order_by(Department.id))) if user.role == Role.BUREAU else []
    entries = adj.adjustable_entries(db, department) if department is not None else []
    return render_template(
        "adjustments/new.html", department=department, departments=departments, entries=entries, causes=adj.CAUSES,
        errors=errors, form=request.form, chosen=_ids(request.form.getlist("entries")), today=china_day(now()),
    ), (400 if errors else 200)


@bp.get("/adjustments/<int:adjustment_id>")
@login_required
def show(adjustment_id: int) -> str:
    db = db_session()
    item = adj.get_adjustment(db, adjustment_id, viewer())
    calendar, today = current_calendar(db), china_day(now())
    return render_template(
        "adjustments/show.html", item=item, clock=adj.clock(calendar, item, today), due=adj.due(calendar, item),
        late=adj.finished_late(calendar, item), kind=adj.kind_of(item), states=adj.STATES, causes=adj.CAUSES,
        may_cancel=item.state == "open" and adj.may_cancel(viewer(), item),
    )


@bp.post("/adjustments/<int:adjustment_id>/cancel")
@login_required
def cancel(adjustment_id: int) -> Response:
    db = db_session()
    item = adj.get_adjustment(db, adjustment_id, viewer())
    try:
        adj.cancel(db, item, actor=viewer(), now=now(), reason=request.form.get("reason", "")[:2000])  # type: ignore[arg-type]
    except Invalid as invalid:
        db.rollback()
        flash(gettext(invalid.message), "error")
    else:
        db.commit()
        flash(gettext("已撤销目录调整"))
    return redirect(url_for("adjustments.show", adjustment_id=adjustment_id))
