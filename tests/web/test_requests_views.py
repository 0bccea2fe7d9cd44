"""Share and open requests over HTTP, as the users would: a department asks, the provider
accepts and decides, a stale click answers 409, and each side finds its work on "my work"."""

from __future__ import annotations

from pathlib import Path

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


def test_data_is_served_under_the_grant_only(client: FlaskClient, world: World, session: Session, tmp_path: Path) -> None:
    import io
    import zipfile

    import frictionless
    from datetime import date, datetime, timezone

    from portal import data_requests as dr
    from portal.models import AuditEvent, Entry, User

    entry = world.entry(ShareType.CONDITIONAL, OpenType.CLOSED, EntryStatus.PUBLISHED)
    login(client, "provider_a")
    token = csrf_token(client, f"/catalog/{entry.slug}")
    client.post(f"/catalog/{entry.slug}/files", data={"csrf_token": token, "file": (io.BytesIO("station,aqi\r\n甲站,41\r\n".encode()), "a.csv")},
                content_type="multipart/form-data")
    _logout(client)
    session.expire_all()
    fresh = session.get(Entry, entry.id)
    assert fresh is not None
    file_id = fresh.files[0].id
    url = f"/catalog/{entry.slug}/data/{file_id}/csv"

    login(client, "editor_b")
    assert client.get(url).status_code == 403  # no grant yet
    requester, provider = session.get(User, world.users["editor_b"].id), session.get(User, world.users["provider_a"].id)
    assert requester is not None and provider is not None
    moment = datetime.now(timezone.utc)
    request = dr.submit(session, fresh, kind="share", requester=requester, purpose="核验站点", duty="监测职责", items=["station"], now=moment)
    dr.accept(session, request, actor=provider, now=moment)
    grant = dr.approve(session, request, actor=provider, now=moment, expires_on=date(2099, 1, 1))
    session.commit()
    page = client.get(f"/requests/{request.id}").get_data(as_text=True)
    assert "按授权获取数据" in page and grant.code in page
    with client.get(url) as response:
        assert response.status_code == 200
        assert response.data.decode("utf-8") == f"station,授权编号\r\n甲站,{grant.code}\r\n"  # only the granted item, stamped
        assert grant.code in response.headers["Content-Disposition"]
    assert client.get(f"/catalog/{entry.slug}/files/{file_id}/a.csv").status_code == 403  # no unstamped original
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "data:download").order_by(AuditEvent.id.desc())).first()
    assert event is not None and event.details["grant"] == grant.code and event.purpose == "核验站点"

    descriptor = client.get(f"/catalog/{entry.slug}/datapackage.json").get_json()  # the package too: granted items, stamped
    assert descriptor["grant"] == grant.code
    assert [f["name"] for f in descriptor["resources"][0]["schema"]["fields"]] == ["station", "授权编号"]
    with client.get(f"/catalog/{entry.slug}/package.zip") as response:
        assert response.status_code == 200 and grant.code in response.headers["Content-Disposition"]
        archive = zipfile.ZipFile(io.BytesIO(response.data))
        table = next(n for n in archive.namelist() if n.startswith("data/"))
        assert archive.read(table).decode("utf-8") == f"station,授权编号\r\n甲站,{grant.code}\r\n"
        archive.extractall(tmp_path)
    report = frictionless.Package(str(tmp_path / "datapackage.json")).validate()
    assert report.valid, report.flatten(["type", "note"])
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "data:download").order_by(AuditEvent.id.desc())).first()
    assert event is not None and event.details["grant"] == grant.code and "package" in event.details

    grant.expires_on = date(2020, 1, 1)  # expired: nothing more is served
    session.commit()
    assert client.get(url).status_code == 403
