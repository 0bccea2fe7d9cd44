"""The migrations create exactly the schema the models declare, and upgrading is idempotent."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlalchemy.orm import Session

from portal.db import compare_and_set, upgrade
from portal.models import Base, RealNameVerification
from portal.vocab import AccountKind

from .support import NOW, World


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        # The PostgreSQL search backend's table is derived data it creates itself, not schema.
        derived = lambda name, kind, _parent: not (kind == "table" and name.startswith("search_document"))  # noqa: E731
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": derived})
        assert compare_metadata(context, Base.metadata) == []


def test_upgrade_twice_changes_nothing(engine: Engine) -> None:
    before = sorted(inspect(engine).get_table_names())
    upgrade(engine)
    assert sorted(inspect(engine).get_table_names()) == before
    assert "alembic_version" in before


def test_compare_and_set_moves_a_row_once_and_bumps_its_version(session: Session, world: World) -> None:
    row = RealNameVerification(
        user_id=world.users["citizen"].id, kind=AccountKind.INDIVIDUAL, name="周明", state="pending", version=0, submitted_at=NOW,
    )
    session.add(row)
    session.commit()
    assert compare_and_set(session, row, where={"state": "pending"}, values={"state": "approved", "reason": "ok"})
    assert (row.state, row.version, row.reason) == ("approved", 1, "ok")  # read back from the row
    assert not compare_and_set(session, row, where={"state": "pending"}, values={"state": "rejected"})  # someone was first
    assert not compare_and_set(session, row, where={"state": "approved"}, values={"state": "rejected"}, version=0)  # a stale version
    assert (row.state, row.version) == ("approved", 1)
    with session.no_autoflush:
        row.name = "周  明"  # pending, not flushed: kept, not overwritten nor lost
        assert compare_and_set(session, row, where={"state": "approved"}, values={"state": "rejected"}, version=1)
    session.commit()
    session.expire_all()
    assert (row.state, row.version, row.name) == ("rejected", 2, "周  明")
