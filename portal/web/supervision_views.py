"""督查 (Art. 24), `/supervision`: each department's completeness and timeliness of data and its
answers on time, computed by `portal.supervision`. The Bureau and the auditor see every
department, department staff their own; everyone else is refused on the server."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import login_required

from .. import supervision
from ..calendars import current_calendar
from ..data_requests import china_day
from ..vocab import UpdateCycle
from .common import db_session, now, viewer

bp = Blueprint("supervision", __name__)


@bp.get("/supervision")
@login_required
def index() -> str:
    db = db_session()
    today = china_day(now())
    asked = request.args.get("year", "")
    year = int(asked) if asked.isascii() and asked.isdigit() and supervision.FIRST_YEAR <= int(asked[:5]) <= today.year else today.year
    records = supervision.department_records(db, viewer(), current_calendar(db), year=year, today=today)
    return render_template(
        "supervision.html", records=records, year=year, years=range(today.year, supervision.FIRST_YEAR - 1, -1), today=today,
        cycles={c.value: c.label for c in UpdateCycle}, stale_after=supervision.STALE_AFTER,
    )
