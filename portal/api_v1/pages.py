"""Paging through the lists of `/api/v1`: opaque cursors, a page newest first, and the queries of
the requests, grants and reports the API lists. The queries only narrow the rows; the domain's
own predicate (`data_requests.may_see`) is still applied to each.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from .. import data_requests as dr
from ..errors import Invalid
from ..models import DataRequest, Entry, ErrorReport, Grant, User
from ..openapi import DEFAULT_LIMIT, MAX_ID
from ..vocab import DEPARTMENT_ROLES, Role


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The id a page continues after (rows with smaller ids); Invalid for a cursor not made here."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if (match := re.fullmatch(r"v1:(\d{1,10})", text)) and 1 <= int(match.group(1)) <= MAX_ID + 1:
        return int(match.group(1))
    raise Invalid({"cursor": "无效的分页游标：请使用上一页返回的 next_cursor"})


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    next_cursor: str | None


def paginate(
    session: Session, query: Select[Any], column: InstrumentedAttribute[int], *, cursor: str | None, limit: int = DEFAULT_LIMIT,
    keep: Callable[[Any], bool] | None = None,
) -> Page:
    """One page of `query`, newest (largest id) first, after `cursor`; rows failing `keep` are
    left out without shortening the page."""
    after = decode_cursor(cursor)
    found: list[Any] = []
    while len(found) <= limit:
        batch = query if after is None else query.where(column < after)
        rows = list(session.scalars(batch.order_by(column.desc()).limit(limit + 1)))
        found.extend(r for r in rows if keep is None or keep(r))
        if len(rows) <= limit:
            break
        after = rows[-1].id
    shown = found[:limit]
    return Page(shown, encode_cursor(shown[-1].id) if len(found) > limit and shown else None)


def requests_query(user: User, *, state: str | None = None, kind: str | None = None) -> Select[Any]:
    """The requests `user` is a party to or supervises, narrowed in SQL; `data_requests.may_see`
    is still applied to each row (`requests_page`)."""
    if user.role in (Role.BUREAU, Role.AUDITOR):
        clause: Any = true()
    elif user.role in (Role.PROVIDER, Role.DEPT_ADMIN) and user.department_id is not None:
        own_entries = select(Entry.id).where(Entry.department_id == user.department_id)
        clause = or_(DataRequest.requester_id == user.id, DataRequest.entry_id.in_(own_entries))
    else:
        clause = DataRequest.requester_id == user.id
    query = select(DataRequest).where(clause)
    if state:
        query = query.where(DataRequest.state == state)
    if kind:
        query = query.where(DataRequest.kind == kind)
    return query


def requests_page(session: Session, user: User, *, cursor: str | None, limit: int, state: str | None = None, kind: str | None = None) -> Page:
    return paginate(session, requests_query(user, state=state, kind=kind), DataRequest.id, cursor=cursor, limit=limit,
                    keep=lambda r: dr.may_see(user, r))


def grants_query(user: User, today: date) -> Select[Any]:
    """The grants in force today to `user` (open requests) or to `user`'s department (share
    requests), as `data_requests.active_grant` counts them."""
    to_user: Any = Grant.grantee_id == user.id
    if user.role in DEPARTMENT_ROLES and user.department_id is not None:
        to_user = or_(to_user, Grant.grantee_department_id == user.department_id)
    return (
        select(Grant).join(DataRequest, Grant.request_id == DataRequest.id)
        .where(to_user, DataRequest.state == "approved", Grant.expires_on >= today)
    )


def reports_query(entry: Entry) -> Select[Any]:
    return select(ErrorReport).where(ErrorReport.entry_id == entry.id)
