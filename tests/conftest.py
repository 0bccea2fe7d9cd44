"""Real fixtures: a migrated database (SQLite by default, PostgreSQL when PORTAL_DATABASE_URL
says so), emptied after every test; an app and client per test with CSRF on; a small world
of departments, users of every role and entries of every share/open/status combination; the
sample catalog loaded into the app's own store; and the app served on a free local port."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from argon2 import PasswordHasher

from portal import accounts, create_app
from portal.datapackages import load_datasets
from portal.db import make_engine, make_sessionmaker, upgrade
from portal.models import Base

from .live import live_portal
from .support import NOW, ROOT, World, build_world


@pytest.fixture(autouse=True, scope="session")
def _cheap_argon2() -> Iterator[None]:
    """Argon2id with the smallest cost, so that the suite does not spend minutes hashing; the
    production parameters are argon2-cffi's defaults (RFC 9106 low-memory profile)."""
    original = accounts._hasher
    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    accounts._hasher = original


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return os.environ.get("PORTAL_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def _empty_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test that touched the database leaves it empty for the next."""
    yield
    if "engine" in request.fixturenames:
        engine: Engine = request.getfixturevalue("engine")
        with engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with make_sessionmaker(engine)() as session:
        yield session


@pytest.fixture
def app(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": tmp_path,
            "FILES_PATH": tmp_path / "files",
            "SECRET_KEY": "test-secret",
            "TESTING": True,
        }
    )
    yield app
    app.extensions["portal.engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def world(session: Session) -> World:
    return build_world(session)


@pytest.fixture
def sample_catalog(app: Flask, session: Session) -> None:
    """The repository's sample catalog (datasets/) loaded into the app's own store."""
    results = load_datasets(session, ROOT / "datasets", store=app.extensions["portal.files"], now=NOW)
    assert all(r.action == "created" for r in results)
    session.commit()


@pytest.fixture
def live_url(app: Flask) -> Iterator[str]:
    """The app served on a free port of 127.0.0.1 for the test: its base URL."""
    with live_portal(app) as url:
        yield url
