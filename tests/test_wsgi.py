"""The server's app (`portal.wsgi`): built from the environment only when asked for, with the
search analysis loaded and the start-up heap frozen out of the garbage collector's reach."""

from __future__ import annotations

import gc
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine


@pytest.fixture
def wsgi(engine: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    for name, value in {
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(tmp_path),
        "FILES_PATH": str(tmp_path / "files"),
        "SEARCH_PATH": str(tmp_path / "search"),
        "SECRET_KEY": "wsgi-test",
    }.items():
        monkeypatch.setenv(f"PORTAL_{name}", value)
    module = importlib.import_module("portal.wsgi")
    yield module
    built = module.__dict__.pop("app", None)
    gc.unfreeze()
    if built is not None:
        built.extensions["portal.engine"].dispose()


def test_importing_builds_nothing(wsgi: object) -> None:
    assert "app" not in vars(wsgi)


def test_the_app_serves_with_its_start_up_heap_frozen(wsgi: object) -> None:
    from portal.search import analysis

    gc.unfreeze()
    app = wsgi.app  # type: ignore[attr-defined]
    assert gc.get_freeze_count() > 0
    assert analysis._jieba is not None
    assert wsgi.app is app  # type: ignore[attr-defined]  # built once
    answer = app.test_client().get("/api/3/action/status_show")
    assert answer.status_code == 200 and answer.get_json()["success"] is True
