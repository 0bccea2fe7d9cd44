"""The open-attribute review over HTTP: a department proposes an open type on the entry form, the
entry stays out of the open catalog (pages and search) until the reviewer approves with the
open-risk assessment, a stale second decision answers 409, and outsiders find nothing."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import catalog, open_review
from portal.models import Entry, OpenReview
from portal.vocab import EntryStatus

from ..support import NOW, World, csrf_token, entry_fields, login


def _logout(client: FlaskClient) -> None:
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


def _proposed(session: Session, world: World) -> tuple[Entry, OpenReview]:
    entry = catalog.create_entry(
        session, department=world.dept_a, fields=entry_fields(title="待审查的空气质量日报"), actor=world.users["editor_a"], now=NOW,
        status=EntryStatus.PUBLISHED,
    )
    session.commit()
    review = open_review.pending(session, entry)
    assert review is not None
    return entry, review


def test_open_only_after_review_with_the_assessment(client: FlaskClient, session: Session, world: World) -> None:
    entry, review = _proposed(session, world)
    assert client.get(f"/catalog/{entry.slug}").status_code == 404
    assert "待审查的空气质量日报" not in client.get("/catalog?q=空气质量日报").get_data(as_text=True)

    login(client, "editor_a")
    page = client.get(f"/catalog/{entry.slug}").get_data(as_text=True)
    assert "待政务公开机构审查" in page and f"/reviews/{review.id}" in page
    form = client.get(f"/catalog/{entry.slug}/edit").get_data(as_text=True)
    assert re.search(r'<option value="open" selected', form)  # the form shows what the department asked for
    assert client.get("/reviews").status_code == 403
    _logout(client)

    login(client, "reviewer")
    queue = client.get("/reviews").get_data(as_text=True)
    assert "待审查的空气质量日报" in queue
    assert "开放属性审查" in client.get("/work").get_data(as_text=True)
    url = f"/reviews/{review.id}"
    page = client.get(url).get_data(as_text=True)
    assert "开放风险评估" in page and "不涉及国家秘密" in page
    token = csrf_token(client, url)
    incomplete = client.post(f"{url}/approve", data={"csrf_token": token, "no_state_secrets": "yes", "conclusion": "可以开放"})
    assert incomplete.status_code == 400 and "开放风险评估未通过" in incomplete.get_data(as_text=True)
    answers = {key: "yes" for key in open_review.CHECKLIST}
    done = client.post(f"{url}/approve", data={"csrf_token": token, **answers, "conclusion": "经评估不涉及敏感信息，同意无条件开放"})
    assert done.status_code == 302
    again = client.post(f"{url}/approve", data={"csrf_token": token, **answers, "conclusion": "重复提交"})
    assert again.status_code == 409
    assert "经评估不涉及敏感信息" in client.get(url).get_data(as_text=True)
    _logout(client)

    assert client.get(f"/catalog/{entry.slug}").status_code == 200
    assert "待审查的空气质量日报" in client.get("/catalog?q=空气质量日报").get_data(as_text=True)


def test_who_may_see_and_decide(client: FlaskClient, session: Session, world: World) -> None:
    _entry, review = _proposed(session, world)
    url = f"/reviews/{review.id}"
    for user, status in (("citizen", 404), ("editor_b", 404), ("admin_a", 200), ("bureau", 200), ("auditor", 200)):
        login(client, user)
        assert client.get(url).status_code == status, user
        _logout(client)
    login(client, "bureau")
    answers = {key: "yes" for key in open_review.CHECKLIST}
    assert client.post(f"{url}/approve", data={"csrf_token": csrf_token(client, url), **answers, "conclusion": "同意开放"}).status_code == 403
    _logout(client)
    login(client, "reviewer")
    response = client.post(f"{url}/reject", data={"csrf_token": csrf_token(client, url), "conclusion": "涉及商业秘密，不予开放"})
    assert response.status_code == 302
    session.expire_all()
    assert session.scalars(select(OpenReview.state).where(OpenReview.id == review.id)).one() == "rejected"
