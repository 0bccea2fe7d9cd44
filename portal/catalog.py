"""The catalog's entries: their fields and rules, creation, editing, publishing and history.

`parse_entry` is the one place where an entry's input (a web form, a data package
descriptor) is checked; the rules of the Measures are enforced there with Chinese field
errors. Every change goes through `_record`, which writes an `EntryVersion` with the fields
that changed, in the same transaction as the change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .errors import Invalid
from .models import DataItem, Department, Entry, EntryFile, EntryVersion, User
from .vocab import (
    BASE_LIBRARIES,
    CLASSIFICATION_DIGIT,
    ClassificationKind,
    DataType,
    EntryStatus,
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
    errors.update(_rule_errors(entry))
    if errors:
        raise Invalid(errors)
    return entry


def _rule_errors(entry: EntryFields) -> dict[str, str]:
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
        items.append(ItemFields(title, name, data_type, length, _text(row.get("description")), item_share, item_open))
    return items


def is_base_library(entry: Entry | EntryFields) -> bool:
    return entry.classification_kind == ClassificationKind.BASE and entry.classification_code[:3] in BASE_LIBRARIES


def entry_warnings(entry: Entry | EntryFields) -> list[str]:
    """Things worth a second look that the Measures do not forbid outright."""
    warnings = []
    if is_base_library(entry) and entry.share_type != ShareType.UNCONDITIONAL:
        library = BASE_LIBRARIES[entry.classification_code[:3]]
        warnings.append(f"“{library}”基础库的基础信息项应当无条件共享（第十三条），本资源标为{entry.share_type.label}。")
    return warnings


# -- writing -------------------------------------------------------------------------------


def next_resource_code(session: Session, classification_code: str) -> str:
    """The classification code followed by the next free six-digit sequence number."""
    codes = session.scalars(select(Entry.resource_code).where(Entry.classification_code == classification_code))
    numbers = [int(m.group(2)) for c in codes if (m := RESOURCE_CODE.fullmatch(c))]
    return f"{classification_code}/{max(numbers, default=0) + 1:06d}"


def create_entry(
    session: Session,
    *,
    department: Department,
    fields: EntryFields,
    actor: User | None,
    now: datetime,
    actor_name: str = "",
    slug: str | None = None,
    resource_code: str | None = None,
    status: EntryStatus = EntryStatus.DRAFT,
) -> Entry:
    """Add an entry to `department`'s catalog, as a draft unless told otherwise."""
    code = resource_code or next_resource_code(session, fields.classification_code)
    errors = {}
    if not RESOURCE_CODE.fullmatch(code) or not code.startswith(fields.classification_code + "/"):
        errors["resource_code"] = N_("资源代码应为“分类代码/6位顺序号”")
    elif session.scalar(select(Entry.id).where(Entry.resource_code == code)):
        errors["resource_code"] = f"资源代码 {code} 已被使用"
    slug = slug or code.replace("/", "-")
    if not SLUG.fullmatch(slug):
        errors["slug"] = N_("标识只能包含小写字母、数字和连字符")
    elif session.scalar(select(Entry.id).where(Entry.slug == slug)):
        errors["slug"] = f"标识 {slug} 已被使用"
    if errors:
        raise Invalid(errors)
    entry = Entry(slug=slug, resource_code=code, department=department, status=status, created_at=now, updated_at=now, version=0)
    session.add(entry)
    _assign(entry, fields)
    if status == EntryStatus.PUBLISHED and entry.publish_date is None:
        entry.publish_date = now.date()
    session.flush()
    _record(session, entry, action="create", changes=_diff({}, snapshot(entry)), actor=actor, actor_name=actor_name, now=now)
    return entry


def update_entry(session: Session, entry: Entry, fields: EntryFields, *, actor: User | None, now: datetime, actor_name: str = "") -> bool:
    """Apply `fields` to `entry`; records a version and returns True only if anything changed."""
    before = snapshot(entry)
    _assign(entry, fields)
    changes = _diff(before, snapshot(entry))
    if not changes:
        return False
    entry.updated_at = now
    session.flush()
    _record(session, entry, action="update", changes=changes, actor=actor, actor_name=actor_name, now=now)
    return True


def publish_entry(session: Session, entry: Entry, *, actor: User | None, now: datetime) -> None:
    """Release an entry into the catalog; it then shows in the share and open catalogs by its attributes."""
    if entry.status == EntryStatus.PUBLISHED:
        return  # a repeated click changes nothing
    if not entry.items:
        raise Invalid({"items": N_("发布前须至少登记一个信息项")})
    before = snapshot(entry)
    entry.status = EntryStatus.PUBLISHED
    entry.publish_date = entry.publish_date or now.date()
    entry.updated_at = now
    _record(session, entry, action="publish", changes=_diff(before, snapshot(entry)), actor=actor, now=now)


def withdraw_entry(session: Session, entry: Entry, *, actor: User | None, now: datetime) -> None:
    """Take an entry out of the published catalog; it stays in its department's list."""
    if entry.status != EntryStatus.PUBLISHED:
        return
    before = snapshot(entry)
    entry.status = EntryStatus.WITHDRAWN
    entry.updated_at = now
    _record(session, entry, action="withdraw", changes=_diff(before, snapshot(entry)), actor=actor, now=now)


def add_file(
    session: Session,
    entry: Entry,
    *,
    name: str,
    sha256: str,
    size: int,
    format: str,
    encoding: str | None,
    actor: User | None,
    now: datetime,
    title: str = "",
    actor_name: str = "",
) -> EntryFile:
    """Attach a stored file to `entry`. A file of the same name is replaced by the new content
    (the old content stays in the store and in the history); the same content is a no-op."""
    record = next((f for f in entry.files if f.name == name), None)
    if record is not None and record.sha256 == sha256:
        return record
    before = snapshot(entry)
    if record is None:
        record = EntryFile(name=name)
        entry.files.append(record)
    record.title, record.sha256, record.size = title or name, sha256, size
    record.format, record.encoding = format, encoding
    record.created_at, record.created_by_id = now, actor.id if actor else None
    entry.updated_at = now
    session.flush()
    _record(session, entry, action="file", changes=_diff(before, snapshot(entry)), actor=actor, actor_name=actor_name, now=now)
    return record


def _assign(entry: Entry, fields: EntryFields) -> None:
    values = asdict(fields)
    items = values.pop("items")
    for key, value in values.items():
        setattr(entry, key, value)
    current = {item.name: item for item in entry.items}
    entry.items = []
    for position, item in enumerate(items):
        row = current.pop(item["name"], None) or DataItem()
        for key, value in item.items():
            setattr(row, key, value)
        row.position = position
        entry.items.append(row)


def count_download(session: Session, entry: Entry) -> None:
    """One more download of `entry`, counted in the database without a new version (and without
    rewriting its search document: the count there is refreshed when the entry is next indexed)."""
    session.execute(update(Entry).where(Entry.id == entry.id).values(downloads=Entry.downloads + 1))


# -- history -------------------------------------------------------------------------------


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if hasattr(value, "label"):
        return value.label
    if isinstance(value, (list, tuple)):
        return "、".join(map(str, value))
    return str(value)


def _show_item(item: DataItem) -> str:
    parts = [item.name, item.title, item.data_type.value, str(item.length or ""), item.description]
    if item.share_type or item.open_type:
        parts += [_show(item.share_type), _show(item.open_type)]
    return " | ".join(parts)


def snapshot(entry: Entry) -> dict[str, str]:
    """The entry as display strings by field, for comparing two versions."""
    values = {key: _show(getattr(entry, key)) for key in FIELD_LABELS if key not in ("items", "files", "department")}
    values["department"] = entry.department.name if entry.department else ""
    values["items"] = "\n".join(_show_item(i) for i in entry.items)
    values["files"] = "\n".join(f"{f.name} ({f.sha256[:12]})" for f in entry.files)
    return values


def _diff(before: dict[str, str], after: dict[str, str]) -> list[dict[str, str]]:
    return [
        {"field": key, "old": before.get(key, ""), "new": after.get(key, "")}
        for key in FIELD_LABELS
        if before.get(key, "") != after.get(key, "")
    ]


def _record(session: Session, entry: Entry, *, action: str, changes: list[dict[str, str]], actor: User | None, now: datetime, actor_name: str = "") -> None:
    entry.version += 1
    session.add(
        EntryVersion(
            entry_id=entry.id,
            number=entry.version,
            user_id=actor.id if actor else None,
            actor=actor.display_name if actor else actor_name or "系统",
            at=now,
            action=action,
            changes=changes,
        )
    )
    session.flush()


def entry_history(session: Session, entry: Entry) -> list[EntryVersion]:
    return list(session.scalars(select(EntryVersion).where(EntryVersion.entry_id == entry.id).order_by(EntryVersion.number.desc())))
