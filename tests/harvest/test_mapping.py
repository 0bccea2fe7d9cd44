"""Mapping remote records into valid entries: the source's defaults, remote vocabulary (Chinese
labels, ASCII values, synonyms, URIs), per-source field overrides, the department rules, and
records that cannot be valid entries failing with the reason. Also the settings' check."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.orm import Session

from harvest.mapping import DEFAULT_SETTINGS, SETTING_LABELS, MappingError, map_record, read_path, validate_settings
from harvest.records import RemoteRecord, RemoteResource
from harvest.vocabulary import UnknownValue, parse_choice
from portal.accounts import create_department
from portal.entry_input import rule_errors
from portal.models import Department, HarvestSource
from portal.vocab import ClassificationKind, FormatClass, OpenType, SecurityLevel, ShareType, UpdateCycle

from ..support import NOW, make_uscc


@pytest.fixture
def departments(session: Session) -> tuple[Department, Department]:
    a = create_department(session, name="经开区数据资源局", code=make_uscc(21), parent=None, now=NOW)
    b = create_department(session, name="经开区生态环境分局", code=make_uscc(22), parent=None, now=NOW)
    session.flush()
    return a, b


def source(default: Department | None = None, **settings: object) -> HarvestSource:
    return HarvestSource(name="test", title="测试来源", kind="ckan", url="https://data.example.cn", settings={
        **({"department": default.code} if default else {}), **settings,
    })


def record(**values: object) -> RemoteRecord:
    base: dict[str, object] = {"guid": "g-1", "title": "空气质量日报", "name": "air-daily", "organization": "env"}
    base.update(values)
    return RemoteRecord(**base)  # type: ignore[arg-type]


def test_a_plain_ckan_record_gets_the_sources_defaults(session: Session, departments: tuple[Department, Department]) -> None:
    mapped = map_record(session, source(departments[0]), record(notes="每日空气质量。", tags=["空气"], resources=[RemoteResource("https://x/a.xlsx", format="XLSX")]), {})
    fields = mapped.fields
    assert mapped.department == departments[0] and mapped.slug == "air-daily" and not mapped.open_declared and not mapped.items_declared
    assert (fields.share_type, fields.open_type, fields.update_cycle, fields.security_level) == (
        ShareType.CONDITIONAL, OpenType.CLOSED, UpdateCycle.IRREGULAR, SecurityLevel.GENERAL)
    assert (fields.classification_kind, fields.classification_code) == (ClassificationKind.THEME, "2990100")
    assert fields.format_class == FormatClass.SPREADSHEET and fields.format_type == "XLSX"
    assert fields.share_condition and fields.abstract == "每日空气质量。" and fields.keywords == ["空气"]
    assert rule_errors(fields) == {}


def test_remote_vocabulary_in_any_of_its_spellings(session: Session, departments: tuple[Department, Department]) -> None:
    extras = {
        "共享类型": "不予共享", "法律依据": "《数据安全法》第二十一条", "开放类型": "有条件开放", "开放条件": "须签订使用协议",
        "更新周期": "http://publications.europa.eu/resource/authority/frequency/QUARTERLY", "安全级别": "一般",
        "资源分类": "部门", "分类路径": "生态环境/执法", "分类代码": "3130100", "资源代码": "3130100/000042", "含个人信息": "否",
        "发布日期": "2025-04-01T00:00:00", "资源格式分类": "电子表格",
    }
    mapped = map_record(session, source(departments[0]), record(extras=extras), {})
    fields = mapped.fields
    assert (fields.share_type, fields.open_type, fields.update_cycle) == (ShareType.NONE, OpenType.ON_APPLICATION, UpdateCycle.QUARTERLY)
    assert fields.classification_kind == ClassificationKind.DEPARTMENT and fields.classification_path == "生态环境/执法"
    assert mapped.resource_code == "3130100/000042" and mapped.open_declared and str(fields.publish_date) == "2025-04-01"
    for text, cycle in [("每日", UpdateCycle.DAILY), ("R/P1M", UpdateCycle.MONTHLY), ("annual", UpdateCycle.YEARLY), ("irregular", UpdateCycle.IRREGULAR)]:
        assert parse_choice(UpdateCycle, text, "更新周期") == cycle
    with pytest.raises(UnknownValue, match="更新周期“每两年”无法识别"):
        parse_choice(UpdateCycle, "每两年", "更新周期")


@pytest.mark.parametrize(("extras", "stage", "reason"), [
    ({"开放类型": "随便"}, "map", "开放类型“随便”无法识别"),
    ({"update_cycle": "fortnightly"}, "map", "更新周期“fortnightly”无法识别"),
    ({"含个人信息": "也许"}, "map", "含个人信息“也许”无法识别"),
    ({"发布日期": "去年"}, "map", "发布日期“去年”无法识别"),
    ({"分类代码": "2050100"}, "map", "分类信息不完整"),
    ({"data_items": "[not json"}, "map", "信息项不是有效的 JSON 列表"),
    ({"安全级别": "重要", "开放类型": "无条件开放"}, "validate", "重要数据和核心数据只能设为依法不予开放"),
    ({"共享类型": "不予共享"}, "validate", "不予共享的信息资源必须填写法律"),
    ({"开放类型": "依申请开放"}, "validate", "依申请开放的信息资源须说明开放条件"),
    ({"data_items": json.dumps([{"name": "1bad", "title": "坏字段"}])}, "validate", "字段名须以字母或下划线开头"),
])
def test_records_that_cannot_be_valid_entries_fail_with_the_reason(
    session: Session, departments: tuple[Department, Department], extras: dict[str, str], stage: str, reason: str,
) -> None:
    with pytest.raises(MappingError) as failed:
        map_record(session, source(departments[0]), record(extras=extras), {})
    assert failed.value.stage == stage and reason in failed.value.message


def test_a_title_too_long_is_a_failure_not_a_cut(session: Session, departments: tuple[Department, Department]) -> None:
    with pytest.raises(MappingError, match="资源名称不能超过200个字符"):
        map_record(session, source(departments[0]), record(title="长" * 201), {})


def test_the_department(session: Session, departments: tuple[Department, Department]) -> None:
    a, b = departments
    assert map_record(session, source(a), record(organization="env"), {"env": b}).department == b  # the Bureau's table
    assert map_record(session, source(a), record(organization=b.code.lower()), {}).department == b  # a zone portal's organization name
    assert map_record(session, source(a), record(organization="x", organization_title="经开区生态环境分局"), {}).department == b
    assert map_record(session, source(a), record(organization="elsewhere"), {}).department == a  # the default
    with pytest.raises(MappingError, match="来源组织“epb”没有对应的部门（市环保局）"):
        map_record(session, source(), record(organization="epb", organization_title="市环保局"), {})
    overridden = source(None, fields={"department": "extras.提供单位代码"})
    assert map_record(session, overridden, record(extras={"提供单位代码": b.code}), {}).department == b
    with pytest.raises(MappingError, match="来源指明的部门“91340100MA2N0F1A2B”在本平台不存在"):
        map_record(session, overridden, record(extras={"提供单位代码": "91340100MA2N0F1A2B"}), {})


def test_per_source_field_overrides(session: Session, departments: tuple[Department, Department]) -> None:
    src = source(departments[0], fields={"abstract": "extras.简介", "update_cycle": "extras.频度", "keywords": "themes"}, share_type="无条件共享")
    mapped = map_record(session, src, record(notes="不用这个", themes=["环境", "监测"], extras={"简介": "空气质量日报数据。", "频度": "每周"}), {})
    assert mapped.fields.abstract == "空气质量日报数据。" and mapped.fields.update_cycle == UpdateCycle.WEEKLY
    assert mapped.fields.keywords == ["环境", "监测"] and mapped.fields.share_type == ShareType.UNCONDITIONAL
    assert read_path(record(extras={"Frequency": "daily"}), "extras.frequency") == "daily"
    assert read_path(record(), "extras.none") is None


def test_the_zone_portals_extras_map_back_to_the_same_fields(session: Session, departments: tuple[Department, Department]) -> None:
    items = [{"name": "station", "title": "监测站点", "data_type": "C", "length": 50, "description": "", "share_type": None,
              "open_type": "closed", "constraints": {"required": True}}, {"name": "aqi", "title": "空气质量指数", "data_type": "I"}]
    extras = {
        "resource_code": "2050100/000001", "classification_kind": "theme", "classification_path": "生态环保/大气环境",
        "classification_code": "2050100", "format_class": "spreadsheet", "format_type": "CSV", "share_type": "unconditional",
        "share_condition": "", "share_method": "文件下载", "legal_basis": "", "open_type": "open", "open_condition": "",
        "update_cycle": "daily", "publish_date": "2025-03-01", "related_codes": "2050100/000002,2050100/000003",
        "usage_requirements": "注明来源", "security_level": "general", "personal_information": "false",
        "data_items": json.dumps(items, ensure_ascii=False), "data_updated": "2025-03-01T00:00:00", "version": "3",
    }
    mapped = map_record(session, source(departments[0]), record(extras=extras, license=""), {})
    fields = mapped.fields
    assert mapped.resource_code == "2050100/000001" and mapped.items_declared and mapped.open_declared
    assert fields.related_codes == ["2050100/000002", "2050100/000003"] and fields.share_method == "文件下载"
    assert [(i.name, i.data_type.value, i.open_type) for i in fields.items] == [("station", "C", OpenType.CLOSED), ("aqi", "I", None)]
    assert fields.items[0].constraints == {"required": True} and fields.usage_requirements == "注明来源"


def test_settings_are_checked(session: Session, departments: tuple[Department, Department]) -> None:
    assert set(SETTING_LABELS) == set(DEFAULT_SETTINGS)
    assert validate_settings(session, {}) == {}
    assert validate_settings(session, dict(DEFAULT_SETTINGS, department=departments[0].code)) == {}
    errors = validate_settings(session, {
        "department": "91340100MA2N0F1A2B", "share_type": "随便", "open_type": "依申请开放", "grace_days": -1, "page_size": "x",
        "classification": {"kind": "主题", "path": "其他", "code": "3990100"}, "publish": "yes", "fields": {"abstract": "body"}, "colour": 1,
    })
    assert set(errors) == {"department", "share_type", "open_condition", "grace_days", "page_size", "classification", "publish", "fields", "colour"}
    assert errors["classification"] == "主题类信息资源的分类代码应以 2 开头" and "来源路径“body”无效" in errors["fields"]
    assert validate_settings(session, {"share_type": "none"}) == {"legal_basis": "默认共享类型为不予共享时，须填写法律依据（第十三条）"}
    assert validate_settings(session, {"fields": {"colour": "notes"}})["fields"].startswith("没有目录字段 colour")
