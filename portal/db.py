"""Engines, sessions and schema migrations.

The schema is owned by Alembic (`portal/migrations`); `upgrade` brings any database to the
newest revision in place, so an existing install keeps its data. Sessions never commit inside
domain functions: the caller (a request, a CLI command) owns the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from sqlalchemy import CursorResult, Engine, create_engine, event, inspect, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def make_sessionmaker(engine: Engine, **info: object) -> sessionmaker[Session]:
    """Sessions on `engine`; `info` is given to each (the search indexer uses it)."""
    return sessionmaker(bind=engine, expire_on_commit=False, info=dict(info))


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration."""
    if engine.url.get_backend_name() == "sqlite" and engine.url.database:
        Path(engine.url.database).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(engine), "head")


def compare_and_set(
    session: Session, obj: object, *, where: Mapping[str, object], values: Mapping[str, object], version: int | None = None,
) -> bool:
    """Optimistic transition of the persistent row `obj`: set `values` and bump `version` on the
    row, only if it still has the primary key of `obj`, the expected `where` values (e.g.
    `{"state": "pending"}`) and the expected version (`version`, by default the one `obj` holds).
    True when the row changed; False when someone else changed it first (or, on SQLite, another
    writer committed since this transaction began). Pending changes are flushed first, and `obj`
    is expired either way, so it next reads the row as the database has it. Callers decide what
    a False means (usually a `Conflict`)."""
    state = inspect(obj)
    if state.identity is None:
        raise ValueError(f"{obj!r} is not persistent")
    model = state.mapper.class_
    expected = getattr(obj, "version") if version is None else version
    conditions = [column == key for column, key in zip(state.mapper.primary_key, state.identity, strict=True)]
    conditions += [getattr(model, name) == value for name, value in where.items()]
    conditions.append(model.version == expected)
    try:
        session.flush()  # as autoflush would, also under `no_autoflush`: nothing pending overwrites the change
        result = session.execute(
            update(model).where(*conditions).values(**values, version=model.version + 1).execution_options(synchronize_session=False)
        )
        changed = cast(CursorResult[Any], result).rowcount
    except OperationalError:  # SQLite: another writer committed since this transaction began
        changed = 0
    session.expire(obj)
    return changed == 1
