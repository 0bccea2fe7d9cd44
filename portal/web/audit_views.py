"""The auditor's pages: the audit trail filtered by time, actor, action and target, and the same
as CSV. Only the auditor may read them (`Action.READ_AUDIT`); each export is itself recorded."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import Any

from flask import Blueprint, Response, render_template, request
from flask_login import login_required

from .. import audit
from ..authz import Action
from .common import db_session, now, require, viewer

bp = Blueprint("audit", __name__)

PAGE = 100
CHINA = timezone(timedelta(hours=8))


def _filters() -> dict[str, Any]:
    """The filters from the query string; dates are China Standard Time days, inclusive."""
    def day(name: str) -> datetime | None:
        try:
            return datetime.combine(datetime.strptime(request.args.get(name, ""), "%Y-%m-%d").date(), time(), CHINA)
        except ValueError:
            return None

    start, end = day("start"), day("end")
    return {
        "start": start,
        "end": end + timedelta(days=1) if end else None,
        "actor": request.args.get("actor", "")[:100].strip(),
        "action": request.args.get("action", "") if request.args.get("action", "") in audit.ACTIONS else "",
        "target": request.args.get("target", "")[:100].strip(),
    }


@bp.get("/audit")
@login_required
def trail() -> str:
    require(Action.READ_AUDIT)
    page_text = request.args.get("page", "1")
    page = int(page_text) if page_text.isascii() and page_text.isdigit() and 0 < len(page_text) < 7 else 1
    events = audit.search_events(db_session(), **_filters(), limit=PAGE + 1, offset=(page - 1) * PAGE)
    return render_template(
        "audit/list.html", events=events[:PAGE], more=len(events) > PAGE, page=page, actions=audit.ACTIONS, args=request.args,
    )


@bp.get("/audit.csv")
@login_required
def export() -> Response:
    require(Action.READ_AUDIT)
    db = db_session()
    filters = _filters()
    events = audit.search_events(db, **filters)
    audit.record(db, action="audit:export", actor=viewer(), now=now(), target="audit.csv",
                 details={k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in filters.items() if v})
    db.commit()
    response = Response(audit.csv_rows(events), mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = "attachment; filename=audit.csv"
    return response
