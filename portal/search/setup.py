"""Opening the configured search: the backend of the SEARCH_BACKEND setting, its indexer, and
the repair run when the portal starts."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from ..db import make_sessionmaker
from . import Backend
from .service import Search
from .sync import Indexer

log = logging.getLogger(__name__)
BACKENDS = ("whoosh", "postgresql")


def open_backend(settings: dict[str, Any], engine: Engine) -> Backend:
    name = settings["SEARCH_BACKEND"]
    if name == "whoosh":
        from .whoosh_backend import WhooshBackend

        return WhooshBackend(Path(settings["SEARCH_PATH"]))
    if name == "postgresql":
        if engine.dialect.name != "postgresql":
            raise ValueError("PORTAL_SEARCH_BACKEND=postgresql 需要 PostgreSQL 数据库（PORTAL_DATABASE_URL）")
        from .pg_backend import PostgresBackend

        return PostgresBackend(engine)
    raise ValueError(f"未知的检索后端 PORTAL_SEARCH_BACKEND={name}；可选：{'、'.join(BACKENDS)}")


def open_search(settings: dict[str, Any], engine: Engine) -> Search:
    backend = open_backend(settings, engine)
    return Search(backend, Indexer(backend, make_sessionmaker(engine)), Path(settings["SEARCH_SYNONYMS"]))


def repair_on_start(search: Search) -> None:
    """Catch the index up with the database; an install whose schema is not created yet (before
    `portal init`) is left alone."""
    try:
        outcome = search.indexer.repair()
    except DBAPIError:
        log.info("search repair skipped: the database schema is not ready")
        return
    if outcome != "ok":
        log.warning("search index repaired on start: %s", outcome)
