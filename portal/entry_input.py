"""An entry's input and the rules of the Measures on it.

`parse_entry` is the one place where an entry's input (a web form, a data package descriptor)
is checked, with Chinese field errors; `entry_warnings` lists what the Measures discourage
without forbidding it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .errors import Invalid
from .models import Entry
from .vocab import (
    BASE_LIBRARIES,
    CLASSIFICATION_DIGIT,
    ClassificationKind,
    DataType,
    FormatClass,
    N_,
    OpenType,
    SecurityLevel,
    ShareType,
    UpdateCycle,
)

CLASSIFICATION_CODE = re.compile(r"\d{3,9}")
RESOURCE_CODE = re.compile(r"(\d{3,9})/(\d{6})")
FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
SLUG = re.compile(r"[a-z0-9][a-z0-9\-]{0,99}")
# Restrictiveness, so that a data item is never more open or shared than its entry.
_OPEN_RANK = {OpenType.OPEN: 0, OpenType.ON_APPLICATION: 1, OpenType.CLOSED: 2}
_SHARE_RANK = {ShareType.UNCONDITIONAL: 0, ShareType.CONDITIONAL: 1, ShareType.NONE: 2}

# Field labels as users see them (history page, error summaries).
FIELD_LABELS = {
    "title": N_("资源名称"),
    "classification_kind": N_("资源分类"),
    "classification_path": N_("分类路径"),
    "classification_code": N_("分类代码"),
    "abstract": N_("资源摘要"),
    "keywords": N_("关键字"),
    "format_class": N_("资源格式分类"),
    "format_type": N_("资源格式类型"),
    "share_type": N_("共享类型"),
    "share_condition": N_("共享条件"),
    "share_method": N_("共享方式"),
    "legal_basis": N_("法律依据"),
    "open_type": N_("开放类型"),
    "open_condition": N_("开放条件"),
    "update_cycle": N_("更新周期"),
    "publish_date": N_("发布日期"),
    "related_codes": N_("关联资源代码"),
    "usage_requirements": N_("使用要求"),
    "security_level": N_("安全级别"),
    "personal_information": N_("含个人信息"),
    "items": N_("信息项"),
    "status": N_("状态"),
    "files": N_("资源文件"),
    "department": N_("提供方"),
}


@dataclass
class ItemFields:
    title: str
    name: str
    data_type: DataType
    length: int | None = None
    description: str = ""
    share_type: ShareType | None = None
    open_type: OpenType | None = None
    constraints: dict[str, Any] = field(default_factory=dict)  # required, unique, enum, pattern


@dataclass
class EntryFields:
    """Everything an editor sets on an entry; codes, status and department are set elsewhere."""

    title: str
    classification_kind: ClassificationKind
    classification_path: str
    classification_code: str
    format_class: FormatClass
    share_type: ShareType
    open_type: OpenType
    update_cycle: UpdateCycle
    security_level: SecurityLevel
    abstract: str = ""
    keywords: list[str] = field(default_factory=list)
    format_type: str = ""
    share_condition: str = ""
    share_method: str = ""
    legal_basis: str = ""
    open_condition: str = ""
    publish_date: date | None = None
    related_codes: list[str] = field(default_factory=list)
    usage_requirements: str = ""
    personal_information: bool = False
    items: list[ItemFields] = field(default_factory=list)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _list(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        parts: Iterable[Any] = value
    else:
        parts = re.split(r"[,，、;；\s]+", _text(value))
    return [p for p in (_text(v) for v in parts) if p]


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return _text(value).lower() in {"1", "true", "on", "yes", "是"}


def _choice(errors: dict[str, str], key: str, enum: type, value: Any, message: str, *, optional: bool = False) -> Any:
    if optional and not _text(value):
        return None
    try:
        return enum.parse(_text(value))
    except ValueError:
        errors[key] = message
        return None


def parse_entry(data: Mapping[str, Any]) -> EntryFields:
    """Check an entry's input and return its fields; raises Invalid with Chinese field errors.

    Vocabulary values may be given as stored values or as their Chinese labels.
    """
    errors: dict[str, str] = {}
    title = _text(data.get("title"))
    if not title:
        errors["title"] = N_("请填写资源名称")
    elif len(title) > 200:
        errors["title"] = N_("资源名称不能超过200个字符")
    kind = _choice(errors, "classification_kind", ClassificationKind, data.get("classification_kind"), "请选择资源分类（基础、主题或部门）")
    code = _text(data.get("classification_code"))
    if not CLASSIFICATION_CODE.fullmatch(code):
        errors["classification_code"] = N_("分类代码应为3至9位数字")
    elif kind and code[0] != CLASSIFICATION_DIGIT[kind]:
        errors["classification_code"] = f"{kind.label}类信息资源的分类代码应以 {CLASSIFICATION_DIGIT[kind]} 开头"
    path = "/".join(_list(_text(data.get("classification_path")).replace("/", " ")))
    if not path:
        errors["classification_path"] = N_("请填写分类路径，如“生态环保/大气环境”")
    fields = dict(
        format_class=_choice(errors, "format_class", FormatClass, data.get("format_class"), "请选择资源格式分类"),
        share_type=_choice(errors, "share_type", ShareType, data.get("share_type"), "请选择共享类型"),
        open_type=_choice(errors, "open_type", OpenType, data.get("open_type"), "请选择开放类型"),
        update_cycle=_choice(errors, "update_cycle", UpdateCycle, data.get("update_cycle"), "请选择更新周期"),
        security_level=_choice(errors, "security_level", SecurityLevel, data.get("security_level"), "请选择安全级别"),
    )
    publish_date = None
    if raw_date := data.get("publish_date"):
        try:
            publish_date = raw_date if isinstance(raw_date, date) else date.fromisoformat(_text(raw_date))
        except ValueError:
            errors["publish_date"] = N_("发布日期格式应为 YYYY-MM-DD")
    related = _list(data.get("related_codes"))
    if bad := [c for c in related if not RESOURCE_CODE.fullmatch(c)]:
        errors["related_codes"] = f"关联资源代码格式不正确：{'、'.join(bad[:3])}（应为“分类代码/6位顺序号”）"
    items = _parse_items(errors, data.get("items") or [], fields["share_type"], fields["open_type"])
    entry = EntryFields(
        title=title,
        classification_kind=kind,
        classification_path=path,
        classification_code=code,
        abstract=_text(data.get("abstract")),
        keywords=_list(data.get("keywords")),
        format_type=_text(data.get("format_type")).upper()[:20],
        share_condition=_text(data.get("share_condition")),
        share_method=_text(data.get("share_method"))[:200],
        legal_basis=_text(data.get("legal_basis")),
        open_condition=_text(data.get("open_condition")),
        publish_date=publish_date,
        related_codes=related,
        usage_requirements=_text(data.get("usage_requirements")),
        personal_information=_flag(data.get("personal_information")),
        items=items,
        **fields,
    )
    errors.update(rule_errors(entry))
    if errors:
        raise Invalid(errors)
    return entry


def rule_errors(entry: EntryFields | Any) -> dict[str, str]:
    """The Measures' rules between fields (Art. 13, 16, 23)."""
    errors = {}
    if entry.share_type == ShareType.NONE and not entry.legal_basis:
        errors["legal_basis"] = N_("不予共享的信息资源必须填写法律、法规、规章或国家、省、市文件依据（第十三条）")
    if entry.share_type == ShareType.CONDITIONAL and not entry.share_condition:
        errors["share_condition"] = N_("有条件共享的信息资源须说明共享条件")
    if entry.open_type == OpenType.ON_APPLICATION and not entry.open_condition:
        errors["open_condition"] = N_("依申请开放的信息资源须说明开放条件")
    if entry.security_level in (SecurityLevel.IMPORTANT, SecurityLevel.CORE) and entry.open_type not in (None, OpenType.CLOSED):
        errors["open_type"] = N_("重要数据和核心数据只能设为依法不予开放")
    elif entry.personal_information and entry.open_type == OpenType.OPEN:
        errors["open_type"] = N_("含个人信息的信息资源不能无条件开放（第十六条）")
    return errors


def _parse_items(errors: dict[str, str], rows: Iterable[Mapping[str, Any]], share: ShareType | None, open_: OpenType | None) -> list[ItemFields]:
    items: list[ItemFields] = []
    seen: set[str] = set()
    for number, row in enumerate(rows, start=1):
        title, name = _text(row.get("title")), _text(row.get("name"))
        if not any(_text(v) for k, v in row.items() if k not in ("data_type",)):
            continue  # a blank row of the form
        key = f"items.{number}"
        if not title:
            errors[key] = f"第{number}个信息项缺少信息项名称"
        elif not FIELD_NAME.fullmatch(name):
            errors[key] = f"信息项“{title}”的字段名须以字母或下划线开头，只含字母、数字和下划线"
        elif name.lower() in seen:
            errors[key] = f"字段名 {name} 重复"
        seen.add(name.lower())
        data_type = _choice(errors, key, DataType, row.get("data_type"), f"信息项“{title or number}”的数据类型不正确")
        length = None
        if _text(row.get("length")):
            try:
                length = int(_text(row.get("length")))
                if not 0 < length <= 100000:
                    raise ValueError
            except ValueError:
                errors[key] = f"信息项“{title or number}”的数据长度应为正整数"
        item_share = _choice(errors, key, ShareType, row.get("share_type"), "信息项共享类型不正确", optional=True)
        item_open = _choice(errors, key, OpenType, row.get("open_type"), "信息项开放类型不正确", optional=True)
        if item_share and share and _SHARE_RANK[item_share] < _SHARE_RANK[share]:
            errors[key] = f"信息项“{title}”的共享类型不能比资源本身更宽松"
        if item_open and open_ and _OPEN_RANK[item_open] < _OPEN_RANK[open_]:
            errors[key] = f"信息项“{title}”的开放类型不能比资源本身更宽松"
        constraints = _parse_constraints(errors, key, title or str(number), row)
        items.append(ItemFields(title, name, data_type, length, _text(row.get("description")), item_share, item_open, constraints))
    return items


def _parse_constraints(errors: dict[str, str], key: str, label: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """Table Schema constraints of a data item; the form sends `required`, `unique` as
    checkboxes and `enum` as values separated by 、 or commas, the package loader sends lists."""
    given = row.get("constraints") if isinstance(row.get("constraints"), Mapping) else row
    constraints: dict[str, Any] = {}
    for flag in ("required", "unique"):
        if _flag(given.get(flag)):
            constraints[flag] = True
    enum = given.get("enum")
    values = [str(v).strip() for v in enum] if isinstance(enum, list) else re.split(r"[、,，]", _text(enum))
    if values := [v for v in values if v]:
        constraints["enum"] = values
    if pattern := _text(given.get("pattern")):
        try:
            re.compile(pattern)
            constraints["pattern"] = pattern
        except re.error:
            errors[key] = f"信息项“{label}”的格式（正则表达式）不正确"
    return constraints


def is_base_library(entry: Entry | EntryFields) -> bool:
    return entry.classification_kind == ClassificationKind.BASE and entry.classification_code[:3] in BASE_LIBRARIES


def entry_warnings(entry: Entry | EntryFields) -> list[str]:
    """Things worth a second look that the Measures do not forbid outright."""
    warnings = []
    if is_base_library(entry) and entry.share_type != ShareType.UNCONDITIONAL:
        library = BASE_LIBRARIES[entry.classification_code[:3]]
        warnings.append(f"“{library}”基础库的基础信息项应当无条件共享（第十三条），本资源标为{entry.share_type.label}。")
    return warnings
