"""The download URLs the APIs hand out work with the API key alone, for reads only: a department's
key downloads another department's 无条件共享 data, an invalid key is refused, and a key never
authenticates a form post."""

from __future__ import annotations

import io

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from portal.api_keys import create_key
from portal.models import Entry
from portal.vocab import EntryStatus, OpenType, ShareType

from ..support import NOW, World, csrf_token, login


def test_a_key_downloads_what_its_owner_may(app: Flask, client: FlaskClient, world: World, session: Session) -> None:
    entry = world.entry(ShareType.UNCONDITIONAL, OpenType.CLOSED, EntryStatus.PUBLISHED)
    login(client, "provider_a")
    token = csrf_token(client, f"/catalog/{entry.slug}")
    client.post(f"/catalog/{entry.slug}/files", data={"csrf_token": token, "file": (io.BytesIO("station,aqi\r\n甲站,41\r\n".encode()), "a.csv")},
                content_type="multipart/form-data")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    session.expire_all()
    fresh = session.get(Entry, entry.id)
    assert fresh is not None
    url = f"/catalog/{entry.slug}/data/{fresh.files[0].id}/csv"
    _row, key = create_key(session, world.users["editor_b"], name="同步脚本", scopes=["read"], now=NOW)
    _row, citizen_key = create_key(session, world.users["citizen"], name="脚本", scopes=["read"], now=NOW)
    session.commit()

    client = app.test_client()  # an API client: no cookies
    assert client.get(url).status_code in (302, 401, 404)  # anonymous: not for the public
    assert client.get(url, headers={"X-API-Key": citizen_key}).status_code == 404
    for _ in range(2):  # a client that keeps cookies between calls (as ckanapi's does) too
        with client.get(url, headers={"Authorization": key}) as response:
            assert response.status_code == 200 and response.data.decode("utf-8") == "station,aqi\r\n甲站,41\r\n"
    assert client.get(url, headers={"X-API-Key": key + "x"}).status_code == 401
    # a key is no session: a form post with it alone is refused (no CSRF token, no login)
    refused = client.post(f"/catalog/{entry.slug}/requests/new?kind=share", headers={"X-API-Key": key}, data={"purpose": "核验站点数据"})
    assert refused.status_code in (302, 400, 401)
