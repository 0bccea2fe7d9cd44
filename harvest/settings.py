"""A source's settings (`HarvestSource.settings`): the defaults, the effective settings of a
source (its own over the defaults), and their check with Chinese errors for the sources page.

    department          the default department's unified social credit code, for records whose
                        remote organization has no row in the organization → department table
                        (and no department of the same code or name); "" = none: such records fail
    share_type ...      defaults of the catalog's fields when a record does not declare them
                        (share type 有条件共享, open type 依法不予开放 until reviewed, update
                        cycle 不定期, security level 一般, the classification, and the conditions
                        and legal basis the rules then require)
    format_class        "" = from the resources' formats
    trust_open_type     an open type the source declares takes effect as reviewed (the source's
                        own review is trusted); otherwise it is proposed to the reviewers
    trust_clearance     with trust_open_type: personal information found in a file that the
                        source itself releases to the public is recorded as cleared on the
                        source's decision (otherwise the entry waits for a reviewer)
    publish             publish an entry when it can be (data items, no release problems)
    download_resources  download the records' files through the upload pipeline
    max_resource_mb     the largest file downloaded
    grace_days          days a record may be missing from the source before its entry is withdrawn
    time_limit_minutes  a job stops past it ("timed-out")
    overlap_hours       an incremental run asks for changes since the last good run minus this
    page_size           records per page asked of a paged source
    fields              per-source overrides: catalog field → remote path ("notes",
                        "extras.更新周期", "tags" ...; see `mapping.REMOTE_PATHS`)
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.entry_input import CLASSIFICATION_CODE
from portal.models import Department, HarvestSource
from portal.vocab import CLASSIFICATION_DIGIT, Choice, ClassificationKind, FormatClass, OpenType, SecurityLevel, ShareType, UpdateCycle

DEFAULT_SETTINGS: dict[str, Any] = {
    "department": "",
    "share_type": ShareType.CONDITIONAL.value,
    "share_condition": "采集自外部目录，使用前须经提供方同意",
    "legal_basis": "",
    "open_type": OpenType.CLOSED.value,
    "open_condition": "",
    "update_cycle": UpdateCycle.IRREGULAR.value,
    "security_level": SecurityLevel.GENERAL.value,
    "format_class": "",
    "classification": {"kind": ClassificationKind.THEME.value, "path": "其他/采集资源", "code": "2990100"},
    "trust_open_type": False,
    "trust_clearance": False,
    "publish": True,
    "download_resources": True,
    "max_resource_mb": 100,
    "grace_days": 7,
    "time_limit_minutes": 60,
    "overlap_hours": 1,
    "page_size": 100,
    "fields": {},
}
# What the sources page calls each setting.
SETTING_LABELS: dict[str, str] = {
    "department": "默认部门（统一社会信用代码）",
    "share_type": "默认共享类型",
    "share_condition": "默认共享条件",
    "legal_basis": "默认法律依据（不予共享时）",
    "open_type": "默认开放类型",
    "open_condition": "默认开放条件（依申请开放时）",
    "update_cycle": "默认更新周期",
    "security_level": "默认安全级别",
    "format_class": "默认资源格式分类（空：按资源格式判断）",
    "classification": "默认分类（资源分类、分类路径、分类代码）",
    "trust_open_type": "信任来源声明的开放类型（按已审查记录）",
    "trust_clearance": "信任来源对公开文件中个人信息的处理（须同时信任开放类型）",
    "publish": "可发布时自动发布",
    "download_resources": "下载资源文件",
    "max_resource_mb": "资源文件大小上限（MB）",
    "grace_days": "删除宽限期（天）",
    "time_limit_minutes": "任务时限（分钟）",
    "overlap_hours": "增量采集重叠时间（小时）",
    "page_size": "每页记录数",
    "fields": "字段对应（目录字段 → 来源路径）",
}
VOCABULARY_SETTINGS: dict[str, tuple[type[Choice], str]] = {
    "share_type": (ShareType, "默认共享类型"),
    "open_type": (OpenType, "默认开放类型"),
    "update_cycle": (UpdateCycle, "默认更新周期"),
    "security_level": (SecurityLevel, "默认安全级别"),
}
FLAGS = ("trust_open_type", "trust_clearance", "publish", "download_resources")
NUMBERS: dict[str, tuple[int, int, str]] = {  # setting: (least, most, label)
    "max_resource_mb": (1, 4096, "资源文件大小上限（MB）"),
    "grace_days": (0, 3650, "删除宽限期（天）"),
    "time_limit_minutes": (1, 1440, "任务时限（分钟）"),
    "overlap_hours": (0, 720, "增量采集重叠时间（小时）"),
    "page_size": (1, 1000, "每页记录数"),
}
TEXTS = ("share_condition", "legal_basis", "open_condition")


def effective_settings(source: HarvestSource | Mapping[str, Any] | None) -> dict[str, Any]:
    """The source's settings over the defaults (the classification and field overrides merged
    key by key)."""
    own = dict((source.settings or {}) if isinstance(source, HarvestSource) else (source or {}))
    merged = copy.deepcopy(DEFAULT_SETTINGS)
    for key, value in own.items():
        if key == "classification" and isinstance(value, Mapping):
            merged[key] = {**merged[key], **value}
        elif key == "fields" and isinstance(value, Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def validate_settings(session: Session, settings: Mapping[str, Any]) -> dict[str, str]:
    """Errors of `settings` (a source's own, or complete), by setting, in Chinese; {} when fine."""
    from .mapping import REMOTE_PATHS, TARGET_FIELDS, valid_path  # mapping imports this module

    errors: dict[str, str] = {}
    if unknown := [key for key in settings if key not in DEFAULT_SETTINGS]:
        errors[unknown[0]] = f"未知的设置项：{'、'.join(map(str, unknown))}"
    merged = effective_settings(settings)
    code = str(merged.get("department") or "").strip()
    if code and session.scalar(select(Department.id).where(Department.code == code.upper())) is None:
        errors["department"] = f"没有统一社会信用代码为 {code} 的部门"
    parsed: dict[str, Any] = {}
    for key, (choices, label) in VOCABULARY_SETTINGS.items():
        try:
            parsed[key] = choices.parse(str(merged.get(key) or ""))
        except ValueError:
            errors[key] = f"{label}无效：{merged.get(key)}（可用：{'、'.join(m.label for m in choices)}）"
    if merged.get("format_class"):
        try:
            FormatClass.parse(str(merged["format_class"]))
        except ValueError:
            errors["format_class"] = f"默认资源格式分类无效：{merged['format_class']}"
    for key in TEXTS:
        if not isinstance(merged.get(key), str):
            errors[key] = "应为文字"
    if parsed.get("share_type") == ShareType.CONDITIONAL and not str(merged.get("share_condition") or "").strip():
        errors["share_condition"] = "默认共享类型为有条件共享时，须填写默认共享条件"
    if parsed.get("share_type") == ShareType.NONE and not str(merged.get("legal_basis") or "").strip():
        errors["legal_basis"] = "默认共享类型为不予共享时，须填写法律依据（第十三条）"
    if parsed.get("open_type") == OpenType.ON_APPLICATION and not str(merged.get("open_condition") or "").strip():
        errors["open_condition"] = "默认开放类型为依申请开放时，须填写默认开放条件"
    if parsed.get("security_level") in (SecurityLevel.IMPORTANT, SecurityLevel.CORE) and parsed.get("open_type") not in (None, OpenType.CLOSED):
        errors["open_type"] = "重要数据和核心数据只能设为依法不予开放"
    if message := classification_error(merged.get("classification")):
        errors["classification"] = message
    for key in FLAGS:
        if not isinstance(merged.get(key), bool):
            errors[key] = "应为“是”或“否”"
    for key, (least, most, label) in NUMBERS.items():
        number = _number(merged.get(key))
        if number is None or not least <= number <= most:
            errors[key] = f"{label}应为 {least} 至 {most} 之间的整数"
    fields = merged.get("fields")
    if not isinstance(fields, Mapping):
        errors["fields"] = "字段对应应为“目录字段: 来源路径”的对照表"
    else:
        for target, path in fields.items():
            if target not in TARGET_FIELDS:
                errors["fields"] = f"没有目录字段 {target}（可用：{'、'.join(TARGET_FIELDS)}）"
                break
            if not isinstance(path, str) or not valid_path(path):
                errors["fields"] = f"{target} 的来源路径“{path}”无效（可用：{'、'.join(REMOTE_PATHS)}、extras.<键名>）"
                break
    return errors


def classification_error(value: Any) -> str:
    """Why a {kind, path, code} classification is not one the catalog accepts; "" when it is."""
    if not isinstance(value, Mapping):
        return "默认分类应包含资源分类、分类路径和分类代码"
    try:
        kind = ClassificationKind.parse(str(value.get("kind") or ""))
    except ValueError:
        return "默认资源分类应为基础、主题或部门"
    code = str(value.get("code") or "").strip()
    if not CLASSIFICATION_CODE.fullmatch(code):
        return "默认分类代码应为3至9位数字"
    if code[0] != CLASSIFICATION_DIGIT[kind]:
        return f"{kind.label}类信息资源的分类代码应以 {CLASSIFICATION_DIGIT[kind]} 开头"
    if not str(value.get("path") or "").strip():
        return "请填写默认分类路径，如“其他/采集资源”"
    return ""
