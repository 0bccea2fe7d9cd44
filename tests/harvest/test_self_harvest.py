"""The portal harvests the portal: a first instance with the sample catalog is served on
loopback; a second instance (its own SQLite database, file store and search index) harvests it
through the first one's CKAN-compatible API as an anonymous client, trusting its open types,
and ends with the same open catalog, which its own search finds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from harvest.base import run_job
from harvest.fetch import Fetcher
from portal import create_app
from portal.authz import OPEN_CATALOG, Action, can
from portal.datapackages import load_departments
from portal.db import make_engine, upgrade
from portal.models import AuditEvent, Entry, EntryVersion, HarvestItem, HarvestSource
from portal.search.service import search_catalog
from portal.serving import released_files
from portal.vocab import EntryStatus

from ..support import NOW, ROOT
from .server import Clock

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
Row = tuple[str, str, str, str, str, int, tuple[str, ...]]


@pytest.fixture
def first_portal(sample_catalog: None, live_url: str) -> str:
    """The first portal with the sample catalog, served on loopback."""
    return live_url


@pytest.fixture
def second_portal(tmp_path: Path) -> Iterator[Flask]:
    """Another instance: its own database, files and search index."""
    folder = tmp_path / "second"
    url = f"sqlite:///{folder / 'portal.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    app = create_app({
        "DATABASE_URL": url, "INSTANCE_PATH": folder, "FILES_PATH": folder / "files", "SEARCH_BACKEND": "whoosh",
        "SEARCH_PATH": folder / "search", "SECRET_KEY": "second", "TESTING": True,
    })
    yield app
    app.extensions["portal.engine"].dispose()


def open_catalog(session: Session) -> set[Row]:
    """What the public gets: the open catalog's entries and the files it may download."""
    rows = set()
    for entry in session.scalars(select(Entry).where(Entry.status == EntryStatus.PUBLISHED, Entry.open_type.in_(OPEN_CATALOG))):
        files = tuple(sorted(f.name for f in released_files(None, entry))) if can(None, Action.DOWNLOAD, entry) else ()
        rows.add((entry.title, entry.department.name, entry.share_type.value, entry.open_type.value, entry.update_cycle.value, len(entry.items), files))
    return rows


def test_a_second_portal_harvests_the_first_into_the_same_open_catalog(session: Session, first_portal: str, second_portal: Flask) -> None:
    expected = open_catalog(session)
    assert len(expected) >= 8 and any(files for *_rest, files in expected)

    with second_portal.extensions["portal.sessions"]() as other:
        load_departments(other, ROOT / "datasets" / "departments.json", now=NOW)  # the same departments (matched by their codes)
        source = HarvestSource(
            name="zone-portal", title="经开区政务数据共享开放平台", kind="ckan", url=first_portal, allow_private=True,
            schedule="manual", settings={"trust_open_type": True, "trust_clearance": True}, active=True, created_at=NOW, updated_at=NOW,
        )
        other.add(source)
        other.commit()
        store, fetcher = second_portal.extensions["portal.files"], Fetcher(allow_private=True, retries=0, timeout=30)

        job = run_job(other, source, store=store, clock=Clock(NOW), fetcher=fetcher)
        problems = [(i.title, i.stage, i.error, i.details) for i in other.scalars(select(HarvestItem).where(HarvestItem.status == "failed"))]
        assert job.state == "finished" and problems == []
        assert job.added == len(expected)
        assert open_catalog(other) == expected

        air = other.scalar(select(Entry).where(Entry.slug == "air-quality-hourly"))
        first_air = session.scalar(select(Entry).where(Entry.slug == "air-quality-hourly"))
        assert air is not None and first_air is not None and air.resource_code == first_air.resource_code
        assert [i.name for i in air.items] == [i.name for i in first_air.items]
        page = search_catalog(other, second_portal.extensions["portal.search"], None, text="空气质量", filters={})
        assert "经开区空气质量小时监测数据" in [e.title for e in page.entries]

        trail = (other.scalar(select(func.count(EntryVersion.id))), other.scalar(select(func.count(AuditEvent.id))))
        again = run_job(other, source, store=store, clock=Clock(NOW), fetcher=fetcher, full=True)
        assert (again.state, again.unchanged, again.added + again.updated + again.failed) == ("finished", len(expected), 0)
        assert (other.scalar(select(func.count(EntryVersion.id))), other.scalar(select(func.count(AuditEvent.id)))) == trail
