"""From a `RemoteRecord` to the catalog: its department and the `EntryFields` of a valid entry,
by the source's declared mapping (`settings`), or a `MappingError` with the reason.

Each catalog field is read from the first remote path that declares it: the source's override
(`settings["fields"]`), else the default paths, which understand CKAN's own fields, the zone
portal's CKAN extras (share_type, open_type, data_items ... as its API documents them) and the
Chinese names other Chinese catalogs use (共享类型, 开放类型, 更新周期, 信息项 ...). A field no
path declares takes the source's default; a field declared with a value the vocabulary does
not know fails the record (never a silent default). Everything then goes through the catalog's
own check (`entry_input.parse_entry`, which applies `rule_errors`): a record that cannot become
a valid entry fails with the catalog's reason, nothing is half-filled.

The department: the Bureau's organization → department table (by the remote organization's
name, then its title), a department path of the source's mapping, a department whose unified
social credit code or name is the remote organization's (a zone-style portal names its
organizations by the code), else the source's default department.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.entry_input import FIELD_LABELS, RESOURCE_CODE, SLUG, EntryFields, parse_entry
from portal.errors import Invalid
from portal.models import Department, HarvestSource
from portal.vocab import (
    CLASSIFICATION_DIGIT,
    Choice,
    ClassificationKind,
    DataType,
    FormatClass,
    OpenType,
    SecurityLevel,
    ShareType,
    UpdateCycle,
    DATA_TYPE_OF_FIELD_TYPE,
)

from .records import RemoteRecord, RemoteResource
from .settings import DEFAULT_SETTINGS, SETTING_LABELS, effective_settings, validate_settings
from .vocabulary import UnknownValue, format_class_of, normal_format, parse_choice, parse_flag

__all__ = [
    "DEFAULT_SETTINGS", "SETTING_LABELS", "Mapped", "MappingError", "REMOTE_PATHS", "TARGET_FIELDS", "effective_settings", "map_record",
    "read_path", "valid_path", "validate_settings",
]

# Paths of a RemoteRecord a source's mapping may name, besides "extras.<key>".
REMOTE_PATHS = ("title", "name", "notes", "tags", "themes", "organization", "organization_title", "url", "license", "issued", "modified")
# The default paths of each catalog field, first declared wins.
DEFAULT_PATHS: dict[str, tuple[str, ...]] = {
    "title": ("title", "name"),
    "abstract": ("notes", "extras.description", "extras.资源摘要", "extras.摘要"),
    "keywords": ("tags", "extras.keywords", "extras.关键字", "extras.关键词"),
    "classification_kind": ("extras.classification_kind", "extras.资源分类"),
    "classification_path": ("extras.classification_path", "extras.分类路径"),
    "classification_code": ("extras.classification_code", "extras.分类代码"),
    "format_class": ("extras.format_class", "extras.资源格式分类"),
    "format_type": ("extras.format_type", "extras.资源格式类型", "extras.资源格式"),
    "share_type": ("extras.share_type", "extras.共享类型", "extras.共享属性"),
    "share_condition": ("extras.share_condition", "extras.共享条件"),
    "share_method": ("extras.share_method", "extras.共享方式"),
    "legal_basis": ("extras.legal_basis", "extras.法律依据", "extras.不予共享依据"),
    "open_type": ("extras.open_type", "extras.开放类型", "extras.开放属性"),
    "open_condition": ("extras.open_condition", "extras.开放条件"),
    "update_cycle": ("extras.update_cycle", "extras.更新周期", "extras.更新频率", "extras.frequency",
                     "extras.accrual_periodicity", "extras.update_frequency"),
    "publish_date": ("extras.publish_date", "extras.发布日期"),
    "related_codes": ("extras.related_codes", "extras.关联资源代码"),
    "usage_requirements": ("extras.usage_requirements", "extras.使用要求"),
    "security_level": ("extras.security_level", "extras.安全级别"),
    "personal_information": ("extras.personal_information", "extras.含个人信息", "extras.是否含个人信息"),
    "items": ("extras.data_items", "extras.信息项"),
    "resource_code": ("extras.resource_code", "extras.资源代码"),
    "department": (),
}
TARGET_FIELDS = tuple(DEFAULT_PATHS)
VOCABULARIES: dict[str, type[Choice]] = {
    "share_type": ShareType, "open_type": OpenType, "update_cycle": UpdateCycle, "security_level": SecurityLevel,
    "format_class": FormatClass, "classification_kind": ClassificationKind,
}
TEXT_FIELDS = ("share_method", "usage_requirements", "format_type")
# Keys of a data item as other catalogs write them.
ITEM_KEYS: dict[str, tuple[str, ...]] = {
    "title": ("title", "信息项名称", "名称", "中文名称"),
    "name": ("name", "字段名", "英文名称", "字段名称"),
    "data_type": ("data_type", "dataType", "数据类型", "type"),
    "length": ("length", "数据长度", "长度"),
    "description": ("description", "描述", "说明"),
    "share_type": ("share_type", "shareType", "共享类型"),
    "open_type": ("open_type", "openType", "开放类型"),
    "constraints": ("constraints", "约束"),
}


class MappingError(Exception):
    """A record that cannot become a valid entry: `stage` is "map" (the source's values could
    not be read) or "validate" (the catalog refused the entry); `message` is Chinese."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(message)
        self.stage, self.message = stage, message


@dataclass
class Mapped:
    """A record as the catalog will hold it."""

    department: Department
    fields: EntryFields
    resources: list[RemoteResource]
    items_declared: bool  # the record lists its data items (else the entry keeps its own, or the pipeline's)
    open_declared: bool  # the open type came from the record, not the source's default
    slug: str | None = None  # a slug derived from the remote name, if it follows the catalog's rules
    resource_code: str | None = None  # the code the record declares, if well-formed
    notes: list[str] = field(default_factory=list)


# -- reading remote paths ------------------------------------------------------------------


def valid_path(path: str) -> bool:
    return path in REMOTE_PATHS or (path.startswith("extras.") and len(path) > len("extras."))


def read_path(record: RemoteRecord, path: str) -> Any:
    """The value at `path` of `record`: a string or a list; None when it is not there or empty."""
    if path.startswith("extras."):
        key = path[len("extras."):]
        value: Any = record.extras.get(key)
        if value is None:
            value = next((v for k, v in record.extras.items() if k.lower() == key.lower()), None)
    elif path in REMOTE_PATHS:
        value = getattr(record, path)
    else:
        return None
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()] or None
    text = "" if value is None else str(value).strip()
    return text or None


class _Reader:
    def __init__(self, record: RemoteRecord, overrides: Mapping[str, str]) -> None:
        self.record, self.overrides = record, overrides

    def get(self, target: str) -> Any:
        paths = (self.overrides[target],) if target in self.overrides else DEFAULT_PATHS[target]
        for path in paths:
            value = read_path(self.record, path)
            if value is not None:
                return value
        return None

    def text(self, target: str) -> str | None:
        value = self.get(target)
        if isinstance(value, list):
            return "、".join(value)
        return value


# -- the department ------------------------------------------------------------------------


def find_department(session: Session, record: RemoteRecord, declared: str | None, org_map: Mapping[str, Department], default_code: str) -> Department:
    for key in (record.organization, record.organization_title):
        if key and key in org_map:
            return org_map[key]
    wanted = [declared] if declared else []
    wanted += [v for v in (record.organization, record.organization_title) if v]
    for value in wanted:
        found = session.scalar(select(Department).where((Department.code == value.upper()) | (Department.name == value)))
        if found is not None:
            return found
        if value == declared:
            raise MappingError("map", f"来源指明的部门“{declared}”在本平台不存在")
    if default_code:
        found = session.scalar(select(Department).where(Department.code == default_code.strip().upper()))
        if found is not None:
            return found
        raise MappingError("map", f"来源的默认部门（统一社会信用代码 {default_code}）在本平台不存在")
    org = record.organization or record.organization_title  # the key of the organization → department table
    if org:
        shown = f"（{record.organization_title}）" if record.organization_title and record.organization_title != org else ""
        raise MappingError("map", f"无法确定提供方部门：来源组织“{org}”没有对应的部门{shown}，且该来源未设置默认部门")
    raise MappingError("map", "无法确定提供方部门：记录没有所属组织，且该来源未设置默认部门")


# -- fields --------------------------------------------------------------------------------


def _choice(read: _Reader, target: str, settings: Mapping[str, Any]) -> tuple[Any, bool]:
    """The member the record declares for `target`, or the source's default; and whether declared."""
    choices, label = VOCABULARIES[target], FIELD_LABELS[target]
    raw = read.text(target)
    if raw is not None:
        try:
            return parse_choice(choices, raw, label), True
        except UnknownValue as error:
            raise MappingError("map", error.message) from None
    default = settings.get(target)
    if not default:
        return None, False
    try:
        return choices.parse(str(default)), False
    except ValueError:
        raise MappingError("map", f"该来源设置的默认{label}“{default}”无效") from None


def _date(raw: str | None) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw.strip()[:10])
    except ValueError:
        return None


def _items(raw: Any) -> list[dict[str, Any]]:
    rows = raw
    if isinstance(raw, str):
        try:
            rows = json.loads(raw)
        except ValueError:
            raise MappingError("map", "信息项不是有效的 JSON 列表") from None
    if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
        raise MappingError("map", "信息项应为对象的列表（name、title、data_type ...）")
    items = []
    for row in rows:
        item = {key: next((row[k] for k in keys if row.get(k) not in (None, "")), None) for key, keys in ITEM_KEYS.items()}
        kind = str(item["data_type"] or "").strip()
        if kind in DATA_TYPE_OF_FIELD_TYPE:
            item["data_type"] = DATA_TYPE_OF_FIELD_TYPE[kind].value
        elif not kind:
            item["data_type"] = DataType.C.value
        for key, choices in (("share_type", ShareType), ("open_type", OpenType)):
            if item[key]:
                try:
                    item[key] = parse_choice(choices, str(item[key]), f"信息项“{item['title'] or item['name']}”的{FIELD_LABELS[key]}").value
                except UnknownValue as error:
                    raise MappingError("map", error.message) from None
        item["constraints"] = item["constraints"] if isinstance(item["constraints"], Mapping) else {}
        items.append(item)
    return items


def _classification(read: _Reader, settings: Mapping[str, Any]) -> tuple[Any, str, str]:
    code, path = read.text("classification_code"), read.text("classification_path")
    kind, kind_declared = _choice(read, "classification_kind", {})
    if code is None and path is None:
        if kind_declared:
            raise MappingError("map", "来源只给出了资源分类，没有分类代码和分类路径")
        default = settings["classification"]
        return default.get("kind"), str(default.get("path") or ""), str(default.get("code") or "")
    if code is None or path is None:
        raise MappingError("map", f"来源只给出了{'分类代码' if code else '分类路径'}，分类信息不完整")
    if kind is None:
        kind = next((k for k, digit in CLASSIFICATION_DIGIT.items() if code.startswith(digit)), None)
    return kind, path, code


def _slug(name: str) -> str | None:
    text = re.sub(r"[^a-z0-9-]+", "-", (name or "").strip().lower()).strip("-")
    text = re.sub(r"-{2,}", "-", text)[:100].strip("-")
    return text if text and SLUG.fullmatch(text) else None


def map_record(session: Session, source: HarvestSource, record: RemoteRecord, org_map: Mapping[str, Department]) -> Mapped:
    """`record` as the department and fields of a valid entry of the catalog, by `source`'s
    mapping; MappingError when it cannot be one."""
    settings = effective_settings(source)
    overrides = settings.get("fields") or {}
    read = _Reader(record, overrides if isinstance(overrides, Mapping) else {})
    department = find_department(session, record, read.text("department"), org_map, str(settings.get("department") or ""))
    share, _ = _choice(read, "share_type", settings)
    open_type, open_declared = _choice(read, "open_type", settings)
    update_cycle, _ = _choice(read, "update_cycle", settings)
    security, _ = _choice(read, "security_level", settings)
    formats = [r.format for r in record.resources if r.format]
    format_class, _ = _choice(read, "format_class", settings)
    format_class = format_class or format_class_of(formats) or FormatClass.OTHER
    kind, path, code = _classification(read, settings)
    personal = False
    if (raw := read.text("personal_information")) is not None:
        try:
            personal = parse_flag(raw, FIELD_LABELS["personal_information"])
        except ValueError as error:
            raise MappingError("map", str(error)) from None
    publish_date = None
    if (raw := read.text("publish_date")) is not None:
        publish_date = _date(raw)
        if publish_date is None:
            raise MappingError("map", f"发布日期“{raw}”无法识别（应为 YYYY-MM-DD）")
    else:
        publish_date = _date(record.issued)
    raw_items = read.get("items")
    items = _items(raw_items) if raw_items is not None else []
    license_text = f"许可协议：{record.license}" if record.license else ""
    data: dict[str, Any] = {
        "title": read.text("title"),
        "abstract": read.text("abstract") or "",
        "keywords": read.get("keywords") or [],
        "classification_kind": kind, "classification_path": path, "classification_code": code,
        "format_class": format_class,
        "format_type": read.text("format_type") or (normal_format(formats[0])[:20] if formats else ""),
        "share_type": share,
        "share_condition": read.text("share_condition") or (settings.get("share_condition", "") if share == ShareType.CONDITIONAL else ""),
        "share_method": read.text("share_method") or "",
        "legal_basis": read.text("legal_basis") or (settings.get("legal_basis", "") if share == ShareType.NONE else ""),
        "open_type": open_type,
        "open_condition": read.text("open_condition") or (settings.get("open_condition", "") if open_type == OpenType.ON_APPLICATION else ""),
        "update_cycle": update_cycle,
        "security_level": security,
        "publish_date": publish_date,
        "related_codes": read.get("related_codes") or [],
        "usage_requirements": read.text("usage_requirements") or license_text,
        "personal_information": personal,
        "items": items,
    }
    try:
        fields = parse_entry(data)
    except Invalid as invalid:
        reasons = [f"{FIELD_LABELS.get(key.split('.')[0], key)}：{message}" for key, message in invalid.errors.items()]
        raise MappingError("validate", "；".join(reasons)) from None
    declared_code = read.text("resource_code")
    resource_code = declared_code if declared_code and RESOURCE_CODE.fullmatch(declared_code) and declared_code.startswith(fields.classification_code + "/") else None
    return Mapped(
        department=department, fields=fields, resources=list(record.resources), items_declared=raw_items is not None,
        open_declared=open_declared, slug=_slug(record.name), resource_code=resource_code,
    )
