"""The `datapackage` source kind: the repository's own sample packages (`datasets/`, copied) and
the recorded packages of `payloads/datapackage/`, served as `python -m http.server` serves a
folder and read through the real `Fetcher`: one `datapackage.json`, a directory listing, a JSON
index, broken descriptors, resource paths resolved against the package URL, and `check`."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harvest import datapackage
from harvest.base import ParseFailure
from harvest.fetch import Fetcher, FetchError
from harvest.records import RemoteRecord
from portal.datapackages import entry_input
from portal.models import HarvestSource

from ..support import ROOT
from .server import FolderServer, PayloadServer, Reply

PAYLOADS = Path(__file__).parent / "payloads" / "datapackage"
PACKAGES = sorted(p.parent.name for p in (ROOT / "datasets").glob("*/datapackage.json"))


def fetcher() -> Fetcher:
    return Fetcher(allow_private=True, retries=0, timeout=10)


def source(url: str) -> HarvestSource:
    return HarvestSource(name="test", kind="datapackage", url=url, settings={})


def read(url: str) -> list[RemoteRecord | ParseFailure]:
    return list(datapackage.records(source(url), fetcher(), since=None))


def descriptor(name: str) -> dict[str, Any]:
    return json.loads((ROOT / "datasets" / name / "datapackage.json").read_text(encoding="utf-8"))


@pytest.fixture
def site(tmp_path: Path) -> Iterator[FolderServer]:
    """/datasets/ (the sample packages, a folder without a package and a stray file) and
    /packages/ (the recorded payloads), served like `python -m http.server`."""
    root = tmp_path / "site"
    shutil.copytree(ROOT / "datasets", root / "datasets")
    (root / "datasets" / "empty-folder").mkdir()
    (root / "datasets" / "empty-folder" / "README.txt").write_text("这里没有数据包", encoding="utf-8")
    shutil.copytree(PAYLOADS, root / "packages")
    with FolderServer(root) as server:
        extra = root / "packages" / "parking-extra" / "datapackage.json"
        extra.write_text(extra.read_text(encoding="utf-8").replace("PROFILE-URL", server.url("/profiles/evil.json")), encoding="utf-8")
        yield server


def test_one_datapackage_json(site: FolderServer) -> None:
    url = site.url("/datasets/bus-lines-stops/datapackage.json")
    (record,) = read(url)
    given = descriptor("bus-lines-stops")
    assert isinstance(record, RemoteRecord)
    assert (record.guid, record.name, record.url) == (url, "bus-lines-stops", url)  # no `id`: the URL
    assert (record.title, record.notes, record.tags) == (given["title"], given["description"], given["keywords"])
    meta = given["catalog"]
    assert record.organization == meta["department"]  # the department's code: the org mapping's key
    assert record.themes == [meta["classification"]["path"]]
    assert record.issued == meta["publish_date"]
    extras = record.extras
    assert extras["resource_code"] == meta["resource_code"] and extras["department_code"] == meta["department"]
    for key in ("share_type", "open_type", "update_cycle", "security_level", "format_class", "format_type", "usage_requirements"):
        assert extras[key] == meta[key]
    assert (extras["classification_kind"], extras["classification_code"]) == (meta["classification"]["kind"], meta["classification"]["code"])
    assert extras["related_codes"] == ",".join(meta["related_codes"]) and extras["personal_information"] == "false"
    assert "legal_basis" not in extras  # empty in the package: not said
    assert json.loads(extras["data_items"]) == json.loads(json.dumps(entry_input(given)["items"]))  # what the portal's loader reads
    for resource in given["resources"]:
        assert json.loads(extras[f"schema:{resource['name']}"]) == resource["schema"]["fields"]
    assert [(r.url, r.name, r.format) for r in record.resources] == [
        (site.url("/datasets/bus-lines-stops/bus-lines.csv"), "途经经开区的公交线路", "CSV"),
        (site.url("/datasets/bus-lines-stops/bus-stops.csv"), "经开区公交站点", "CSV"),
    ]
    body = fetcher().get(record.resources[0].url).content  # the resolved URL is the file
    assert body == (ROOT / "datasets" / "bus-lines-stops" / "bus-lines.csv").read_bytes()
    assert datapackage.check(source(url), fetcher()) == []
    assert datapackage.SUPPORTS_INCREMENTAL is False


@pytest.mark.parametrize("path", ["/datasets/", "/datasets"])  # without the slash: http.server redirects
def test_a_directory_listing(site: FolderServer, path: str) -> None:
    found = read(site.url(path))
    assert all(isinstance(r, RemoteRecord) for r in found)
    assert [r.name for r in found] == PACKAGES  # departments.json and the folder without a package left out
    assert [r.title for r in found] == [descriptor(name)["title"] for name in PACKAGES]
    assert "/datasets/empty-folder/datapackage.json" in site.requests  # looked for, missing: skipped
    assert not any(r.endswith(".csv") for r in site.requests)  # no resource fetched
    assert datapackage.check(source(site.url(path)), fetcher()) == []


def test_a_json_index_and_resource_paths(site: FolderServer) -> None:
    bus, air, parking = read(site.url("/packages/index.json"))
    assert isinstance(bus, RemoteRecord) and isinstance(air, RemoteRecord) and isinstance(parking, RemoteRecord)
    assert (bus.name, air.name) == ("bus-lines-stops", "air-quality-hourly")
    assert bus.guid == site.url("/datasets/bus-lines-stops/datapackage.json")  # "../datasets/bus-lines-stops/" + datapackage.json

    package = site.url("/packages/parking-extra/datapackage.json")
    assert parking.guid == "urn:uuid:5b1e7c1e-8d2f-4a49-9a8e-2f0c6d1b7a11"  # the descriptor's id
    assert parking.extras["package_url"] == package and parking.url == package
    assert parking.tags == ["停车", "交通"]
    assert (parking.organization, parking.organization_title) == ("经开区城市管理局", "经开区城市管理局")  # the publisher
    assert (parking.license, parking.issued) == ("CC-BY-4.0", "2026-03-01T00:00:00+08:00")
    assert "resource_code" not in parking.extras  # no `catalog` property: no zone fields
    assert [(r.url, r.name, r.format, r.size, r.hash) for r in parking.resources] == [
        (site.url("/packages/parking-extra/data/2026/lots.csv"), "停车场名录", "CSV", 1234, "sha256:abc123"),
        (site.url("/files/parking-rates.xlsx"), "rates", "XLSX", None, ""),  # a path from the site's root
        ("https://data.example.gov.cn/api/parking.json", "城市停车接口", "JSON", None, ""),  # a URL as given
        (site.url("/packages/parking-extra/data/2026/part-1.csv"), "历史泊位数据（1/2）", "CSV", None, ""),  # multipart
        (site.url("/packages/parking-extra/data/2026/part-2.csv"), "历史泊位数据（2/2）", "CSV", None, ""),
    ]
    assert fetcher().get(parking.resources[0].url).content.startswith(b"lot_id,")
    notes = parking.extras["harvest_notes"]
    assert "资源 districts 为内嵌数据（data），未收录" in notes and "资源 local-file 的地址不是 http(s)" in notes
    # the schema given by reference came through the fetcher
    assert "/packages/parking-extra/lots-schema.json" in site.requests
    assert [f["name"] for f in json.loads(parking.extras["schema:lots"])] == ["lot_id", "lot_name", "spaces"]
    assert [i["name"] for i in json.loads(parking.extras["data_items"])] == ["lot_id", "lot_name", "spaces"]


def test_broken_descriptors_are_failures(site: FolderServer) -> None:
    (broken,) = read(site.url("/packages/broken/datapackage.json"))
    assert isinstance(broken, ParseFailure)
    assert (broken.guid, broken.title, broken.error) == (
        site.url("/packages/broken/datapackage.json"), "资源列表写错了的数据包", "数据包缺少 resources（应为非空列表）")
    problems = datapackage.check(source(site.url("/packages/broken/datapackage.json")), fetcher())
    assert problems == [f"{site.url('/packages/broken/datapackage.json')}：数据包缺少 resources（应为非空列表）"]

    # in a listing, a package that is not JSON is one failure among good packages
    found = read(site.url("/packages/"))
    failures = {r.guid: r.error for r in found if isinstance(r, ParseFailure)}
    assert set(failures) == {site.url("/packages/broken/datapackage.json"), site.url("/packages/not-json/datapackage.json")}
    assert failures[site.url("/packages/not-json/datapackage.json")].startswith("无法读取数据包描述文件：")
    assert "不是有效的 JSON" in failures[site.url("/packages/not-json/datapackage.json")]
    assert [r.title for r in found if isinstance(r, RemoteRecord)] == ["停车场补充数据"]

    for shape, error in [
        ([1, 2], "数据包描述不是 JSON 对象"),
        ({"resources": [{"path": "a.csv"}]}, "数据包缺少 title 和 name"),
        ({"name": "x", "resources": []}, "数据包缺少 resources（应为非空列表）"),
        ({"name": "x", "resources": ["a.csv"]}, "第 1 个资源不是 JSON 对象"),
        ({"name": "x", "resources": [{"name": "a"}]}, "第 1 个资源（a）缺少 path"),
        ({"name": "x", "resources": [{"name": "a", "path": 7}]}, "第 1 个资源的 path 应为字符串或字符串列表"),
    ]:
        failure = datapackage.parse_package(shape, "http://example.org/p/datapackage.json", fetcher())
        assert isinstance(failure, ParseFailure) and failure.error == error


def test_a_repeated_id_is_a_failure() -> None:
    with PayloadServer() as server:
        package = {"id": "same-id", "name": "a", "resources": [{"name": "r", "path": "r.csv"}]}
        server.route("/index.json", Reply(200, json.dumps(["a/datapackage.json", "b/datapackage.json"]).encode(), {"Content-Type": "application/json"}))
        server.route("/a/datapackage.json", Reply(200, json.dumps(package).encode(), {"Content-Type": "application/json"}))
        server.route("/b/datapackage.json", Reply(200, json.dumps({**package, "name": "b"}).encode(), {"Content-Type": "application/json"}))
        first, second = read(server.url("/index.json"))
    assert isinstance(first, RemoteRecord) and first.resources[0].url.endswith("/a/r.csv")
    assert isinstance(second, ParseFailure) and second.guid == "same-id" and "数据包标识重复" in second.error


def test_a_source_that_is_no_package_fails_the_listing() -> None:
    with PayloadServer() as server:
        server.route("/text", Reply(200, "不是数据包".encode(), {"Content-Type": "text/plain; charset=utf-8"}))
        server.route("/number", Reply(200, b"42", {"Content-Type": "application/json"}))
        links = '<html><a href="/elsewhere/">别处</a><a href="../">上级</a><a href="?C=N;O=D">排序</a><a href="sub/">子目录</a></html>'
        server.route("/dir/page.html", Reply(200, links.encode(), {"Content-Type": "text/html"}))
        for path, message in [("/text", "既不是数据包描述（JSON），也不是目录页（HTML）"), ("/number", "既不是数据包描述，也不是数据包地址的列表"),
                              ("/dir/page.html", "的目录中没有找到任何数据包"), ("/missing/datapackage.json", "404")]:
            with pytest.raises(FetchError) as raised:
                read(server.url(path))
            assert message in raised.value.message
        looked_in = [r for r in server.requests if r.endswith("/datapackage.json") and r != "/missing/datapackage.json"]
        assert looked_in == ["/dir/sub/datapackage.json"]  # only the subfolder: not the parent, another folder or a sort link
        assert datapackage.check(source(server.url("/dir/page.html")), fetcher()) == ["未找到任何数据包（datapackage.json）"]
        assert "既不是数据包描述" in datapackage.check(source(server.url("/text")), fetcher())[0]
        assert "404" in datapackage.check(source(server.url("/missing/datapackage.json")), fetcher())[0]
        server.route("/only-out.html", Reply(200, b'<a href="http://example.org/x/">x</a>', {"Content-Type": "text/html"}))
        with pytest.raises(FetchError, match="目录页中没有找到数据包"):
            read(server.url("/only-out.html"))


def test_check_validates_the_shape_without_fetching_anything_itself(site: FolderServer) -> None:
    url = site.url("/packages/parking-extra/datapackage.json")
    problems = datapackage.check(source(url), fetcher())
    assert problems == [f'{url}：数据包描述不符合 Frictionless 规范：The data resource has an error: path "file:///etc/passwd" is not safe']
    assert "/profiles/evil.json" not in site.requests  # the profile URL was never fetched

    with PayloadServer() as server:
        bad = {"name": "bad", "title": "字段类型写错", "resources": [
            {"name": "t", "path": "t.csv", "schema": {"fields": [{"name": "x", "type": "strin"}]}}]}
        server.route("/bad/datapackage.json", Reply(200, json.dumps(bad).encode(), {"Content-Type": "application/json"}))
        (problem,) = datapackage.check(source(server.url("/bad/datapackage.json")), fetcher())
        assert "数据包描述不符合 Frictionless 规范" in problem and "strin" in problem
        assert server.requests == ["/bad/datapackage.json"]  # not t.csv
