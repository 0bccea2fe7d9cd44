""""My work" (我的待办): every task of every workflow that waits for the viewer, soonest due
first, with its clock; for the Bureau also every overdue or flagged task of the zone."""

from __future__ import annotations

from flask import Blueprint, render_template, url_for
from flask_login import login_required

from .. import work
from ..calendars import current_calendar
from ..data_requests import china_day
from .common import db_session, now, viewer

bp = Blueprint("work", __name__)

# Where each kind of task is handled.
ENDPOINTS = {
    "share": ("requests.show", "request_id"),
    "open": ("requests.show", "request_id"),
    "report": ("reports.show", "report_id"),
    "adjustment": ("adjustments.show", "adjustment_id"),
    "review": ("reviews.show", "review_id"),
    "plan": ("plans.show", "plan_id"),
    "incident": ("incidents.show", "incident_id"),
    "project": ("projects.show", "project_id"),
}


def task_url(kind: str, task_id: int) -> str:
    endpoint, name = ENDPOINTS[kind]
    return url_for(endpoint, **{name: task_id})


@bp.get("/work")
@login_required
def my_work() -> str:
    db = db_session()
    tasks = work.all_tasks(db, current_calendar(db), china_day(now()))
    return render_template("work.html", tasks=work.work_for(viewer(), tasks), kinds=work.TASK_KINDS, task_url=task_url)  # type: ignore[arg-type]
