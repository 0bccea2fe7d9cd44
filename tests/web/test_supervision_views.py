"""督查 over HTTP (Art. 24): the Bureau sees every department's row and the stale entries with
links; department staff only their own; the public is refused on the server, not only by a
hidden link."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from portal.vocab import EntryStatus, OpenType, ShareType

from ..support import World, login
from .test_api_v1 import error_of, make_key


def test_the_bureau_sees_every_department_and_what_is_stale(client: FlaskClient, session: Session, world: World) -> None:
    stale = world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.PUBLISHED)
    stale.data_updated_at = datetime.now(timezone.utc) - timedelta(days=5)  # a daily entry
    session.commit()
    login(client, "bureau")
    assert 'href="/supervision"' in client.get("/bureau").get_data(as_text=True)
    page = client.get("/supervision").get_data(as_text=True)
    assert "甲局" in page and "乙局" in page
    section = page[page.index(f'id="dept-{world.dept_a.id}"'):]
    assert f'href="/catalog/{stale.slug}"' in section and "每日" in section and "已超过 4 天" in section
    assert client.get("/supervision?year=abc").status_code == client.get("/supervision?year=1999").status_code == 200


def test_department_staff_see_their_own_department(client: FlaskClient, world: World) -> None:
    login(client, "admin_b")
    page = client.get("/supervision").get_data(as_text=True)
    assert 'href="/supervision"' in page and "乙局" in page and "甲局" not in page


@pytest.mark.parametrize("user", ["citizen", "reviewer"])
def test_others_are_refused_on_the_server(client: FlaskClient, world: World, user: str) -> None:
    login(client, user)
    assert 'href="/supervision"' not in client.get("/").get_data(as_text=True)
    assert client.get("/supervision").status_code == 403


def test_anonymous_visitors_are_sent_to_login(client: FlaskClient) -> None:
    response = client.get("/supervision")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_same_figures_over_the_rest_api(client: FlaskClient, session: Session, world: World) -> None:
    stale = world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.PUBLISHED)
    stale.data_updated_at = datetime.now(timezone.utc) - timedelta(days=5)
    session.commit()
    answer = client.get("/api/v1/supervision", headers=make_key(session, world, "bureau"))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["year"] == datetime.now(timezone.utc).astimezone(timezone(timedelta(hours=8))).year
    rows = {row["department"]: row for row in body["items"]}
    assert set(rows) == {"甲局", "乙局"} and rows["甲局"]["department_code"] == world.dept_a.code
    assert [(s["entry"]["slug"], s["update_cycle"], s["days_late"]) for s in rows["甲局"]["stale"]] == [(stale.slug, "每日", 4)]
    assert rows["甲局"]["requests"] == {"answered": 0, "on_time": 0, "rate": None}
    own = client.get("/api/v1/supervision?year=2030", headers=make_key(session, world, "admin_b")).get_json()
    assert [row["department"] for row in own["items"]] == ["乙局"] and own["year"] == body["year"]  # a later year: this one
    error_of(client.get("/api/v1/supervision", headers=make_key(session, world, "citizen", ("read",))), 403, "forbidden")
    error_of(client.get("/api/v1/supervision"), 401, "unauthorized")
    error_of(client.get("/api/v1/supervision?year=2019", headers=make_key(session, world, "bureau")), 400, "bad_request")
