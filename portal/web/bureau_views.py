"""The Bureau's settings pages and everyone's notifications.

- /bureau/clocks: every clock kind with its limit, counting rule and article; the Bureau chooses
  the counting rule of the clocks whose article says 日 (`calendars.set_clock_rule`).
- /bureau/calendar: the years whose official days off and make-up days are loaded, which of
  this year and the next are provisional, and a form to load a year's JSON file (uploaded or
  pasted), as `portal calendar load` does.
- /notifications: the viewer's notices from `portal tick`, newest first; "mark all read".
Only a Bureau administrator opens the Bureau's pages, checked here on the server.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, flash, has_request_context, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import login_required

from .. import calendars, notifications
from ..audit import record_apart
from ..data_requests import china_day
from ..errors import Forbidden, Invalid
from ..models import User
from ..vocab import N_, Role
from ..workdays import RULES, CalendarFileError, parse_year_file
from .common import db_session, now, request_facts, viewer
from .work_views import task_url

bp = Blueprint("bureau", __name__)

MAX_YEAR_FILE = 256 * 1024  # a year's notice is a few kilobytes
SOURCE_LENGTH = 300  # CalendarYear.source


def _bureau_only() -> User:
    """The viewer, when a Bureau administrator; otherwise recorded and refused (403)."""
    user = viewer()
    if user is not None and user.role == Role.BUREAU:
        return user
    record_apart(
        current_app.extensions["portal.sessions"], action="authz:denied", actor=user, now=now(), target=request.path,
        details={"action": "bureau:settings", "path": request.path}, facts=request_facts(),
    )
    raise Forbidden(N_("只有区数据资源局管理员可以使用此页面"))


# -- clock counting rules ------------------------------------------------------------------


def _clocks_page(errors: dict[str, str] | None = None) -> tuple[str, int]:
    db = db_session()
    return render_template(
        "bureau/clocks.html", kinds=calendars.clock_kinds(db), configurable=calendars.CONFIGURABLE,
        changes=calendars.rule_changes(db), rules=RULES, errors=errors or {},
    ), 400 if errors else 200


@bp.get("/bureau")
@login_required
def index() -> str:
    """The Bureau's administration pages, on one page rather than in the main navigation."""
    _bureau_only()
    return render_template("bureau/index.html")


@bp.get("/bureau/clocks")
@login_required
def clocks() -> tuple[str, int]:
    _bureau_only()
    return _clocks_page()


@bp.post("/bureau/clocks")
@login_required
def set_clock_rule() -> Any:
    user = _bureau_only()
    db = db_session()
    key, rule = request.form.get("kind", "")[:30], request.form.get("rule", "")[:30]
    try:
        changed = calendars.set_clock_rule(db, key, rule, actor=user, now=now())
    except Invalid as invalid:
        db.rollback()
        return _clocks_page(invalid.errors)
    db.commit()
    if changed:
        kind = calendars.clock_kind(db, key)
        flash(gettext("%(label)s今后按%(rule)s计算；已受理的申请仍按受理时的方式计算。", label=gettext(kind.label), rule=gettext(RULES[rule])))
    else:
        flash(gettext("计算方式未改变。"))
    return redirect(url_for("bureau.clocks"))


# -- the calendar --------------------------------------------------------------------------


def _calendar_page(error: str = "", text: str = "") -> tuple[str, int]:
    db = db_session()
    calendar = calendars.current_calendar(db)
    this_year = china_day(now()).year
    years = [
        {"year": y, "provisional": calendar.is_provisional(y), "source": calendar.source(y)}
        for y in (this_year, this_year + 1)
    ]
    return render_template(
        "bureau/calendar.html", loaded=calendars.loaded_years(db), years=years, error=error, text=text,
    ), 400 if error else 200


@bp.get("/bureau/calendar")
@login_required
def calendar() -> tuple[str, int]:
    _bureau_only()
    return _calendar_page()


def _posted_text() -> str:
    """The year file: the uploaded file when one was chosen, else the pasted text."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        data = upload.stream.read(MAX_YEAR_FILE + 1)
        if len(data) > MAX_YEAR_FILE:
            raise CalendarFileError([f"文件超过 {MAX_YEAR_FILE // 1024} KB，不像是一个年度的节假日安排"])
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise CalendarFileError(["文件不是 UTF-8 编码的 JSON"]) from None
    return request.form.get("text", "")[:MAX_YEAR_FILE]


@bp.post("/bureau/calendar")
@login_required
def load_calendar() -> Any:
    user = _bureau_only()
    db = db_session()
    pasted = request.form.get("text", "")[:MAX_YEAR_FILE]
    try:
        text = _posted_text()
        if not text.strip():
            raise CalendarFileError(["请上传年度节假日安排文件，或把其内容粘贴到文本框中"])
        official = parse_year_file(text)
        if len(official.source) > SOURCE_LENGTH:
            raise CalendarFileError([f"source 不能超过 {SOURCE_LENGTH} 个字"])
    except CalendarFileError as error:
        return _calendar_page(error.message, pasted)
    changed = calendars.load_year(db, official, actor=user, now=now())
    db.commit()
    if changed:
        flash(gettext("已载入 %(year)d 年的节假日安排（%(source)s）。", year=official.year, source=official.source))
    else:
        flash(gettext("%(year)d 年的节假日安排已是该内容，未作改动。", year=official.year))
    return redirect(url_for("bureau.calendar"))


# -- notifications -------------------------------------------------------------------------


@bp.get("/notifications")
@login_required
def notices() -> str:
    user = viewer()
    assert user is not None
    return render_template(
        "bureau/notifications.html", notices=notifications.notices_of(db_session(), user), task_url=task_url,
    )


@bp.post("/notifications/read")
@login_required
def mark_read() -> Response:
    user = viewer()
    assert user is not None
    db = db_session()
    notifications.mark_all_read(db, user, now=now())
    db.commit()
    return redirect(url_for("bureau.notices"))  # type: ignore[return-value]


@bp.app_context_processor
def unread() -> dict[str, Any]:
    """`unread_notifications`: the viewer's unread notices, for the badge in the navigation."""
    user = viewer() if has_request_context() else None
    return {"unread_notifications": notifications.unread_count(db_session(), user) if user is not None else 0}
