"""Share and open requests over HTTP, as the users would: a department asks, the provider
accepts and decides, a stale click answers 409, and each side finds its work on "my work"."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import DataRequest, Grant
from portal.vocab import EntryStatus, OpenType, ShareType

from ..support import World, csrf_token, login


def _logout(client: FlaskClient) -> None:
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


def test_a_share_request_from_form_to_grant(client: FlaskClient, world: World, session: Session) -> None:
    entry = world.entry(ShareType.CONDITIONAL, OpenType.CLOSED, EntryStatus.PUBLISHED)
    login(client, "editor_b")
    page = client.get(f"/catalog/{entry.slug}").get_data(as_text=True)
    assert "提出共享申请" in page
    form_url = f"/catalog/{entry.slug}/requests/new?kind=share"
    response = client.post(form_url, data={"csrf_token": csrf_token(client, form_url), "kind": "share", "purpose": "", "duty": ""})
    assert response.status_code == 400 and "请说明数据用途" in response.get_data(as_text=True)
    response = client.post(form_url, data={
        "csrf_token": csrf_token(client, form_url), "kind": "share", "items": ["station"],
        "purpose": "核验辖区空气质量数据", "duty": "《大气污染防治法》第五条", "period_from": "2026-10-01", "period_to": "2026-12-31",
    })
    assert response.status_code == 302
    url = response.headers["Location"]
    assert "待受理" in client.get(url).get_data(as_text=True)
    assert client.post(f"{url}/accept", data={"csrf_token": csrf_token(client, url)}).status_code == 403  # not the provider
    _logout(client)

    login(client, "provider_a")
    work = client.get("/work").get_data(as_text=True)
    assert entry.title in work and "受理" in work
    client.post(f"{url}/accept", data={"csrf_token": csrf_token(client, url)})
    page = client.get(url).get_data(as_text=True)
    assert "剩余" in page and "第十四条" in page
    stale = client.post(f"{url}/accept", data={"csrf_token": csrf_token(client, url)})
    assert stale.status_code == 409 and "不能受理" in stale.get_data(as_text=True)
    refused = client.post(f"{url}/refuse", data={"csrf_token": csrf_token(client, url), "reason": "", "basis": ""}, follow_redirects=True)
    assert "请说明不同意的理由" in refused.get_data(as_text=True)
    client.post(f"{url}/approve", data={"csrf_token": csrf_token(client, url), "items": ["station"], "expires_on": "2027-12-31", "scope": "仅限本局"})
    session.expire_all()
    request = session.scalars(select(DataRequest)).one()
    assert request.state == "approved"
    grant = session.scalars(select(Grant)).one()
    assert grant.items == ["station"] and grant.scope == "仅限本局"
    _logout(client)

    login(client, "citizen")
    assert client.get(url).status_code == 404  # a request is seen only by its parties, the Bureau and the auditor


def test_open_request_by_a_citizen(client: FlaskClient, world: World) -> None:
    entry = world.entry(ShareType.CONDITIONAL, OpenType.ON_APPLICATION, EntryStatus.PUBLISHED)
    login(client, "citizen")
    assert "提出开放申请" in client.get(f"/catalog/{entry.slug}").get_data(as_text=True)
    form_url = f"/catalog/{entry.slug}/requests/new?kind=open"
    response = client.post(form_url, data={"csrf_token": csrf_token(client, form_url), "kind": "open", "purpose": "学术研究使用"})
    assert response.status_code == 302
    assert "我的待办" in client.get("/work").get_data(as_text=True)
