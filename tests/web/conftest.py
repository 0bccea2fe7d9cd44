"""Fixtures of the HTTP tests: the sample catalog loaded into the app's own store."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from portal.datapackages import load_datasets

from ..support import NOW, ROOT


@pytest.fixture
def sample_catalog(app: Flask, session: Session) -> None:
    results = load_datasets(session, ROOT / "datasets", store=app.extensions["portal.files"], now=NOW)
    assert all(r.action == "created" for r in results)
    session.commit()
