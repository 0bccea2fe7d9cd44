"""The HTTP layer: extensions, request helpers, error pages and the blueprints.

Views parse the request, check `authz.can` on the server, call one domain function, commit,
and render. Nothing here holds a rule of the catalog.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from flask import Flask, current_app, g, render_template, request, session, url_for
from flask_babel import Babel, get_locale, gettext
from flask_login import LoginManager
from markupsafe import escape
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from ..authz import Action, can
from ..errors import PortalError
from ..models import User
from ..release import CLEARANCES
from ..text import render_markdown
from ..vocab import Choice
from . import (
    adjustments_views, api_v1_views, audit_views, auth, bureau_views, catalog_views, ckan_views, competitions_views, harvest_views,
    incidents_views, keys_views, linked_data_views, manage, plans_views, projects_views, quota, realname_views, reports_views,
    requests_views, resources, reviews_views, showcases_views, supervision_views, work_views,
)
from .common import db_session, viewer

LOCALES = ("zh", "en")
CHINA = timezone(timedelta(hours=8))
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'"),
)


def select_locale() -> str:
    chosen = session.get("lang")
    if chosen in LOCALES:
        return chosen
    return request.accept_languages.best_match(LOCALES) or "zh"


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale)
    csrf = CSRFProtect(app)
    # The APIs authenticate writes by API key only (`api_keys.require_scope`), never by the
    # session cookie, so a forged cross-site request cannot write through them.
    csrf.exempt(ckan_views.bp)
    csrf.exempt(api_v1_views.bp)
    login = LoginManager(app)
    login.login_view = "auth.login"
    login.login_message = "请先登录"
    login.session_protection = "strong"

    @login.user_loader
    def load_user(user_id: str) -> User | None:
        user = db_session().get(User, int(user_id)) if user_id.isascii() and user_id.isdigit() else None
        return user if user is not None and user.is_active else None

    @app.teardown_appcontext
    def close_session(_exc: BaseException | None) -> None:
        db = g.pop("db", None)
        if db is not None:
            db.close()  # rolls back what was not committed (a rollback() first would only repeat it)

    @app.before_request
    def refuse_control_characters():  # type: ignore[no-untyped-def]
        """NUL can be stored by no database and typed by no user: refuse it before any view."""
        sources = [request.args] if request.query_string else []
        if request.mimetype in FORM_TYPES:  # the only bodies that `request.form` parses; others would only cost
            sources.append(request.form)
        for values in sources:
            if any("\x00" in value for value in values.values()):
                return _error_page(400, gettext("请求中含有不允许的控制字符（NUL），请检查后重新提交。"))
        return None

    @app.after_request
    def security_headers(response):  # type: ignore[no-untyped-def]
        """The headers of SECURITY_HEADERS that the view did not set itself."""
        headers = response.headers
        present = {name.lower() for name in headers.keys()}
        for name, value in SECURITY_HEADERS:
            if name.lower() not in present:
                headers.add(name, value)
        return response

    _register_errors(app)
    _register_template_helpers(app)
    app.register_blueprint(catalog_views.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(manage.bp)
    app.register_blueprint(resources.bp)
    app.register_blueprint(audit_views.bp)
    app.register_blueprint(requests_views.bp)
    app.register_blueprint(work_views.bp)
    app.register_blueprint(reports_views.bp)
    app.register_blueprint(adjustments_views.bp)
    app.register_blueprint(reviews_views.bp)
    app.register_blueprint(bureau_views.bp)
    app.register_blueprint(realname_views.bp)
    app.register_blueprint(keys_views.bp)
    app.register_blueprint(ckan_views.bp)
    app.register_blueprint(api_v1_views.bp)
    app.register_blueprint(linked_data_views.bp)
    app.register_blueprint(plans_views.bp)
    app.register_blueprint(competitions_views.bp)
    app.register_blueprint(showcases_views.bp)
    app.register_blueprint(harvest_views.bp)
    app.register_blueprint(supervision_views.bp)
    app.register_blueprint(incidents_views.bp)
    app.register_blueprint(projects_views.bp)
    quota.init_app(app)  # after the blueprints: counts API calls, dumps and downloads (429, X-RateLimit-*)


ERROR_TITLES = {
    400: "请求有误",
    401: "需要登录",
    403: "无权访问",
    404: "页面不存在",
    405: "不支持该请求方式",
    413: "上传的文件过大",
    429: "请求过于频繁",
    500: "服务器内部错误",
}


def _error_page(status: int, message: str = "") -> tuple[str, int]:
    title = gettext(ERROR_TITLES.get(status, "出错了"))
    try:
        return render_template("error.html", status=status, title=title, message=message), status
    except Exception:  # the page itself failed: still no traceback for the user
        current_app.logger.exception("error page failed")
        return f"<!doctype html><meta charset=utf-8><title>{status}</title><h1>{status} {escape(title)}</h1>", status


def _register_errors(app: Flask) -> None:
    @app.errorhandler(PortalError)
    def portal_error(error: PortalError):  # type: ignore[no-untyped-def]
        return _error_page(error.status, gettext(error.message))

    @app.errorhandler(CSRFError)
    def csrf_error(_error: CSRFError):  # type: ignore[no-untyped-def]
        return _error_page(400, gettext("表单已过期或来源无效，请返回刷新页面后重新提交。"))

    @app.errorhandler(413)
    def too_large(_error: Exception):  # type: ignore[no-untyped-def]
        limit = app.config["MAX_UPLOAD_MB"]
        return _error_page(413, gettext("上传内容超过大小上限（%(limit)s MB），没有保存任何内容。", limit=limit))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        return _error_page(error.code or 500)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):  # type: ignore[no-untyped-def]
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return _error_page(500, gettext("请稍后再试；如果问题持续存在，请联系区数据资源局。"))


def _register_template_helpers(app: Flask) -> None:
    app.add_template_filter(render_markdown, "markdown")  # safe Markdown of user text (`portal.text`)

    @app.template_filter("label")
    def label(value: Any) -> str:
        """The translated label of a vocabulary member."""
        if isinstance(value, Choice):
            return gettext(value.label)
        return "" if value is None else str(value)

    @app.template_filter("localtime")
    def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return value.astimezone(CHINA).strftime(fmt) if value else ""

    @app.template_filter("filesize")
    def filesize(size: int) -> str:
        for unit in ("B", "KB", "MB", "GB"):
            if size < 1024 or unit == "GB":
                return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
            size /= 1024
        return str(size)

    def catalog_url(**changes: Any) -> str:
        """The catalog list URL with the current query changed; None removes a parameter."""
        args = request.args.to_dict()
        for key, value in changes.items():
            if value is None:
                args.pop(key, None)
            else:
                args[key] = value
        return url_for("catalog.catalog_list", **args)

    @app.context_processor
    def helpers() -> dict[str, Any]:
        return {
            "can": lambda action, obj=None: can(viewer(), action, obj),
            "Action": Action,
            "viewer": viewer(),
            "catalog_url": catalog_url,
            "locale": str(get_locale() or "zh"),
            "clearance_label": lambda key: gettext(CLEARANCES[key]),
            # gettext without the %-formatting of Jinja's _(): for messages that may hold what a
            # user typed (a title, a code, a URL), which may contain a "%"
            "tr": gettext,
        }
