"""The sample data packages in datasets/: valid Frictionless packages whose `catalog` metadata
follows the national catalog guide and the zone's sharing and opening rules."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from pprint import pformat

import frictionless
import pytest

from portal.codes import is_valid_id_number, uscc_error

DATASETS = Path(__file__).parents[1] / "datasets"
PACKAGES = sorted(p.parent for p in DATASETS.glob("*/datapackage.json"))

SHARE_TYPES = {"无条件共享", "有条件共享", "不予共享"}
OPEN_TYPES = {"无条件开放", "依申请开放", "依法不予开放"}
UPDATE_CYCLES = {"实时", "每日", "每周", "每月", "每季度", "每半年", "每年", "不定期"}
SECURITY_LEVELS = {"一般", "重要", "核心"}
FORMAT_CLASSES = {"电子文件", "电子表格", "数据库", "图形图像", "流媒体", "自描述格式", "接口", "其他"}
KIND_DIGIT = {"基础": "1", "主题": "2", "部门": "3"}
BASE_LIBRARIES = {"101": "人口", "102": "法人单位", "103": "自然资源和空间地理", "104": "电子证照"}
DATA_TYPES = set("CNYDTLMGBIF")
# Frictionless field type -> the guide's data type codes it may carry
DATA_TYPES_OF = {
    "string": {"C", "M"},
    "integer": {"I", "N"},
    "number": {"N", "F", "B", "Y"},
    "date": {"D"},
    "datetime": {"T"},
    "boolean": {"L"},
}
CATALOG_KEYS = {
    "resource_code", "department", "classification", "format_class", "format_type", "share_type",
    "share_condition", "share_method", "legal_basis", "open_type", "open_condition", "update_cycle",
    "publish_date", "related_codes", "usage_requirements", "security_level", "personal_information",
}
PERSONAL_TITLES = {"姓名", "公民身份号码", "身份证号", "手机号码", "手机号", "住址", "联系地址", "居住地址"}
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
RESOURCE_CODE = re.compile(r"(\d{3,9})/(\d{6})")


def descriptor(folder: Path) -> dict:
    return json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))


def departments() -> list[dict]:
    return json.loads((DATASETS / "departments.json").read_text(encoding="utf-8"))


def all_descriptors() -> dict[str, dict]:
    return {folder.name: descriptor(folder) for folder in PACKAGES}


def ids(folders: list[Path]) -> list[str]:
    return [f.name for f in folders]


# ------------------------------------------------------------------ departments


def test_departments() -> None:
    depts = departments()
    assert len(depts) >= 8
    codes = [d["code"] for d in depts]
    names = [d["name"] for d in depts]
    assert len(set(codes)) == len(codes), "duplicate department code"
    assert len(set(names)) == len(names), "duplicate department name"
    for d in depts:
        assert set(d) == {"name", "code", "parent"}, d
        assert uscc_error(d["code"]) is None, (d["name"], uscc_error(d["code"]))
        assert d["code"].startswith("11"), f"{d['name']}: a government organ's code starts with 11"
        assert d["parent"] is None or d["parent"] in codes, d
        assert d["parent"] != d["code"]
    roots = [d for d in depts if d["parent"] is None]
    assert len(roots) == 1 and roots[0]["name"].endswith("管理委员会")


# ------------------------------------------------------------------ each package


@pytest.mark.parametrize("folder", PACKAGES, ids=ids(PACKAGES))
def test_frictionless_valid(folder: Path) -> None:
    report = frictionless.validate(str(folder / "datapackage.json"))
    assert report.valid, pformat(report.flatten(["rowNumber", "fieldNumber", "type", "note"]))


@pytest.mark.parametrize("folder", PACKAGES, ids=ids(PACKAGES))
def test_custom_properties_survive_frictionless(folder: Path) -> None:
    """The importer reads `catalog` and the field extras back through Frictionless."""
    raw = descriptor(folder)
    loaded = frictionless.Package(str(folder / "datapackage.json")).to_dict()
    assert loaded["catalog"] == raw["catalog"]
    for raw_res, res in zip(raw["resources"], loaded["resources"], strict=True):
        assert res["schema"]["fields"] == raw_res["schema"]["fields"]


@pytest.mark.parametrize("folder", PACKAGES, ids=ids(PACKAGES))
def test_descriptor(folder: Path) -> None:
    desc = descriptor(folder)
    assert SLUG.fullmatch(folder.name), folder.name
    assert desc["name"] == folder.name
    assert desc["title"].strip() and desc["description"].strip()
    assert re.search(r"[\u4e00-\u9fff]", desc["title"] + desc["description"]), "title and description are Chinese"
    assert isinstance(desc["keywords"], list) and desc["keywords"] and all(isinstance(k, str) and k for k in desc["keywords"])
    assert desc["resources"], "a package has at least one resource"
    names = [r["name"] for r in desc["resources"]]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("folder", PACKAGES, ids=ids(PACKAGES))
def test_catalog(folder: Path) -> None:
    cat = descriptor(folder)["catalog"]
    assert set(cat) == CATALOG_KEYS, set(cat) ^ CATALOG_KEYS

    cls = cat["classification"]
    assert set(cls) == {"kind", "path", "code"}
    assert cls["kind"] in KIND_DIGIT
    assert re.fullmatch(r"\d{3,9}", cls["code"]), cls["code"]
    assert cls["code"][0] == KIND_DIGIT[cls["kind"]], f"{cls['kind']} codes start with {KIND_DIGIT[cls['kind']]}"
    segments = cls["path"].split("/")
    assert all(s.strip() for s in segments), cls["path"]
    if cls["kind"] == "基础":
        prefix = cls["code"][:3]
        assert prefix in BASE_LIBRARIES, f"base library code prefix {prefix}"
        assert segments[0] == BASE_LIBRARIES[prefix], cls["path"]

    m = RESOURCE_CODE.fullmatch(cat["resource_code"])
    assert m, cat["resource_code"]
    assert m.group(1) == cls["code"], "resource_code starts with the classification code"
    assert m.group(2) != "000000"

    codes = {d["code"] for d in departments()}
    assert cat["department"] in codes, "provider department is in departments.json"
    assert uscc_error(cat["department"]) is None

    assert cat["format_class"] in FORMAT_CLASSES
    assert re.fullmatch(r"[A-Z0-9]{2,10}", cat["format_type"]), cat["format_type"]
    assert cat["update_cycle"] in UPDATE_CYCLES
    assert cat["security_level"] in SECURITY_LEVELS
    assert isinstance(cat["personal_information"], bool)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", cat["publish_date"])
    assert cat["usage_requirements"].strip()
    for key in ("share_condition", "open_condition", "legal_basis", "share_method"):
        assert isinstance(cat[key], str)

    assert cat["share_type"] in SHARE_TYPES
    if cat["share_type"] == "不予共享":
        assert re.search(r"《[^》]+》第[一二三四五六七八九十百零〇]+条", cat["legal_basis"]), \
            "不予共享 needs a legal basis naming a law and article"
    if cat["share_type"] == "有条件共享":
        assert cat["share_condition"].strip(), "有条件共享 needs a share condition"

    assert cat["open_type"] in OPEN_TYPES
    if cat["open_type"] == "依申请开放":
        assert cat["open_condition"].strip(), "依申请开放 needs an open condition"
    if cat["security_level"] in {"重要", "核心"}:
        assert cat["open_type"] == "依法不予开放", "重要/核心 data are not opened"
    if cat["personal_information"]:
        assert cat["open_type"] == "依法不予开放", "personal information is not opened"

    related = cat["related_codes"]
    assert isinstance(related, list) and len(set(related)) == len(related)
    assert cat["resource_code"] not in related


@pytest.mark.parametrize("folder", PACKAGES, ids=ids(PACKAGES))
def test_fields(folder: Path) -> None:
    desc = descriptor(folder)
    by_name: dict[str, dict] = {}
    for res in desc["resources"]:
        fields = res["schema"]["fields"]
        assert fields
        for f in fields:
            assert re.fullmatch(r"[a-z][a-z0-9_]*", f["name"]) and len(f["name"]) <= 64, f["name"]
            assert f.get("title", "").strip() and len(f["title"]) <= 100, f"{f['name']}: Chinese title"
            assert re.search(r"[\u4e00-\u9fff]", f["title"]), f["title"]
            assert f.get("description", "").strip(), f"{f['name']}: description"
            assert f["dataType"] in DATA_TYPES, f
            assert f["dataType"] in DATA_TYPES_OF[f["type"]], f"{f['name']}: {f['type']} is not {f['dataType']}"
            if "length" in f:
                assert f["dataType"] == "C" and isinstance(f["length"], int) and f["length"] > 0, f
            if "openType" in f:
                assert f["openType"] in OPEN_TYPES, f
            if "shareType" in f:
                assert f["shareType"] in SHARE_TYPES, f
            # data items are per entry: a name reused across resources must mean the same item
            if f["name"] in by_name:
                assert by_name[f["name"]] == f, f"field {f['name']} differs between resources"
            by_name[f["name"]] = f
        for key in res["schema"].get("primaryKey", []):
            assert key in {f["name"] for f in fields}
    if desc["catalog"]["personal_information"]:
        assert PERSONAL_TITLES & {f["title"] for f in by_name.values()}, "personal information columns"


@pytest.mark.parametrize("folder", PACKAGES, ids=ids(PACKAGES))
def test_resources(folder: Path) -> None:
    for res in descriptor(folder)["resources"]:
        assert SLUG.fullmatch(res["name"]), res["name"]
        assert res["title"].strip()
        assert res["format"] == "csv" and res["mediatype"] == "text/csv"
        path = folder / res["path"]
        assert path.is_file() and path.parent == folder, res["path"]
        text = path.read_bytes().decode(res["encoding"])
        assert not text.startswith("\ufeff")
        rows = list(csv.reader(io.StringIO(text)))
        fields = res["schema"]["fields"]
        assert rows[0] == [f["name"] for f in fields], "header row holds the field names"
        assert 30 <= len(rows) - 1 <= 300, f"{res['path']}: {len(rows) - 1} rows"
        # identifier columns carry valid check characters
        for i, f in enumerate(fields):
            values = [r[i] for r in rows[1:] if r[i]]
            if f["title"] in {"公民身份号码", "身份证号"}:
                bad = [v for v in values if not is_valid_id_number(v)]
                assert not bad, f"invalid ID numbers: {bad[:3]}"
            if "统一社会信用代码" in f["title"]:
                bad = [v for v in values if uscc_error(v) is not None]
                assert not bad, f"invalid USCC: {bad[:3]}"
        if res["encoding"].lower() != "utf-8":
            with pytest.raises(UnicodeDecodeError):
                path.read_bytes().decode("utf-8")


# ------------------------------------------------------------------ the set as a whole


def test_resource_codes() -> None:
    descs = all_descriptors()
    codes = [d["catalog"]["resource_code"] for d in descs.values()]
    assert len(set(codes)) == len(codes), [c for c, n in Counter(codes).items() if n > 1]
    by_class: dict[str, list[int]] = defaultdict(list)
    for code in codes:
        cls, seq = code.split("/")
        by_class[cls].append(int(seq))
    for cls, seqs in by_class.items():
        assert sorted(seqs) == list(range(1, len(seqs) + 1)), f"{cls}: sequence starts at 000001 with no gaps"
    for slug, d in descs.items():
        for rel in d["catalog"]["related_codes"]:
            assert rel in codes, f"{slug}: related code {rel} is not in the set"


def test_coverage() -> None:
    cats = [d["catalog"] for d in all_descriptors().values()]
    assert len(cats) >= 10
    assert len({c["department"] for c in cats}) >= 6
    assert {c["share_type"] for c in cats} == SHARE_TYPES
    assert {c["open_type"] for c in cats} == OPEN_TYPES
    assert len({c["update_cycle"] for c in cats}) >= 5
    assert any(c["security_level"] == "重要" for c in cats)
    assert sum(c["personal_information"] and c["open_type"] == "依法不予开放" for c in cats) >= 2
    assert any(c["classification"]["kind"] == "基础" and c["share_type"] != "无条件共享" for c in cats)
    assert any(c["related_codes"] for c in cats)
    resources = [r for d in all_descriptors().values() for r in d["resources"]]
    assert any(r["encoding"].lower() == "gbk" for r in resources)
    fields = [f for r in resources for f in r["schema"]["fields"]]
    assert any("openType" in f for f in fields)
    assert any(
        len(d["resources"]) >= 2 and len({json.dumps(r["schema"], sort_keys=True) for r in d["resources"]}) == 1
        for d in all_descriptors().values()
    ), "a package with two resources of the same schema"
