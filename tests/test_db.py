"""The migrations create exactly the schema the models declare, and upgrading is idempotent."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from portal.db import upgrade
from portal.models import Base


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
