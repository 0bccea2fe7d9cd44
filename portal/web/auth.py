"""Login, logout and public registration."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_login import login_required, login_user, logout_user

from .. import audit
from ..accounts import authenticate, register_public
from ..errors import Invalid, LoginFailed
from ..models import User
from ..vocab import N_, AccountKind
from .common import db_session, now, viewer

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only a local path is followed after login, never another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("catalog.home")


# What a visitor chose before signing in and keeps after it; everything else is dropped.
_KEPT_AT_LOGIN = ("lang",)


def _start_session(user: User) -> None:
    """A fresh session for the new login, against session fixation.

    The session is a signed cookie, so its value is the identifier: clearing it before
    `login_user` means that nothing planted in a cookie before the login (by another person
    on a shared computer, or by a forged link) carries into the signed-in session, and the
    cookie sent back is a new value. The CSRF token is rotated with it: its raw value lived in
    the old session, and the signed form of it cached for this request is dropped too."""
    kept = {key: session[key] for key in _KEPT_AT_LOGIN if key in session}
    session.clear()
    g.pop("csrf_token", None)
    session.update(kept)
    login_user(user)


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    error = ""
    if request.method == "POST":
        db = db_session()
        try:
            user = authenticate(
                db,
                login=request.form.get("login", "")[:254],
                password=request.form.get("password", "")[:1024],
                now=now(),
                max_failures=current_app.config["LOGIN_MAX_FAILURES"],
                lockout=timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"]),
            )
        except LoginFailed as failure:
            audit.record(db, action="auth:login-failed", actor=None, actor_name="匿名", now=now(),
                         target=request.form.get("login", "")[:100])
            db.commit()  # keep the failure count and its record
            error = gettext(failure.message)
        else:
            audit.record(db, action="auth:login", actor=user, now=now(), target=user.username)
            db.commit()
            _start_session(user)
            flash(gettext("欢迎，%(name)s", name=user.display_name))
            return redirect(_safe_next(request.args.get("next")))
    status = 401 if error else 200
    return render_template("auth/login.html", error=error, login=request.form.get("login", "")), status


@bp.post("/logout")
@login_required
def logout() -> Response:
    audit.record(db_session(), action="auth:logout", actor=viewer(), now=now(), target=viewer().username)  # type: ignore[union-attr]
    db_session().commit()
    logout_user()
    session.clear()
    flash(gettext("您已退出登录"))
    return redirect(url_for("catalog.home"))


@bp.route("/register", methods=["GET", "POST"])
def register() -> str | Response | tuple[str, int]:
    errors: dict[str, str] = {}
    form = request.form
    if request.method == "POST":
        db = db_session()
        try:
            kind = AccountKind.parse(form.get("kind", ""))
        except ValueError:
            kind = AccountKind.INDIVIDUAL
        try:
            if form.get("password", "") != form.get("password2", ""):
                raise Invalid({"password2": N_("两次输入的密码不一致")})
            user = register_public(
                db,
                email=form.get("email", "")[:254],
                password=form.get("password", "")[:1024],
                kind=kind,
                display_name=form.get("display_name", "")[:200],
                now=now(),
            )
        except Invalid as invalid:
            errors = invalid.errors
        else:
            db.commit()
            _start_session(user)
            flash(gettext("注册成功，欢迎使用经开区公共数据开放平台"))
            return redirect(url_for("catalog.home"))
    return render_template("auth/register.html", errors=errors, form=form, kinds=list(AccountKind)), 400 if errors else 200
