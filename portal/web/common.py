"""Request-scoped helpers shared by the views: the database session, the viewer, the clock, and
the edge of the request's transaction (commit, or roll back on bad input)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypeVar

from flask import abort, current_app, flash, g, redirect, request
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy.orm import Session

from ..audit import RequestFacts, record_apart
from ..authz import Action, can
from ..errors import Forbidden, Invalid, NotFound
from ..files import FileStore
from ..models import User
from ..vocab import N_

T = TypeVar("T")


def db_session() -> Session:
    if "db" not in g:
        g.db = current_app.extensions["portal.sessions"]()
        g.db.info["audit"] = request_facts()
    return g.db


def request_facts() -> RequestFacts:
    return RequestFacts(ip=request.remote_addr or "")


def file_store() -> FileStore:
    return current_app.extensions["portal.files"]


SAFE_METHODS = frozenset({"GET", "HEAD"})


def viewer() -> User | None:
    """The signed-in user, or None for an anonymous visitor. A read (GET, HEAD) may carry an API
    key instead of a session — the download URLs the APIs hand out are fetched so — and then the
    key's owner is the viewer; a write never authenticates by key here (forms need the session
    and its CSRF token)."""
    if request.method in SAFE_METHODS and (request.headers.get("X-API-Key") or request.headers.get("Authorization")):
        from .api_common import caller  # api_common builds on this module

        return caller().user
    return current_user._get_current_object() if current_user.is_authenticated else None


def now() -> datetime:
    return datetime.now(timezone.utc)


def require(action: Action, obj: Any = None) -> None:
    """Stop the request unless the viewer may do `action`: 404 for what the viewer may not even
    see, 403 for the rest (login first when anonymous)."""
    user = viewer()
    if can(user, action, obj):
        return
    target = f"{getattr(obj, 'resource_code', '')} {getattr(obj, 'title', '') or getattr(obj, 'name', '')}".strip()
    record_apart(
        current_app.extensions["portal.sessions"], action="authz:denied", actor=user, now=now(), target=target,
        details={"action": str(action), "path": request.path}, facts=request_facts(),
    )
    if obj is not None and action != Action.CREATE_ENTRY and not can(user, Action.VIEW_ENTRY, obj):
        raise NotFound(N_("没有找到该数据资源，或您无权查看"))
    if user is None:
        abort(current_app.login_manager.unauthorized())  # type: ignore[attr-defined]
    raise Forbidden(N_("您没有执行此操作的权限"))


def commit_or_flash(act: Callable[[], object], done: str) -> bool:
    """A button's POST: call `act` (domain functions on `db_session()`), commit and flash `done`.
    When it raises Invalid (a missing reason, an empty plan), roll back — nothing is saved — and
    flash its message as an error instead. Returns whether it was saved; a Conflict (409) and
    the other errors pass through."""
    db = db_session()
    try:
        act()
    except Invalid as invalid:
        db.rollback()
        flash(gettext(invalid.message), "error")
        return False
    db.commit()
    flash(done)
    return True


def commit_or_redisplay(act: Callable[[], T], *, done: str, then: Callable[[T], str], again: Callable[[Invalid], Any]) -> Any:
    """A form's POST: call `act` (domain functions on `db_session()`), commit, flash `done` and
    redirect to `then(result)`. When it raises Invalid, roll back and answer `again(invalid)`:
    the form once more, with the field errors (400)."""
    db = db_session()
    try:
        result = act()
    except Invalid as invalid:
        db.rollback()
        return again(invalid)
    db.commit()
    flash(done)
    return redirect(then(result))
