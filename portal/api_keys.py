"""API keys (Art. 23): created by their owner (or `portal keys create`), shown once, stored only
as their sha256, looked up by that digest and compared in constant time, revoked by the owner.
A key carries scopes: `read` for everyone, `write` only for department staff (whose writes go
through the same authorisation as the pages). The last time a key was used is recorded.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from . import audit
from .errors import Forbidden, Invalid, NotFound
from .models import ApiKey, User
from .vocab import DEPARTMENT_ROLES, N_, Role

PREFIX = "zk_"  # every key starts so, which makes a leaked one easy to recognise in a scan
SCOPES = {"read": N_("读取"), "write": N_("写入（仅部门）")}
MAX_KEYS = 20  # live keys per user
LAST_USED_EVERY = timedelta(minutes=1)  # `last_used_at` is written at most this often


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def allowed_scopes(user: User) -> set[str]:
    return {"read", "write"} if user.role in DEPARTMENT_ROLES or user.role == Role.BUREAU else {"read"}


def create_key(session: Session, user: User, *, name: str, scopes: list[str], now: datetime) -> tuple[ApiKey, str]:
    """A new key for `user`; returns the row and the key itself, which is never stored."""
    name = name.strip()[:100]
    errors = {}
    if not name:
        errors["name"] = "请为密钥命名，如“数据分析脚本”"
    wanted = sorted(set(scopes) or {"read"})
    if unknown := [s for s in wanted if s not in SCOPES]:
        errors["scopes"] = f"未知的权限范围：{'、'.join(unknown)}"
    elif not set(wanted) <= allowed_scopes(user):
        errors["scopes"] = "只有部门工作人员的密钥可以写入"
    live = session.scalars(select(ApiKey.id).where(ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None))).all()
    if len(live) >= MAX_KEYS:
        errors["name"] = f"每个账户最多保留 {MAX_KEYS} 个有效密钥，请先吊销不用的密钥"
    if errors:
        raise Invalid(errors)
    key = PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(user_id=user.id, name=name, prefix=key[:10], key_hash=digest(key), scopes=wanted, created_at=now)
    session.add(row)
    session.flush()
    audit.record(session, action="key:create", actor=user, now=now, target=f"{row.prefix}… {name}", details={"key": row.id, "scopes": wanted})
    return row, key


def keys_of(session: Session, user: User) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).where(ApiKey.user_id == user.id).order_by(ApiKey.id.desc())))


def get_key(session: Session, key_id: int, *, viewer: User) -> ApiKey:
    """One key, for its owner or the Bureau; NotFound for anyone else (which does not tell
    whether the key exists)."""
    row = session.get(ApiKey, key_id)
    if row is None or (row.user_id != viewer.id and viewer.role != Role.BUREAU):
        raise NotFound(N_("没有找到该密钥"))
    return row


def revoke_key(session: Session, user: User, key_id: int, *, now: datetime) -> ApiKey:
    """Revoke one of `user`'s keys (a second revocation changes nothing)."""
    row = session.get(ApiKey, key_id)
    if row is None or row.user_id != user.id:
        raise NotFound(N_("没有找到该密钥"))
    if row.revoked_at is None:
        row.revoked_at = now
        audit.record(session, action="key:revoke", actor=user, now=now, target=f"{row.prefix}… {row.name}", details={"key": row.id})
        session.flush()
    return row


def authenticate(session: Session, key: str, *, now: datetime) -> tuple[User, ApiKey] | None:
    """The user and key a presented key belongs to; None for an unknown, revoked or malformed key
    or an inactive user. The lookup is by digest, then compared with `hmac.compare_digest`.
    Records the time of use (at most once a minute); the caller commits."""
    key = key.strip()
    if key.lower().startswith("bearer "):
        key = key[7:].strip()
    if not key.startswith(PREFIX) or len(key) > 100:
        return None
    presented = digest(key)
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == presented))
    if row is None or not hmac.compare_digest(row.key_hash, presented) or row.revoked_at is not None:
        return None
    user = row.user
    if not user.is_active:
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:  # the caller commits
        session.execute(update(ApiKey).where(ApiKey.id == row.id).values(last_used_at=now).execution_options(synchronize_session=False))
    return user, row


def require_scope(key: ApiKey | None, scope: str) -> None:
    """Writes through the API need a key with the `write` scope (a signed-in browser session may
    read only)."""
    if scope == "read":
        return
    if key is None or scope not in key.scopes:
        raise Forbidden(N_("该操作需要具有写入权限的部门API密钥"))
