"""The `dcat` source kind: recorded DCAT catalogs (JSON-LD and Turtle in two Hydra pages, RDF/XML)
served by the payload server and read through the real `Fetcher`; paging loops stopped; broken
datasets reported one by one; and our own portal's /catalog.jsonld and /catalog.ttl, served by
a live server, read back entry by entry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from harvest import dcat
from harvest.base import ParseFailure
from harvest.fetch import Fetched, Fetcher, FetchError
from harvest.records import RemoteRecord
from portal.browse import visible_clause
from portal.models import Entry, HarvestSource

from .server import PayloadServer, Reply, file_body, json_body

PAYLOADS = Path(__file__).parent / "payloads" / "dcat"
TYPES = {".jsonld": "application/ld+json", ".ttl": "text/turtle; charset=utf-8", ".rdf": "application/rdf+xml"}
AIR = "https://data.example.gov.cn/dataset/air-quality#dataset"
BUS = "https://data.example.gov.cn/dataset/bus-stops#dataset"
SCHOOL = "https://data.example.gov.cn/dataset/school-directory#dataset"


class Recording(Fetcher):
    """The real fetcher, noting every URL and Accept header it was asked for."""

    def __init__(self) -> None:
        super().__init__(allow_private=True, retries=0, timeout=10)
        self.asked: list[tuple[str, str]] = []

    def get(self, url: str, *, accept: str = "*/*", max_bytes: int | None = None) -> Fetched:
        self.asked.append((url, accept))
        return super().get(url, accept=accept, max_bytes=max_bytes)


def source(url: str, **settings: Any) -> HarvestSource:
    return HarvestSource(name="test", kind="dcat", url=url, settings=settings)


def read(url: str, fetcher: Fetcher | None = None) -> list[RemoteRecord | ParseFailure]:
    return list(dcat.records(source(url), fetcher or Recording(), since=None))


@pytest.fixture
def server() -> Iterator[PayloadServer]:
    with PayloadServer() as server:
        for path in PAYLOADS.iterdir():
            server.route(f"/dcat/{path.name}", file_body(path, TYPES.get(path.suffix, "application/octet-stream")))
        yield server


def test_a_json_ld_catalog_in_two_hydra_pages(server: PayloadServer) -> None:
    fetcher = Recording()
    found = read(server.url("/dcat/catalog-page1.jsonld"), fetcher)
    assert server.requests == ["/dcat/catalog-page1.jsonld", "/dcat/catalog-page2.jsonld"]
    assert fetcher.asked[0][1].startswith("application/ld+json")
    assert all(isinstance(r, RemoteRecord) for r in found)
    records = {r.guid: r for r in found if isinstance(r, RemoteRecord)}
    assert list(records) == [AIR, BUS, SCHOOL]

    air = records[AIR]
    assert air.title == "空气质量小时数据"  # @zh-CN before @en
    assert air.notes.startswith("全市各监测站点")
    assert air.tags[:2] == ["环境", "空气质量"] and air.tags[-1] == "air"  # Chinese first
    assert (air.organization, air.organization_title) == ("示例市生态环境局", "示例市生态环境局")
    assert air.themes == ["生态环境"]
    assert air.url == "https://data.example.gov.cn/dataset/air-quality"
    assert air.license == "https://creativecommons.org/licenses/by/4.0/"
    assert (air.issued, air.modified) == ("2025-01-15", "2026-10-01T08:00:00+08:00")
    assert air.extras["identifier"] == "1020300/000007"
    assert air.extras["publisher_identifier"] == "11340100MB1234567X"
    assert air.extras["update_cycle"] == "daily"  # from the EU frequency
    assert "share_type" not in air.extras and "resource_code" not in air.extras  # not a zone portal
    csv, api = air.resources
    assert (csv.url, csv.name, csv.format, csv.size, csv.modified) == (
        "https://data.example.gov.cn/files/air-quality-2026.csv", "空气质量小时数据（2026年）", "CSV", 20480, "2026-10-01")
    assert csv.hash == "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    assert (api.url, api.format, api.size) == ("https://data.example.gov.cn/api/air-quality", "JSON", None)  # accessURL, media type

    bus = records[BUS]
    assert bus.organization == "https://data.example.gov.cn/org/transport#org"  # no name: the IRI
    assert bus.themes == ["http://publications.europa.eu/resource/authority/data-theme/TRAN"]
    (xlsx,) = bus.resources
    assert (xlsx.name, xlsx.format, xlsx.size) == ("bus-stops.xlsx", "XLSX", 5120)  # from the URL
    assert records[SCHOOL].resources[0].format == "JSON"  # dct:format "json"


def test_the_same_catalog_in_turtle_with_the_older_hydra_terms(server: PayloadServer) -> None:
    jsonld = read(server.url("/dcat/catalog-page1.jsonld"))
    turtle = read(server.url("/dcat/catalog-page1.ttl"))
    assert "/dcat/catalog-page2.ttl" in server.requests  # hydra:nextPage followed
    assert [r.guid for r in turtle] == [AIR, BUS, SCHOOL]
    assert [r.content_hash() for r in turtle] == [r.content_hash() for r in jsonld]  # type: ignore[union-attr]


def test_an_rdf_xml_catalog(server: PayloadServer) -> None:
    registration, food = read(server.url("/dcat/catalog.rdf"))
    assert isinstance(registration, RemoteRecord) and isinstance(food, RemoteRecord)
    assert registration.guid == "https://exchange.example.gov.cn/dataset/enterprise-registration"
    assert (registration.title, registration.organization, registration.themes) == ("企业登记信息", "市场监督管理局", ["经济建设"])
    assert registration.tags == ["企业", "市场主体"]
    (resource,) = registration.resources
    assert (resource.format, resource.size) == ("CSV", 102400)  # a media type literal, a decimal size
    assert food.guid == "2010100/000003"  # a blank node: its dct:identifier
    assert (food.title, food.organization) == ("食品经营许可信息", "市场监督管理局")  # vcard:fn


def test_the_parser_is_chosen_by_type_then_suffix_then_each(server: PayloadServer) -> None:
    turtle = (PAYLOADS / "catalog.rdf").read_bytes()
    server.route("/mislabelled.rdf", Reply(200, turtle, {"Content-Type": "text/plain"}))  # by suffix
    server.route("/no-type", Reply(200, turtle, {"Content-Type": "application/octet-stream"}))  # each in turn
    server.route("/wrong-type", Reply(200, turtle, {"Content-Type": "application/ld+json"}))  # the type is wrong: the others
    for path in ("/mislabelled.rdf", "/no-type", "/wrong-type"):
        assert [r.title for r in read(server.url(path))] == ["企业登记信息", "食品经营许可信息"]
    server.route("/garbage", Reply(200, "这不是 RDF { [ <".encode(), {"Content-Type": "text/html"}))
    with pytest.raises(FetchError) as raised:
        read(server.url("/garbage"))
    assert raised.value.kind == "invalid" and "无法解析为 RDF" in raised.value.message
    assert "无法解析为 RDF" in dcat.check(source(server.url("/garbage")), Recording())[0]


def test_a_page_that_links_to_itself_stops_the_listing(server: PayloadServer) -> None:
    page = json.loads((PAYLOADS / "catalog-page2.jsonld").read_text(encoding="utf-8"))
    page["@graph"][1]["hydra:next"] = {"@id": "self.jsonld"}
    page["@graph"][1]["@id"] = "self.jsonld"
    server.route("/self.jsonld", json_body(page))
    listing = dcat.records(source(server.url("/self.jsonld")), Recording(), since=None)
    first = next(listing)
    assert isinstance(first, RemoteRecord) and first.guid == SCHOOL  # the page's datasets come first
    with pytest.raises(FetchError) as raised:
        next(listing)
    assert raised.value.kind == "invalid" and "分页出现循环" in raised.value.message
    assert server.requests.count("/self.jsonld") == 1
    assert "指向本页自身" in dcat.check(source(server.url("/self.jsonld")), Recording())[0]


def test_a_server_that_ignores_the_page_number_stops_the_listing(server: PayloadServer) -> None:
    """Each page links to a new URL (?page=n+1) but lists the same datasets again."""
    body = (PAYLOADS / "catalog-page1.ttl").read_text(encoding="utf-8")

    def endless(path: str) -> Reply:
        number = int(path.partition("page=")[2] or 1)
        text = body.replace("<catalog-page1.ttl>", f"<endless?page={number}>").replace("hydra:nextPage <catalog-page2.ttl>", f"hydra:nextPage <endless?page={number + 1}>")
        return Reply(200, text.encode(), {"Content-Type": "text/turtle"})

    server.route("/endless", endless)
    with pytest.raises(FetchError) as raised:
        read(server.url("/endless?page=1"))
    assert "相同的数据集" in raised.value.message
    assert server.requests == ["/endless?page=1", "/endless?page=2"]


def test_broken_datasets_are_failures_not_a_crash(server: PayloadServer, monkeypatch: pytest.MonkeyPatch) -> None:
    found = read(server.url("/dcat/broken.ttl"))
    good = [r for r in found if isinstance(r, RemoteRecord)]
    failures = [r for r in found if isinstance(r, ParseFailure)]
    assert [r.title for r in good] == ["完好的数据集"]
    assert {(f.guid, f.error) for f in failures} == {
        ("https://data.example.gov.cn/dataset/untitled#dataset", "数据集缺少标题（dct:title）"),
        ("https://data.example.gov.cn/dataset/odd#dataset", "数据集缺少标题（dct:title）"),
        ("", "数据集是没有 IRI 的空白节点，也没有 dct:identifier，无法确定其标识"),
    }
    assert next(f for f in failures if not f.guid).title == "没有标识的数据集"
    assert dcat.check(source(server.url("/dcat/broken.ttl")), Recording()) == ["第一页有 3 个数据集无法读取，如：数据集缺少标题（dct:title）"]

    real = dcat._record

    def fragile(graph: Any, node: Any, *args: Any) -> RemoteRecord:
        if str(node) == BUS:
            raise KeyError("something unexpected")
        return real(graph, node, *args)

    monkeypatch.setattr(dcat, "_record", fragile)
    found = read(server.url("/dcat/catalog-page1.jsonld"))
    assert [type(r).__name__ for r in found] == ["RemoteRecord", "ParseFailure", "RemoteRecord"]
    failure = found[1]
    assert isinstance(failure, ParseFailure)
    assert (failure.guid, failure.title) == (BUS, "公交站点信息") and failure.error.startswith("数据集无法读取：KeyError")


def test_remote_json_ld_contexts_come_through_the_fetcher(server: PayloadServer) -> None:
    page = json.loads((PAYLOADS / "catalog-page1.jsonld").read_text(encoding="utf-8"))
    context = page["@context"]
    page["@context"] = ["contexts/dcat.jsonld", {"@import": "contexts/hydra.jsonld"}]
    server.route("/remote/contexts/dcat.jsonld", json_body({"@context": {k: v for k, v in context.items() if k != "hydra"}}))
    server.route("/remote/contexts/hydra.jsonld", json_body({"@context": {"hydra": context["hydra"]}}))
    server.route("/remote/catalog-page1.jsonld", json_body(page))
    server.route("/remote/catalog-page2.jsonld", file_body(PAYLOADS / "catalog-page2.jsonld", "application/ld+json"))
    fetcher = Recording()
    found = read(server.url("/remote/catalog-page1.jsonld"), fetcher)
    assert [r.guid for r in found] == [AIR, BUS, SCHOOL]
    asked = [url for url, _accept in fetcher.asked]
    assert server.url("/remote/contexts/dcat.jsonld") in asked and server.url("/remote/contexts/hydra.jsonld") in asked

    server.route("/cycle.jsonld", json_body({"@context": "cycle.jsonld", "@id": "x"}))
    with pytest.raises(FetchError) as raised:
        read(server.url("/cycle.jsonld"))
    assert "循环引用" in raised.value.message


def test_rdf_xml_external_entities_are_not_fetched(server: PayloadServer) -> None:
    secret = server.url("/secret")
    body = (PAYLOADS / "catalog.rdf").read_text(encoding="utf-8").replace(
        '<?xml version="1.0" encoding="utf-8"?>', f'<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE rdf:RDF [<!ENTITY secret SYSTEM "{secret}">]>'
    ).replace("辖区内企业的名称", "&secret;辖区内企业的名称")
    server.route("/secret", Reply(200, "机密".encode(), {"Content-Type": "text/plain"}))
    server.route("/entity.rdf", Reply(200, body.encode(), {"Content-Type": "application/rdf+xml"}))
    found = read(server.url("/entity.rdf"))
    assert "/secret" not in server.requests
    assert all("机密" not in r.notes for r in found if isinstance(r, RemoteRecord))


def test_a_json_ld_array(server: PayloadServer) -> None:
    page = json.loads((PAYLOADS / "catalog-page2.jsonld").read_text(encoding="utf-8"))
    server.route("/array.jsonld", json_body([{"@context": page["@context"], **node} for node in page["@graph"]]))
    assert [r.title for r in read(server.url("/array.jsonld"))] == ["中小学校名录"]


def test_check(server: PayloadServer) -> None:
    assert dcat.check(source(server.url("/dcat/catalog-page1.jsonld")), Recording()) == []
    server.route("/empty.ttl", Reply(200, b"<http://example.org/a> <http://xmlns.com/foaf/0.1/name> \"\xe7\x94\xb2\" .", {"Content-Type": "text/turtle"}))
    assert dcat.check(source(server.url("/empty.ttl")), Recording())[0].startswith("未找到任何 dcat:Dataset")
    problems = dcat.check(source(server.url("/missing.ttl")), Recording())
    assert len(problems) == 1 and "127.0.0.1" in problems[0]
    assert dcat.SUPPORTS_INCREMENTAL is False


# -- our own portal -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonld", "ttl"])
def test_our_own_portal_is_read_back_entry_by_entry(live_url: str, sample_catalog: None, session: Session, fmt: str) -> None:
    expected = {e.slug: e for e in session.scalars(select(Entry).where(visible_clause(None)))}
    assert len(expected) > 4
    found = read(f"{live_url}/catalog.{fmt}?page_size=4")  # anonymous, paged: no bulk service needed
    assert all(isinstance(r, RemoteRecord) for r in found)
    records = {r.guid: r for r in found if isinstance(r, RemoteRecord)}
    assert set(records) == {f"{live_url}/catalog/{slug}#dataset" for slug in expected}
    for slug, entry in expected.items():
        record = records[f"{live_url}/catalog/{slug}#dataset"]
        assert record.title == entry.title
        assert record.notes == (entry.abstract or entry.title)
        assert sorted(record.tags) == sorted(entry.keywords or [])
        assert record.organization == entry.department.name
        assert record.themes == [entry.classification_path]
        assert record.url == f"{live_url}/catalog/{slug}"
        assert record.extras["resource_code"] == entry.resource_code
        assert record.extras["publisher_identifier"] == entry.department.code
        for key in ("share_type", "open_type", "update_cycle", "security_level"):
            assert record.extras[key] == getattr(entry, key).value
        assert record.extras["classification_code"] == entry.classification_code
        assert record.extras["classification_path"] == entry.classification_path
        assert record.extras["classification_kind"] == entry.classification_kind.value
        assert record.extras["personal_information"] == ("true" if entry.personal_information else "false")
        assert record.extras.get("related_codes", "") == ",".join(sorted(entry.related_codes or []))
        if entry.publish_date:
            assert record.extras["publish_date"] == entry.publish_date.isoformat()
        assert record.resources and all(r.url.startswith(live_url) and r.format for r in record.resources)
        originals = [r for r in record.resources if r.hash]  # columns withheld: a CSV export, no size nor checksum
        assert {r.hash for r in originals} <= {f.sha256 for f in entry.files}
        assert all(r.size for r in originals)
    assert sum(1 for r in records.values() for f in r.resources if f.hash) > 3  # most files come as themselves
