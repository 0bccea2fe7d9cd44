"""API keys: shown once, stored as a hash, scopes by role, revocation, last use."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import api_keys
from portal.errors import Forbidden, Invalid, NotFound
from portal.models import ApiKey, AuditEvent

from .support import NOW, World


def test_a_key_is_stored_only_as_its_digest(session: Session, world: World) -> None:
    citizen = world.users["citizen"]
    row, key = api_keys.create_key(session, citizen, name="  分析脚本 ", scopes=[], now=NOW)
    session.commit()
    assert key.startswith(api_keys.PREFIX) and len(key) > 40
    assert row.name == "分析脚本" and row.scopes == ["read"] and row.prefix == key[:10]
    stored = session.scalar(select(ApiKey).where(ApiKey.id == row.id))
    assert stored is not None and stored.key_hash == api_keys.digest(key) and key not in stored.key_hash
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "key:create"))
    assert event is not None and key not in str(event.details) and key not in event.target


@pytest.mark.parametrize("name, allowed", [
    ("citizen", {"read"}), ("reviewer", {"read"}), ("auditor", {"read"}),
    ("editor_a", {"read", "write"}), ("provider_a", {"read", "write"}), ("admin_a", {"read", "write"}), ("bureau", {"read", "write"}),
])
def test_write_scope_only_for_department_staff_and_the_bureau(session: Session, world: World, name: str, allowed: set[str]) -> None:
    user = world.users[name]
    assert api_keys.allowed_scopes(user) == allowed
    if "write" in allowed:
        row, _key = api_keys.create_key(session, user, name="写入", scopes=["read", "write"], now=NOW)
        assert row.scopes == ["read", "write"]
    else:
        with pytest.raises(Invalid) as invalid:
            api_keys.create_key(session, user, name="写入", scopes=["write"], now=NOW)
        assert "scopes" in invalid.value.errors


def test_invalid_requests_for_keys(session: Session, world: World) -> None:
    citizen = world.users["citizen"]
    with pytest.raises(Invalid) as invalid:
        api_keys.create_key(session, citizen, name=" ", scopes=["admin"], now=NOW)
    assert set(invalid.value.errors) == {"name", "scopes"}
    for n in range(api_keys.MAX_KEYS):
        api_keys.create_key(session, citizen, name=f"k{n}", scopes=["read"], now=NOW)
    with pytest.raises(Invalid):
        api_keys.create_key(session, citizen, name="one too many", scopes=["read"], now=NOW)


def test_authenticate_revoke_and_last_use(session: Session, world: World) -> None:
    citizen, other = world.users["citizen"], world.users["editor_a"]
    row, key = api_keys.create_key(session, citizen, name="脚本", scopes=["read"], now=NOW)
    session.commit()
    for presented in (key, f"  {key} ", f"Bearer {key}"):
        found = api_keys.authenticate(session, presented, now=NOW)
        assert found is not None and found[0].id == citizen.id and found[1].id == row.id
    session.commit()
    session.refresh(row)
    assert row.last_used_at == NOW
    api_keys.authenticate(session, key, now=NOW + timedelta(seconds=30))  # within the minute: not written again
    session.commit()
    session.refresh(row)
    assert row.last_used_at == NOW
    for wrong in ("", "zk_", key[:-1] + ("A" if key[-1] != "A" else "B"), "not-a-key", "zk_" + "x" * 200):
        assert api_keys.authenticate(session, wrong, now=NOW) is None

    with pytest.raises(NotFound):
        api_keys.revoke_key(session, other, row.id, now=NOW)  # not theirs
    with pytest.raises(NotFound):
        api_keys.get_key(session, row.id, viewer=other)
    assert api_keys.get_key(session, row.id, viewer=world.users["bureau"]).id == row.id
    api_keys.revoke_key(session, citizen, row.id, now=NOW)
    api_keys.revoke_key(session, citizen, row.id, now=NOW + timedelta(hours=1))  # a second time changes nothing
    session.commit()
    assert row.revoked_at == NOW
    assert api_keys.authenticate(session, key, now=NOW) is None
    assert len(session.scalars(select(AuditEvent).where(AuditEvent.action == "key:revoke")).all()) == 1

    citizen.is_active = False
    _row2, key2 = api_keys.create_key(session, citizen, name="停用账户", scopes=["read"], now=NOW)
    session.commit()
    assert api_keys.authenticate(session, key2, now=NOW) is None


def test_require_scope(session: Session, world: World) -> None:
    read, _ = api_keys.create_key(session, world.users["editor_a"], name="r", scopes=["read"], now=NOW)
    write, _ = api_keys.create_key(session, world.users["editor_a"], name="w", scopes=["read", "write"], now=NOW)
    api_keys.require_scope(None, "read")
    api_keys.require_scope(write, "write")
    for key in (None, read):
        with pytest.raises(Forbidden):
            api_keys.require_scope(key, "write")
