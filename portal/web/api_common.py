"""What every API view needs: who is calling (an API key in `Authorization`, as CKAN clients
send it, or in `X-API-Key`; else the signed-in browser session; else anonymous), once per
request. Quotas (`web.quota`) and the API blueprints ask here, never the headers themselves."""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, request
from flask_login import current_user

from .. import api_keys
from ..models import ApiKey, User
from .common import db_session, now


@dataclass(frozen=True)
class Caller:
    user: User | None
    key: ApiKey | None
    invalid_key: bool = False  # a key was presented but is unknown, revoked or malformed


def presented_key() -> str:
    return (request.headers.get("X-API-Key") or request.headers.get("Authorization") or "").strip()


def caller() -> Caller:
    """The caller of this request (computed once)."""
    if "api_caller" not in g:
        key = presented_key()
        if key:
            db = db_session()
            found = api_keys.authenticate(db, key, now=now())
            db.commit()
            g.api_caller = Caller(found[0], found[1]) if found else Caller(None, None, invalid_key=True)
        elif current_user.is_authenticated:
            g.api_caller = Caller(current_user._get_current_object(), None)
        else:
            g.api_caller = Caller(None, None)
    return g.api_caller
