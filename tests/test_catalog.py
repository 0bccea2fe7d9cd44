"""Entry input rules, resource codes, versioning and publishing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, object_session

from portal import catalog, entry_input, open_review
from portal.accounts import create_department
from portal.errors import Invalid
from portal.models import EntryVersion
from portal.vocab import ClassificationKind, DataType, EntryStatus, OpenType, SecurityLevel, ShareType

from .support import NOW, entry_fields, make_uscc

VALID: dict[str, Any] = {
    "title": "经开区空气质量小时监测数据",
    "classification_kind": "主题",
    "classification_path": "生态环保/大气环境",
    "classification_code": "2050100",
    "format_class": "电子表格",
    "format_type": "csv",
    "share_type": "无条件共享",
    "open_type": "无条件开放",
    "update_cycle": "每日",
    "security_level": "一般",
    "keywords": "空气质量、环境监测, AQI",
    "related_codes": "1020100/000001",
    "publish_date": "2025-03-01",
    "items": [
        {"title": "监测站点", "name": "station", "data_type": "C", "length": "50"},
        {"title": "空气质量指数", "name": "aqi", "data_type": "I", "length": ""},
        {"title": "", "name": "", "data_type": "C", "length": ""},  # blank form row
    ],
}


def invalid(**changes: Any) -> dict[str, str]:
    with pytest.raises(Invalid) as caught:
        catalog.parse_entry({**VALID, **changes})
    return caught.value.errors


def test_parse_valid_input_accepts_labels_and_values() -> None:
    fields = catalog.parse_entry(VALID)
    assert fields.classification_kind == ClassificationKind.THEME
    assert fields.share_type == ShareType.UNCONDITIONAL
    assert fields.keywords == ["空气质量", "环境监测", "AQI"]
    assert fields.format_type == "CSV"
    assert [i.name for i in fields.items] == ["station", "aqi"]
    assert fields.items[0].length == 50 and fields.items[1].data_type == DataType.I
    assert catalog.parse_entry({**VALID, "share_type": "unconditional"}).share_type == ShareType.UNCONDITIONAL


@pytest.mark.parametrize(
    "changes, field, words",
    [
        ({"title": " "}, "title", "资源名称"),
        ({"classification_kind": "其他"}, "classification_kind", "资源分类"),
        ({"classification_code": "20a"}, "classification_code", "3至9位数字"),
        ({"classification_code": "1050100"}, "classification_code", "以 2 开头"),
        ({"share_type": "不予共享"}, "legal_basis", "第十三条"),
        ({"share_type": "有条件共享"}, "share_condition", "共享条件"),
        ({"open_type": "依申请开放"}, "open_condition", "开放条件"),
        ({"security_level": "重要"}, "open_type", "重要数据和核心数据"),
        ({"security_level": "核心", "open_type": "依申请开放", "open_condition": "x"}, "open_type", "依法不予开放"),
        ({"personal_information": "on"}, "open_type", "个人信息"),
        ({"publish_date": "2025-13-01"}, "publish_date", "YYYY-MM-DD"),
        ({"related_codes": "abc"}, "related_codes", "关联资源代码"),
        ({"update_cycle": ""}, "update_cycle", "更新周期"),
    ],
)
def test_rules_give_chinese_field_errors(changes: dict[str, Any], field: str, words: str) -> None:
    errors = invalid(**changes)
    assert field in errors
    assert words in errors[field]


@pytest.mark.parametrize(
    "item, words",
    [
        ({"title": "", "name": "x", "data_type": "C"}, "缺少信息项名称"),
        ({"title": "名称", "name": "1abc", "data_type": "C"}, "字段名"),
        ({"title": "名称", "name": "station", "data_type": "C"}, "重复"),
        ({"title": "名称", "name": "n", "data_type": "Q"}, "数据类型"),
        ({"title": "名称", "name": "n", "data_type": "C", "length": "-3"}, "正整数"),
        ({"title": "名称", "name": "n", "data_type": "C", "open_type": "bogus"}, "开放类型"),
    ],
)
def test_data_item_errors(item: dict[str, str], words: str) -> None:
    errors = invalid(items=[VALID["items"][0], item])
    assert any(words in message for message in errors.values()), errors


def test_item_cannot_be_more_open_than_its_entry() -> None:
    item = {"title": "联系电话", "name": "phone", "data_type": "C", "open_type": "无条件开放"}
    errors = invalid(open_type="依申请开放", open_condition="说明用途", items=[item])
    assert "更宽松" in errors["items.1"]
    fields = catalog.parse_entry({**VALID, "items": [{**item, "open_type": "依法不予开放"}]})
    assert fields.items[0].open_type == OpenType.CLOSED


def test_base_library_not_unconditional_warns() -> None:
    base = dict(classification_kind=ClassificationKind.BASE, classification_path="人口/居住登记", classification_code="1010100")
    assert catalog.entry_warnings(entry_fields(**base)) == []
    warnings = catalog.entry_warnings(entry_fields(**base, share_type=ShareType.CONDITIONAL))
    assert len(warnings) == 1 and "人口" in warnings[0] and "第十三条" in warnings[0]
    assert catalog.entry_warnings(entry_fields(share_type=ShareType.CONDITIONAL)) == []  # a theme entry


def test_resource_codes_follow_the_classification(session: Session) -> None:
    department = create_department(session, name="生态环境分局", code=make_uscc(7), parent=None, now=NOW)
    first = catalog.create_entry(session, department=department, fields=entry_fields(), actor=None, now=NOW)
    second = catalog.create_entry(session, department=department, fields=entry_fields(title="第二个"), actor=None, now=NOW)
    other = catalog.create_entry(
        session, department=department, fields=entry_fields(classification_code="2060100"), actor=None, now=NOW
    )
    assert (first.resource_code, second.resource_code, other.resource_code) == ("2050100/000001", "2050100/000002", "2060100/000001")
    assert first.slug == "2050100-000001" and first.status == EntryStatus.DRAFT
    with pytest.raises(Invalid) as caught:
        catalog.create_entry(session, department=department, fields=entry_fields(), actor=None, now=NOW, resource_code="2050100/000002")
    assert "已被使用" in caught.value.errors["resource_code"]
    with pytest.raises(Invalid):
        catalog.create_entry(session, department=department, fields=entry_fields(), actor=None, now=NOW, resource_code="2060100/000009")


def test_every_change_is_versioned_with_old_and_new_values(session: Session) -> None:
    department = create_department(session, name="生态环境分局", code=make_uscc(7), parent=None, now=NOW)
    entry = catalog.create_entry(session, department=department, fields=entry_fields(), actor=None, actor_name="测试", now=NOW)
    later = NOW + timedelta(hours=1)
    changed = catalog.update_entry(
        session,
        entry,
        entry_fields(title="新名称", share_type=ShareType.CONDITIONAL, share_condition="仅限执法使用", items=entry_fields().items[:1]),
        actor=None,
        actor_name="测试",
        now=later,
    )
    assert changed and entry.version == 2
    assert not catalog.update_entry(session, entry, catalog.parse_entry(_as_input(entry)), actor=None, now=later)
    history = catalog.entry_history(session, entry)
    assert [v.number for v in history] == [2, 1]
    update = {c["field"]: c for c in history[0].changes}
    assert set(update) == {"title", "share_type", "share_condition", "items"}
    assert (update["title"]["old"], update["title"]["new"]) == ("测试数据资源", "新名称")
    assert (update["share_type"]["old"], update["share_type"]["new"]) == ("无条件共享", "有条件共享")
    assert "aqi" in update["items"]["old"] and "aqi" not in update["items"]["new"]
    assert history[0].at == later and history[0].actor == "测试"
    created = {c["field"] for c in history[1].changes}
    assert {"title", "department", "share_type", "items"} <= created


def _as_input(entry: Any) -> dict[str, Any]:
    data = {key: getattr(entry, key) for key in catalog.FIELD_LABELS if hasattr(entry, key) and key not in ("items", "files", "department", "status")}
    data["items"] = [{"title": i.title, "name": i.name, "data_type": i.data_type, "length": i.length, "description": i.description} for i in entry.items]
    data["open_type"], data["open_condition"] = open_review.proposed_open_type(object_session(entry), entry)  # as the form shows it
    return data


def test_publish_needs_items_and_a_second_click_changes_nothing(session: Session) -> None:
    department = create_department(session, name="生态环境分局", code=make_uscc(7), parent=None, now=NOW)
    empty = catalog.create_entry(session, department=department, fields=entry_fields(items=[]), actor=None, now=NOW)
    with pytest.raises(Invalid):
        catalog.publish_entry(session, empty, actor=None, now=NOW)
    entry = catalog.create_entry(session, department=department, fields=entry_fields(title="有信息项"), actor=None, now=NOW)
    catalog.publish_entry(session, entry, actor=None, now=NOW)
    catalog.publish_entry(session, entry, actor=None, now=NOW)
    assert entry.status == EntryStatus.PUBLISHED and entry.publish_date == NOW.date()
    assert session.query(EntryVersion).filter_by(entry_id=entry.id, action="publish").count() == 1
    catalog.withdraw_entry(session, entry, actor=None, now=NOW)
    catalog.withdraw_entry(session, entry, actor=None, now=NOW)
    assert entry.status == EntryStatus.WITHDRAWN and entry.version == 3


def test_security_levels_closed_only() -> None:
    for level in (SecurityLevel.IMPORTANT, SecurityLevel.CORE):
        assert entry_input.rule_errors(entry_fields(security_level=level, open_type=OpenType.OPEN))
        assert not entry_input.rule_errors(entry_fields(security_level=level, open_type=OpenType.CLOSED))
