"""合肥经开区政务数据共享开放平台: `create_app` is the only place where the parts are wired."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    # Imported here, not at the top, so that importing one domain module (for example in the
    # survey's child process, `python -m portal.survey`) does not load the whole web stack.
    from flask import Flask

    from .config import load_settings, secret_key
    from .db import make_engine, make_sessionmaker
    from .files import FileStore
    from .realname_numbers import make_cipher, personal_data_key
    from .search.setup import open_search, repair_on_start

    settings = load_settings(overrides=test_config)
    instance = Path(settings["INSTANCE_PATH"])
    app = Flask(__name__, instance_path=str(instance), instance_relative_config=True)
    app.config.update(settings)
    app.config.update(
        SECRET_KEY=settings.get("SECRET_KEY") or secret_key(instance),
        MAX_CONTENT_LENGTH=int(settings["MAX_UPLOAD_MB"]) * (1 << 20),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings["SECURE_COOKIES"],
        REMEMBER_COOKIE_SECURE=settings["SECURE_COOKIES"],
        PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
        BABEL_DEFAULT_LOCALE=settings["DEFAULT_LOCALE"],
        BABEL_DEFAULT_TIMEZONE="Asia/Shanghai",
        PERSONAL_DATA_KEY=settings.get("PERSONAL_DATA_KEY") or personal_data_key(instance),
    )
    # ID numbers and phones of real-name verification are encrypted with it (a bad key stops here).
    app.extensions["portal.personal_data"] = make_cipher(app.config["PERSONAL_DATA_KEY"])
    engine = make_engine(settings["DATABASE_URL"])
    search = open_search(settings, engine)
    app.extensions["portal.engine"] = engine
    app.extensions["portal.search"] = search
    # Sessions of requests and commands update the search index after each commit.
    app.extensions["portal.sessions"] = make_sessionmaker(engine, indexer=search.indexer)
    app.extensions["portal.files"] = store = FileStore(Path(settings["FILES_PATH"]))
    store.sweep()  # temporaries of uploads a crash interrupted (older than an hour)
    repair_on_start(search)

    from . import web

    web.init_app(app)
    return app
