"""Linked data over HTTP: the DCAT catalog and entries (parsed with rdflib, paged by following
Hydra links), the schema.org block of entry pages, the sitemap (parsed as XML) and the change
feed (for verified users and departments only), each computed for the caller."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
from flask.testing import FlaskClient
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.api_keys import create_key
from portal.authz import Action, can
from portal.browse import visible_clause
from portal.catalog import create_entry, update_entry, withdraw_entry
from portal.models import Entry, RealNameVerification
from portal.vocab import AccountKind, EntryStatus, OpenType, ShareType

from ..support import NOW, World, entry_fields, login, reviewed

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
SCHEMA = Namespace("https://schema.org/")
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
FORMATS = {"jsonld": ("json-ld", "application/ld+json"), "ttl": ("turtle", "text/turtle")}


def rdf(client: FlaskClient, url: str, fmt: str, **kwargs: object) -> Graph:
    response = client.get(url, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == FORMATS[fmt][1]
    return Graph().parse(data=response.get_data(as_text=True), format=FORMATS[fmt][0])


def local(url: object) -> str:
    """The path and query of an absolute URL, to request it from the test client."""
    parts = urlsplit(str(url))
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def open_catalog(session: Session) -> list[Entry]:
    return list(session.scalars(select(Entry).where(visible_clause(None)).order_by(Entry.id)))


@pytest.mark.parametrize("fmt", FORMATS)
def test_following_next_links_reads_the_whole_open_catalog(client: FlaskClient, sample_catalog: None, session: Session, fmt: str) -> None:
    expected = open_catalog(session)
    assert len(expected) > 3
    url: str | None = f"/catalog.{fmt}?page_size=3"
    seen: list[str] = []
    pages = 0
    while url:
        graph = rdf(client, url, fmt)
        catalog = next(graph.subjects(RDF.type, DCAT.Catalog))
        view = graph.value(catalog, HYDRA.view)
        assert (view, RDF.type, HYDRA.PartialCollectionView) in graph
        assert graph.value(catalog, HYDRA.totalItems).toPython() == len(expected)  # type: ignore[union-attr]
        found = [str(graph.value(d, DCTERMS.identifier)) for d in graph.objects(catalog, DCAT.dataset)]
        assert 1 <= len(found) <= 3
        seen += found
        for d in graph.objects(catalog, DCAT.dataset):
            title = graph.value(d, DCTERMS.title)
            assert isinstance(title, Literal) and title.language == "zh"
        pages += 1
        following = graph.value(view, HYDRA.next)
        url = local(following) if following else None
        if url:
            assert "page_size=3" in url
        else:
            assert graph.value(view, HYDRA.last) == view
    assert pages == -(-len(expected) // 3)
    assert sorted(seen) == sorted(e.resource_code for e in expected)


def test_modified_since_over_http(client: FlaskClient, world: World, session: Session) -> None:
    entry = world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.PUBLISHED)
    update_entry(session, entry, entry_fields(title="新近修改", open_type=OpenType.OPEN), actor=None, now=NOW + timedelta(hours=3))
    session.commit()
    graph = rdf(client, "/catalog.ttl?modified_since=2026-11-25T19:00:00%2B08:00", "ttl")  # NOW + 1h 30min
    assert {str(o) for o in graph.objects(None, DCTERMS.title)} >= {"新近修改"}
    assert len(list(graph.subjects(RDF.type, DCAT.Dataset))) == 1
    view = next(graph.objects(None, HYDRA.view))
    assert "modified_since=" in str(graph.value(view, HYDRA.first))
    assert client.get("/catalog.jsonld?modified_since=yesterday").status_code == 400


@pytest.mark.parametrize("username", [None, "citizen", "editor_b", "reviewer", "bureau"])
def test_hidden_entries_never_appear(client: FlaskClient, world: World, username: str | None) -> None:
    if username:
        login(client, username)
    user = world.users[username] if username else None
    graph = rdf(client, "/catalog.jsonld?page_size=100", "jsonld")
    titles = {str(o) for d in graph.subjects(RDF.type, DCAT.Dataset) for o in graph.objects(d, DCTERMS.title)}
    assert titles == {e.title for e in world.entries if can(user, Action.VIEW_ENTRY, e)}
    for entry in world.entries:
        for fmt in FORMATS:
            response = client.get(f"/catalog/{entry.slug}.{fmt}")
            assert response.status_code == (200 if can(user, Action.VIEW_ENTRY, entry) else 404)
            if response.status_code == 404:
                assert entry.title not in response.get_data(as_text=True)


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_entry_document(client: FlaskClient, sample_catalog: None, session: Session, fmt: str) -> None:
    entry = session.scalar(select(Entry).where(Entry.slug == "air-quality-hourly"))
    assert entry is not None
    graph = rdf(client, f"/catalog/air-quality-hourly.{fmt}", fmt)
    dataset = URIRef("http://localhost/catalog/air-quality-hourly#dataset")
    assert graph.value(dataset, DCTERMS.title) == Literal(entry.title, lang="zh")
    assert graph.value(dataset, DCTERMS.identifier) == Literal(entry.resource_code)
    downloads = {local(o) for o in graph.objects(None, DCAT.downloadURL)}
    pages = {local(o) for o in graph.objects(None, DCAT.accessURL)} | {local(graph.value(dataset, DCAT.landingPage))}
    assert downloads and pages
    for path in downloads | pages:
        with client.get(path) as response:  # a download streams from a file: read it all and close it
            response.get_data()
        assert response.status_code == 200, path
    vocabulary = Graph().parse(data=client.get("/ns").get_data(as_text=True), format="turtle")
    assert (URIRef("http://localhost/ns#shareType"), None, None) in vocabulary


def test_large_pages_are_a_bulk_service(client: FlaskClient, world: World) -> None:
    assert client.get("/catalog.ttl?page_size=100").status_code == 200
    refused = client.get("/catalog.ttl?page_size=101")
    assert refused.status_code == 403 and "实名认证" in refused.get_json()["error"]["message"]
    login(client, "citizen")
    assert client.get("/catalog.jsonld?page_size=1000").status_code == 403
    assert client.get("/catalog.jsonld?page_size=1001").status_code == 400
    client.get("/logout")
    login(client, "editor_b")
    assert client.get("/catalog.jsonld?page_size=1000").status_code == 200


def test_entry_page_embeds_schema_org_and_links_dcat(client: FlaskClient, sample_catalog: None, session: Session) -> None:
    entry = session.scalar(select(Entry).where(Entry.slug == "air-quality-hourly"))
    assert entry is not None
    response = client.get("/catalog/air-quality-hourly")
    page = response.get_data(as_text=True)
    assert '<link rel="alternate" type="application/ld+json" href="/catalog/air-quality-hourly.jsonld">' in page
    assert any("rel=\"alternate\"" in link and ".jsonld" in link for link in response.headers.getlist("Link"))
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert len(blocks) == 1
    data = json.loads(blocks[0])
    assert data["@type"] == "Dataset" and data["name"] == entry.title
    graph = Graph().parse(data=blocks[0], format="json-ld")
    assert str(graph.value(URIRef("http://localhost/catalog/air-quality-hourly#dataset"), SCHEMA.name)) == entry.title
    assert {str(o) for o in graph.objects(None, SCHEMA.contentUrl)}  # its files, downloadable by anyone
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_a_title_cannot_break_out_of_the_json_block(client: FlaskClient, world: World, session: Session) -> None:
    title = "</script><script>alert(1)</script><!--"
    entry = reviewed(session, create_entry(session, department=world.dept_a, fields=entry_fields(title=title), actor=None, now=NOW,
                                           status=EntryStatus.PUBLISHED))
    session.commit()
    page = client.get(f"/catalog/{entry.slug}").get_data(as_text=True)
    assert "<script>alert(1)" not in page
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert block is not None and json.loads(block.group(1))["name"] == title


@pytest.mark.parametrize("username", [None, "bureau"])
def test_sitemap_lists_the_open_catalog(client: FlaskClient, world: World, username: str | None) -> None:
    if username:
        login(client, username)  # signed in or not, the sitemap is the public's
    response = client.get("/sitemap.xml")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    root = ElementTree.fromstring(response.get_data())
    assert root.tag == f"{SITEMAP}urlset"
    urls = {u.findtext(f"{SITEMAP}loc"): u.findtext(f"{SITEMAP}lastmod") for u in root.iter(f"{SITEMAP}url")}
    entries = {local(u) for u in urls if "/catalog/" in u}
    assert entries == {f"/catalog/{e.slug}" for e in world.entries if can(None, Action.VIEW_ENTRY, e)}
    assert {"/", "/catalog", "/departments", f"/departments/{world.dept_a.id}"} <= {local(u) for u in urls}
    assert f"http://localhost/departments/{world.dept_b.id}" not in urls  # nothing of it is open
    assert all(lastmod and lastmod.startswith("2026-11-25T") for lastmod in urls.values())


def test_sitemap_index_past_the_limit(client: FlaskClient, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from portal.web import linked_data_views

    monkeypatch.setattr(linked_data_views, "SITEMAP_LIMIT", 4)
    root = ElementTree.fromstring(client.get("/sitemap.xml").get_data())
    assert root.tag == f"{SITEMAP}sitemapindex"
    parts = [local(loc.text) for loc in root.iter(f"{SITEMAP}loc")]
    assert parts == ["/sitemap-1.xml", "/sitemap-2.xml", "/sitemap-3.xml"]  # 3 pages + 1 department + 6 entries
    listed = [loc.text for part in parts for loc in ElementTree.fromstring(client.get(part).get_data()).iter(f"{SITEMAP}loc")]
    assert len(listed) == len(set(listed)) == 10
    assert client.get("/sitemap-4.xml").status_code == 404


# -- the change feed ------------------------------------------------------------------------


def feed(client: FlaskClient, url: str, **kwargs: object) -> dict:  # type: ignore[type-arg]
    response = client.get(url, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "private, no-store"
    return response.get_json()


@pytest.mark.parametrize("username", [None, "citizen"])
def test_the_feed_refuses_anonymous_and_unverified_callers(client: FlaskClient, world: World, username: str | None) -> None:
    if username:
        login(client, username)
    response = client.get("/catalog/changes.json?since=2026-01-01")
    assert response.status_code == 403
    assert "实名认证" in response.get_json()["error"]["message"]


def test_a_verified_citizen_and_a_department_key_get_the_feed(client: FlaskClient, world: World, session: Session) -> None:
    citizen = world.users["citizen"]
    session.add(RealNameVerification(user_id=citizen.id, kind=AccountKind.INDIVIDUAL, name="张三", state="approved", submitted_at=NOW))
    _row, key = create_key(session, world.users["editor_b"], name="同步脚本", scopes=["read"], now=NOW)
    session.commit()
    login(client, "citizen")
    assert {c["entry"]["id"] for c in feed(client, "/catalog/changes.json")["changes"]} == {
        e.id for e in world.entries if can(citizen, Action.VIEW_ENTRY, e)}
    client.get("/logout")
    shared = feed(client, "/catalog/changes.json", headers={"X-API-Key": key})
    assert {c["entry"]["id"] for c in shared["changes"]} == {e.id for e in world.entries if can(world.users["editor_b"], Action.VIEW_ENTRY, e)}
    assert client.get("/catalog/changes.json", headers={"X-API-Key": key + "x"}).status_code == 401  # an invalid key is refused, not taken as anonymous


def test_the_feed_shows_created_changed_withdrawn_in_order_with_a_cursor(client: FlaskClient, world: World, session: Session) -> None:
    login(client, "editor_b")
    start = feed(client, "/catalog/changes.json?since=2026-11-25T10:00:00Z")
    assert start["changes"] == [] and not start["has_more"]
    new = reviewed(session, create_entry(session, department=world.dept_a, fields=entry_fields(title="新的共享资源"), actor=None,
                                         now=NOW + timedelta(hours=1), status=EntryStatus.PUBLISHED))
    changed = world.entry(ShareType.CONDITIONAL, OpenType.CLOSED, EntryStatus.PUBLISHED)  # shared with departments only
    update_entry(session, changed, entry_fields(title="有条件共享的资源", share_type=ShareType.CONDITIONAL, open_type=OpenType.CLOSED),
                 actor=None, now=NOW + timedelta(hours=2))
    gone = world.entry(ShareType.UNCONDITIONAL, OpenType.CLOSED, EntryStatus.PUBLISHED)
    withdraw_entry(session, gone, actor=None, now=NOW + timedelta(hours=3))
    session.commit()

    first = feed(client, f"/catalog/changes.json?cursor={start['cursor']}&limit=2")
    assert [(c["kind"], c["entry"]["id"]) for c in first["changes"]] == [("created", new.id), ("changed", changed.id)]
    assert first["has_more"] and first["changes"][1]["entry"]["title"] == "有条件共享的资源"
    assert first["changes"][0]["entry"]["dcat_turtle"].endswith(f"/catalog/{new.slug}.ttl")
    second = feed(client, local(first["next"]))
    assert second["changes"] == [{"kind": "removed", "at": (NOW + timedelta(hours=3)).isoformat(),
                                  "entry": {"id": gone.id, "resource_code": gone.resource_code}}]
    assert not second["has_more"]
    assert feed(client, local(second["next"]))["changes"] == []
    assert client.get("/catalog/changes.json?cursor=not-a-cursor").status_code == 400
    assert client.get("/catalog/changes.json?since=soon").status_code == 400
    # The public never hears of entries shared with departments only.
    client.get("/logout")
    session.add(RealNameVerification(user_id=world.users["citizen"].id, kind=AccountKind.INDIVIDUAL, name="李四", state="approved", submitted_at=NOW))
    session.commit()
    login(client, "citizen")
    public = feed(client, "/catalog/changes.json?since=2026-11-25T10:00:00Z")
    assert [(c["kind"], c["entry"]["id"]) for c in public["changes"]] == [("created", new.id)]
