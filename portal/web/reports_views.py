"""Error reports (数据校核) over HTTP: the report form of an entry (open to anonymous visitors),
the report page with its clock and the provider's answer form, and the list of reports and
answers on the entry page (the `catalog/_reports.html` partial, through `entry_reports`). Each
view calls one function of `error_reports`, which checks who may do what and answers 409 to a
stale click."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import login_required

from .. import browse
from .. import error_reports as er
from ..calendars import current_calendar
from ..errors import Invalid
from ..models import Entry, ErrorReport
from ..serving import released_files
from ..workdays import Calendar, ClockState
from .common import db_session, now, viewer

bp = Blueprint("reports", __name__)


def _calendar() -> Calendar:
    if "report_calendar" not in g:
        g.report_calendar = current_calendar(db_session())
    return g.report_calendar


def _report_clock(report: ErrorReport) -> ClockState | None:
    return er.clock(_calendar(), report, er.china_day(now()))


@bp.app_context_processor
def report_helpers() -> dict[str, Any]:
    """What the entry page's partial needs: the entry's reports (public wherever the entry is
    visible), the clock of each, and their labels."""
    return {
        "entry_reports": lambda entry: er.reports_of_entry(db_session(), entry),
        "report_clock": _report_clock,
        "report_states": er.STATES,
        "report_subjects": er.SUBJECTS,
    }


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isascii() and value.isdigit() and len(value) < 10 else None


def _new_form(entry: Entry, form: Any, errors: dict[str, str], status: int = 200) -> tuple[str, int]:
    files = released_files(viewer(), entry)
    return render_template("reports/new.html", entry=entry, files=files, form=form, errors=errors, subjects=er.SUBJECTS), status


@bp.get("/catalog/<slug>/reports/new")
def new_report(slug: str) -> tuple[str, int]:
    entry = browse.get_entry(db_session(), slug, viewer())
    user = viewer()
    defaults = {"subject": request.args.get("subject", "metadata"), "reporter_name": user.display_name if user else ""}
    if file_id := _int(request.args.get("file_id")):
        defaults |= {"subject": "data", "file_id": str(file_id)}
    return _new_form(entry, defaults, {})


@bp.post("/catalog/<slug>/reports")
def submit(slug: str) -> Any:
    db = db_session()
    entry = browse.get_entry(db, slug, viewer())
    form = request.form
    try:
        report = er.submit(
            db, entry, reporter=viewer(), subject=form.get("subject", ""), description=form.get("description", "")[:10000],
            reporter_name=form.get("reporter_name", "")[:1000], contact=form.get("contact", "")[:1000],
            file_id=_int(form.get("file_id")), location=form.get("location", "")[:1000], now=now(),
        )
    except Invalid as invalid:
        db.rollback()
        return _new_form(entry, form, invalid.errors, 400)
    db.commit()
    flash(gettext("已收到您的校核信息，提供部门将自收到之日起5个工作日内答复"))
    return redirect(url_for("reports.show", report_id=report.id))


def _show(report: ErrorReport, *, errors: dict[str, str] | None = None, form: Any = None, status: int = 200) -> tuple[str, int]:
    db = db_session()
    user = viewer()
    calendar = _calendar()
    answerable = report.state == "received" and er.may_answer(user, report)
    return render_template(
        "reports/show.html", report=report, clock=er.clock(calendar, report, er.china_day(now())),
        in_time=er.answered_in_time(calendar, report), correction=er.corrected_by(db, report),
        versions=er.correction_versions(db, report) if answerable else [], answerable=answerable,
        provider_view=er.may_answer(user, report), states=er.STATES, subjects=er.SUBJECTS,
        errors=errors or {}, form=form or {},
    ), status


@bp.get("/reports/<int:report_id>")
def show(report_id: int) -> tuple[str, int]:
    return _show(er.get_report(db_session(), report_id, viewer()))


@bp.post("/reports/<int:report_id>/answer")
@login_required
def answer(report_id: int) -> Any:
    db = db_session()
    report = er.get_report(db, report_id, viewer())
    form = request.form
    try:
        er.answer(
            db, report, actor=viewer(), now=now(), outcome=form.get("outcome", ""),  # type: ignore[arg-type]
            text=form.get("answer", "")[:10000], corrected_version=_int(form.get("corrected_version")),
        )
    except Invalid as invalid:
        db.rollback()
        return _show(report, errors=invalid.errors, form=form, status=400)
    db.commit()
    flash(gettext("已答复该校核，答复已在数据资源页面公开"))
    return redirect(url_for("reports.show", report_id=report_id))
