"""The catalog as DCAT and schema.org: every graph is serialized and parsed back with rdflib (both
JSON-LD and Turtle) and checked triple by triple; visibility is the HTML catalog's."""

from __future__ import annotations

import io
import json
from datetime import timedelta, timezone
from pathlib import Path

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF, SKOS, XSD
from sqlalchemy.orm import Session

from portal.authz import Action, can
from portal.catalog import ItemFields, create_entry, update_entry
from portal.errors import Invalid
from portal.files import FileStore
from portal.linked_data import (
    FREQUENCIES,
    PORTAL_FIELDS,
    Links,
    catalog_graph,
    catalog_page,
    entry_graph,
    html_safe_json,
    last_modified,
    parse_paging,
    parse_time,
    schema_org,
    serialize,
    sitemap_entries,
    vocabulary_graph,
)
from portal.models import Entry
from portal.pipeline import ingest
from portal.vocab import DataType, EntryStatus, OpenType, ShareType, UpdateCycle

from .support import NOW, ROLE_USERS, World, entry_fields, reviewed

SITE = "https://data.example.cn"
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
SCHEMA = Namespace("https://schema.org/")
LINKS = Links(
    home=f"{SITE}/",
    catalog=f"{SITE}/catalog",
    vocabulary=f"{SITE}/ns",
    entry_page=lambda slug: f"{SITE}/catalog/{slug}",
    department_page=lambda department_id: f"{SITE}/departments/{department_id}",
    file_page=lambda slug, file_id: f"{SITE}/catalog/{slug}/files/{file_id}",
    file_download=lambda slug, file_id, name: f"{SITE}/catalog/{slug}/files/{file_id}/{name}",
    file_export=lambda slug, file_id, fmt: f"{SITE}/catalog/{slug}/data/{file_id}/{fmt}",
)
PORTAL = LINKS.namespace


def page_url(number: int) -> str:
    return f"{SITE}/catalog.ttl?page={number}"


def reparsed(graph: Graph) -> list[Graph]:
    """`graph` written as JSON-LD and as Turtle, each parsed back by rdflib."""
    return [Graph().parse(data=serialize(graph, fmt), format=name) for fmt, name in (("jsonld", "json-ld"), ("ttl", "turtle"))]


def datasets(graph: Graph) -> set[URIRef]:
    return set(graph.subjects(RDF.type, DCAT.Dataset))  # type: ignore[arg-type]


def identifiers(graph: Graph) -> set[str]:
    return {str(graph.value(d, DCTERMS.identifier)) for d in datasets(graph)}


@pytest.mark.parametrize("username", [None, *ROLE_USERS])
def test_the_catalog_holds_exactly_what_the_viewer_sees(session: Session, world: World, username: str | None) -> None:
    user = world.users[username] if username else None
    page = catalog_page(session, user, page=1, page_size=1000)
    expected = {e.resource_code for e in world.entries if can(user, Action.VIEW_ENTRY, e)}
    for graph in reparsed(catalog_graph(page, user, LINKS, page_url)):
        assert identifiers(graph) == expected
        assert graph.value(LINKS.catalog_iri, HYDRA.totalItems).toPython() == len(expected)  # type: ignore[union-attr]
        assert set(graph.objects(LINKS.catalog_iri, DCAT.dataset)) == datasets(graph)


def test_pages_link_first_next_previous_and_last(session: Session, world: World) -> None:
    visible = sorted(e.id for e in world.entries if can(None, Action.VIEW_ENTRY, e))
    assert len(visible) == 6  # published, open or on application, of each share type
    seen = []
    for number, count, has_next in ((1, 4, True), (2, 2, False)):
        page = catalog_page(session, None, page=number, page_size=4)
        for graph in reparsed(catalog_graph(page, None, LINKS, page_url)):
            assert len(datasets(graph)) == count
            view = graph.value(LINKS.catalog_iri, HYDRA.view)
            assert view == URIRef(page_url(number))
            assert (view, RDF.type, HYDRA.PartialCollectionView) in graph
            assert graph.value(view, HYDRA.first) == URIRef(page_url(1))
            assert graph.value(view, HYDRA.last) == URIRef(page_url(2))
            assert (graph.value(view, HYDRA.next) == URIRef(page_url(2))) if has_next else graph.value(view, HYDRA.next) is None
            assert (graph.value(view, HYDRA.previous) is None) if number == 1 else graph.value(view, HYDRA.previous) == URIRef(page_url(1))
        seen += [entry.id for entry, _modified in page.entries]
    assert seen == visible  # stable order, nothing twice, nothing left out


def test_modified_since_keeps_only_entries_changed_since(session: Session, world: World) -> None:
    entry = world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.PUBLISHED)
    later = NOW + timedelta(hours=2)
    assert update_entry(session, entry, entry_fields(title="改过的标题", open_type=OpenType.OPEN), actor=None, now=later)
    session.commit()
    page = catalog_page(session, None, page=1, page_size=100, modified_since=NOW + timedelta(hours=1))
    assert [e.id for e, _ in page.entries] == [entry.id] and page.total == 1
    graph = reparsed(catalog_graph(page, None, LINKS, page_url))[1]
    assert graph.value(LINKS.dataset(entry), DCTERMS.modified) == Literal(later)
    assert catalog_page(session, None, page=1, page_size=100, modified_since=NOW - timedelta(hours=1)).total == 6
    assert catalog_page(session, None, page=1, page_size=100, modified_since=later + timedelta(seconds=1)).total == 0


def test_a_dataset_carries_dcat_ap_and_the_catalogs_own_fields(session: Session, world: World) -> None:
    entry = world.entry(ShareType.CONDITIONAL, OpenType.ON_APPLICATION, EntryStatus.PUBLISHED)
    entry.keywords = ["空气质量", "AQI"]
    session.commit()
    for graph in reparsed(entry_graph(entry, last_modified(session, entry), None, LINKS)):
        d = LINKS.dataset(entry)
        assert graph.value(d, DCTERMS.title) == Literal(entry.title, lang="zh")
        assert graph.value(d, DCTERMS.description) == Literal(entry.abstract, lang="zh")
        assert graph.value(d, DCTERMS.identifier) == Literal(entry.resource_code)
        assert set(graph.objects(d, DCAT.keyword)) == {Literal("空气质量", lang="zh"), Literal("AQI", lang="zh")}
        assert graph.value(d, DCAT.landingPage) == URIRef(f"{SITE}/catalog/{entry.slug}")
        assert graph.value(d, DCTERMS.accrualPeriodicity) == URIRef("http://publications.europa.eu/resource/authority/frequency/DAILY")
        assert graph.value(d, DCTERMS.accessRights) == URIRef("http://publications.europa.eu/resource/authority/access-right/RESTRICTED")
        assert graph.value(d, DCTERMS.issued) == Literal(entry.publish_date, datatype=XSD.date)
        publisher = graph.value(d, DCTERMS.publisher)
        assert graph.value(publisher, DCTERMS.identifier) == Literal(world.dept_a.code)
        assert graph.value(publisher, URIRef("http://xmlns.com/foaf/0.1/name")) == Literal("甲局", lang="zh")
        assert graph.value(d, DCAT.contactPoint) is not None
        theme = graph.value(d, DCAT.theme)
        assert (theme, RDF.type, SKOS.Concept) in graph
        assert graph.value(theme, SKOS.prefLabel) == Literal("生态环保/大气环境", lang="zh")
        assert graph.value(theme, SKOS.notation) == Literal("2050100")
        assert graph.value(theme, SKOS.inScheme) == LINKS.scheme()
        assert graph.value(graph.value(theme, SKOS.broader), SKOS.prefLabel) == Literal("主题", lang="zh")
        assert graph.value(d, PORTAL.shareType) == PORTAL["ShareType-conditional"]
        assert graph.value(d, PORTAL.openType) == PORTAL["OpenType-on-application"]
        assert graph.value(d, PORTAL.openCondition) == Literal(entry.open_condition, lang="zh")
        assert graph.value(d, PORTAL.updateCycle) == PORTAL["UpdateCycle-daily"]
        assert graph.value(d, PORTAL.securityLevel) == PORTAL["SecurityLevel-general"]
        assert graph.value(d, PORTAL.personalInformation).toPython() is False  # type: ignore[union-attr]
        assert (LINKS.catalog_iri, DCAT.dataset, d) in graph


@pytest.mark.parametrize("cycle, code", [(c, FREQUENCIES[c]) for c in UpdateCycle])
def test_every_update_cycle_maps_to_the_eu_frequency_vocabulary(cycle: UpdateCycle, code: str) -> None:
    assert code in {"UPDATE_CONT", "DAILY", "WEEKLY", "MONTHLY", "QUARTERLY", "ANNUAL_2", "ANNUAL", "IRREG"}
    assert (cycle == UpdateCycle.HALF_YEARLY) == (code == "ANNUAL_2")


@pytest.fixture
def with_files(session: Session, world: World, tmp_path: Path) -> Entry:
    """An open entry with a table whose `remark` column is not open, and a PDF."""
    items = [ItemFields("监测站点", "station", DataType.C, 50), ItemFields("空气质量指数", "aqi", DataType.I),
             ItemFields("备注", "remark", DataType.C, open_type=OpenType.CLOSED)]
    entry = reviewed(session, create_entry(session, department=world.dept_a, fields=entry_fields(items=items), actor=None, now=NOW,
                                           status=EntryStatus.PUBLISHED))
    store = FileStore(tmp_path / "files")
    ingest(session, store, entry, source=io.BytesIO("station,aqi,remark\n明珠广场,64,无\n".encode()), name="空气.csv", actor=None, now=NOW)
    ingest(session, store, entry, source=io.BytesIO(b"%PDF-1.4\n%\xe2\xe3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"), name="说明.pdf", actor=None, now=NOW)
    session.commit()
    return entry


def test_distributions_offer_what_the_viewer_may_download(session: Session, world: World, with_files: Entry) -> None:
    entry = with_files
    table, pdf = sorted(entry.files, key=lambda f: f.format)[0], sorted(entry.files, key=lambda f: f.format)[1]
    assert (table.format, pdf.format) == ("csv", "pdf")
    # The public may not receive `remark`: the table comes as CSV without it, the PDF not at all.
    graph = reparsed(entry_graph(entry, last_modified(session, entry), None, LINKS))[0]
    dists = {graph.value(d, DCAT.accessURL): d for d in graph.objects(LINKS.dataset(entry), DCAT.distribution)}
    assert len(dists) == 2
    csv = dists[URIRef(f"{SITE}/catalog/{entry.slug}/files/{table.id}")]
    assert graph.value(csv, DCAT.downloadURL) == URIRef(f"{SITE}/catalog/{entry.slug}/data/{table.id}/csv")
    assert graph.value(csv, DCAT.mediaType) == URIRef("https://www.iana.org/assignments/media-types/text/csv")
    assert graph.value(csv, DCAT.byteSize) is None and graph.value(csv, SPDX.checksum) is None  # not the stored file
    document = dists[URIRef(f"{SITE}/catalog/{entry.slug}/files/{pdf.id}")]
    assert graph.value(document, DCAT.downloadURL) is None
    assert graph.value(document, DCTERMS.format) == URIRef("http://publications.europa.eu/resource/authority/file-type/PDF")
    # Its department receives the originals, with their size and checksum.
    owner = world.users["provider_a"]
    graph = reparsed(entry_graph(entry, last_modified(session, entry), owner, LINKS))[1]
    for record in entry.files:
        d = URIRef(f"{SITE}/catalog/{entry.slug}/files/{record.id}#distribution")
        assert graph.value(d, DCAT.downloadURL) == URIRef(f"{SITE}/catalog/{entry.slug}/files/{record.id}/{record.name}")
        assert graph.value(d, DCAT.byteSize) == Literal(record.size, datatype=XSD.nonNegativeInteger)
        assert graph.value(graph.value(d, SPDX.checksum), SPDX.checksumValue) == Literal(record.sha256, datatype=XSD.hexBinary)


def test_on_application_entries_have_no_download_urls(session: Session, world: World, with_files: Entry) -> None:
    entry = with_files
    entry.open_type, entry.open_condition = OpenType.ON_APPLICATION, "说明用途"
    session.commit()
    graph = reparsed(entry_graph(entry, last_modified(session, entry), None, LINKS))[1]
    assert len(list(graph.objects(LINKS.dataset(entry), DCAT.distribution))) == 2
    assert not list(graph.objects(None, DCAT.downloadURL))
    assert not list(graph.objects(None, SPDX.checksum))
    assert "distribution" not in schema_org(entry, NOW, None, LINKS)


def test_vocabulary_defines_every_portal_term(session: Session, world: World) -> None:
    for graph in reparsed(vocabulary_graph(LINKS)):
        for name in PORTAL_FIELDS:
            assert (PORTAL[name], RDF.type, URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#Property")) in graph
        assert graph.value(PORTAL["ShareType-none"], SKOS.prefLabel) == Literal("不予共享", lang="zh")
        assert graph.value(PORTAL["OpenType-on-application"], SKOS.notation) == Literal("on-application")
    used = reparsed(entry_graph(world.entries[0], NOW, world.users["bureau"], LINKS))[1]
    defined = reparsed(vocabulary_graph(LINKS))[1]
    for _s, p, o in used:
        for term in (p, o):
            if isinstance(term, URIRef) and term.startswith(str(PORTAL)) and "classification" not in term:
                assert (term, None, None) in defined, term


def test_schema_org_names_the_dataset_and_reads_as_rdf(session: Session, world: World) -> None:
    entry = world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.PUBLISHED)
    data = schema_org(entry, last_modified(session, entry), None, LINKS)
    assert data["@type"] == "Dataset" and data["name"] == entry.title and data["identifier"] == entry.resource_code
    graph = Graph().parse(data=html_safe_json(data), format="json-ld")  # an inline context: nothing fetched
    dataset = LINKS.dataset(entry)
    assert (dataset, RDF.type, SCHEMA.Dataset) in graph
    assert str(graph.value(dataset, SCHEMA.name)) == entry.title
    assert graph.value(dataset, SCHEMA.url) == URIRef(f"{SITE}/catalog/{entry.slug}")
    assert str(graph.value(graph.value(dataset, SCHEMA.publisher), SCHEMA.name)) == "甲局"
    assert {str(o) for o in graph.objects(None, SCHEMA.propertyID)} == {"station", "aqi"}


def test_html_safe_json_cannot_end_the_script_element() -> None:
    data = {"name": "</script><script>alert(1)</script><!-- & \u2028"}
    text = html_safe_json(data)
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == data


def test_sitemap_entries_are_the_open_catalog_only(session: Session, world: World) -> None:
    rows = sitemap_entries(session)
    assert {slug for slug, _d, _m in rows} == {e.slug for e in world.entries if can(None, Action.VIEW_ENTRY, e)}
    assert all(when.tzinfo is not None for _s, _d, when in rows)


@pytest.mark.parametrize("text, expected", [
    ("2026-11-25T09:30:00Z", NOW),
    ("2026-11-25T17:30:00+08:00", NOW),
    ("2026-11-25T17:30:00", NOW),  # no offset: China time
    ("2026-11-25", NOW.replace(hour=0, minute=0) - timedelta(hours=8)),
])
def test_parse_time(text: str, expected: object) -> None:
    assert parse_time(text, field="since") == expected
    assert parse_time(text, field="since").tzinfo is not None


@pytest.mark.parametrize("page, size", [("0", "10"), ("x", "10"), ("1", "1001"), ("1", "0"), ("1", "-5")])
def test_bad_paging_is_refused(page: str, size: str) -> None:
    with pytest.raises(Invalid):
        parse_paging(page, size)
    with pytest.raises(Invalid):
        parse_time("yesterday", field="modified_since")


def test_paging_defaults() -> None:
    assert parse_paging(None, None) == (1, 100)
    assert parse_paging("3", "1000") == (3, 1000)
    assert NOW.tzinfo == timezone.utc
