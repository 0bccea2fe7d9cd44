"""What every part of the CKAN-compatible Action API shares: the limits and vocabulary at this
edge (`STATES`, `EXTRAS` ...), CKAN's identifiers (`make_id`, `read_id`, organization and group
names), a call (`Call`, `Links`, `Upload`) and its authorisation (`Denied`, `_require`), the
parsing of an action's parameters, which calls are bulk services (`needs_bulk`), and our field
names in errors as CKAN's (`ckan_errors`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, BinaryIO, Protocol

from sqlalchemy.orm import Session

from ..authz import Action, can
from ..errors import Forbidden, Invalid
from ..files import FileStore
from ..models import Department, Entry, EntryFile, User
from ..search.service import Search
from ..vocab import (
    CLASSIFICATION_DIGIT, N_, ClassificationKind, EntryStatus, FormatClass, OpenType, SecurityLevel, ShareType, UpdateCycle,
)


SITE_TITLE = "合肥经开区政务数据共享开放平台"
CKAN_VERSION = "2.10.0"  # the CKAN whose Action API this one follows (status codes, envelope, fields)
ROWS_DEFAULT, ROWS_MAX = 10, 1000  # package_search, as CKAN (ckan.search.rows_max)
BULK_ROWS = 100  # a page larger than this (or no page at all) is a bulk service (Art. 23)
FACET_LIMIT = 50
MAX_TEXT_MATCHES = 100_000  # full-text matches ranked at most, when filters the index lacks apply
ORG_DATASETS, GROUP_DATASETS = 10, 1000  # datasets listed by organization_show / group_show
GROUP_LIST_MAX = 1000

STATES = {EntryStatus.PUBLISHED: "active", EntryStatus.DRAFT: "draft", EntryStatus.WITHDRAWN: "deleted"}
KIND_OF_DIGIT = {digit: kind for kind, digit in CLASSIFICATION_DIGIT.items()}
NOT_FOUND = N_("没有找到该数据资源，或您无权查看")
FILE_NOT_FOUND = "没有找到该资源文件，或您无权查看"

# The catalog's own fields as extras: key -> vocabulary (None: free text). All are editable
# through package_create/update/patch except those in READ_ONLY_EXTRAS.
EXTRAS: dict[str, Any] = {
    "resource_code": None,
    "classification_kind": ClassificationKind,
    "classification_path": None,
    "classification_code": None,
    "format_class": FormatClass,
    "format_type": None,
    "share_type": ShareType,
    "share_condition": None,
    "share_method": None,
    "legal_basis": None,
    "open_type": OpenType,
    "open_condition": None,
    "update_cycle": UpdateCycle,
    "publish_date": None,
    "related_codes": None,
    "usage_requirements": None,
    "security_level": SecurityLevel,
    "personal_information": None,
    "data_items": None,
}
READ_ONLY_EXTRAS = ("data_updated", "version", "open_type_proposed", "open_condition_proposed")
ENTRY_FIELDS = [key for key in EXTRAS if key not in ("resource_code", "data_items")]  # parse_entry's names
# Our field names in `Invalid` errors -> CKAN's keys.
ERROR_KEYS = {"abstract": "notes", "keywords": "tags", "slug": "name", "department": "owner_org", "items": "data_items", "file": "upload",
              "files": "resources"}


# -- identifiers ---------------------------------------------------------------------------

_ID_KINDS = {"package": 1, "resource": 2, "organization": 3, "group": 4}
_ID = re.compile(r"7a6f6e65-([0-9a-f]{4})-8000-8000-([0-9a-f]{12})")  # 7a6f6e65 is "zone"
_GROUP = re.compile(r"(?:(base|theme|department)-)?([1-3]\d{2})")


def make_id(kind: str, number: int) -> str:
    """A UUID (RFC 9562 version 8) that carries `number`: CKAN clients expect UUIDs, and ours
    sort as their numbers do."""
    return f"7a6f6e65-{_ID_KINDS[kind]:04x}-8000-8000-{number:012x}"


def read_id(kind: str, text: Any) -> int | None:
    match = _ID.fullmatch(str(text or "").strip().lower())
    if match and int(match.group(1), 16) == _ID_KINDS[kind]:
        return int(match.group(2), 16)
    return None


def group_name(prefix: str) -> str:
    return f"{KIND_OF_DIGIT[prefix[0]].value}-{prefix}"


def organization_name(department: Department) -> str:
    return department.code.lower()


def _iso(moment: datetime | None) -> str | None:
    """CKAN's timestamps: UTC, without a zone, with microseconds."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds") if moment else None


# -- a call --------------------------------------------------------------------------------


class Links(Protocol):
    """Absolute addresses in the portal (the web layer builds them)."""

    site: str

    def entry(self, entry: Entry) -> str: ...

    def download(self, record: EntryFile) -> str: ...

    def download_as(self, record: EntryFile, fmt: str) -> str: ...

    def department(self, department: Department) -> str: ...


@dataclass(frozen=True)
class Upload:
    """A file sent with resource_create or resource_update."""

    name: str
    stream: BinaryIO


@dataclass
class Call:
    """One call of the Action API: the caller, the clock, and the portal's services."""

    session: Session
    user: User | None
    now: datetime
    links: Links
    search: Search | None = None
    store: FileStore | None = None
    max_upload_bytes: int | None = None
    # what several parts of one call read, read once (`lookups._departments`)
    memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


class Denied(Forbidden):
    """An authorisation refused by `authz.can`: the view records it in the audit trail and
    answers 404 when `hide` (the caller may not even see the entry), else 403."""

    def __init__(self, action: str, target: str, *, hide: bool) -> None:
        super().__init__(NOT_FOUND if hide else N_("您没有执行此操作的权限"))
        self.action, self.target, self.hide = action, target, hide


def _require(call: Call, action: Action, obj: Any = None) -> None:
    if can(call.user, action, obj):
        return
    target = f"{getattr(obj, 'resource_code', '')} {getattr(obj, 'title', '') or getattr(obj, 'name', '')}".strip()
    hide = isinstance(obj, Entry) and not can(call.user, Action.VIEW_ENTRY, obj)
    raise Denied(str(action), target, hide=hide)


# -- parameters ----------------------------------------------------------------------------

_TRUE, _FALSE = {"true", "1", "yes", "on", "y", "t"}, {"false", "0", "no", "off", "n", "f", ""}


def _flag(data: Mapping[str, Any], key: str, default: bool = False) -> bool:
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise Invalid({key: "应为 true 或 false"})


def _natural(data: Mapping[str, Any], key: str, default: int | None = None) -> int | None:
    value = data.get(key)
    if value in (None, ""):
        return default
    try:
        if isinstance(value, bool):
            raise ValueError
        number = int(str(value).strip())
        if number < 0:
            raise ValueError
    except ValueError:
        raise Invalid({key: "应为非负整数"}) from None
    return number


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        raise Invalid({key: "应为字符串"})
    return str(value).strip()


def _required(data: Mapping[str, Any], key: str) -> str:
    if not (text := _text(data, key)):
        raise Invalid({key: "缺少该参数"})
    return text


def _json_list(data: Mapping[str, Any], key: str) -> list[str]:
    value = data.get(key)
    if value in (None, ""):
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.lstrip().startswith("[") else [value]
        except ValueError:
            raise Invalid({key: "应为字符串列表（JSON）"}) from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid({key: "应为字符串列表"})
    return value


def _integer(data: Mapping[str, Any], key: str, default: int) -> int:
    value = data.get(key)
    if value in (None, ""):
        return default
    try:
        if isinstance(value, bool):
            raise ValueError
        return int(str(value).strip())
    except ValueError:
        raise Invalid({key: "应为整数"}) from None


def _json_value(data: Mapping[str, Any], key: str) -> Any:
    """A list or object argument, also when a form or query string sent it as JSON text."""
    value = data.get(key)
    if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            raise Invalid({key: "JSON 格式不正确"}) from None
    return value


def _extras_list(data: Mapping[str, Any]) -> dict[str, Any]:
    extras = _json_value(data, "extras") or []
    if not isinstance(extras, list) or not all(isinstance(e, Mapping) and "key" in e for e in extras):
        raise Invalid({"extras": "应为 [{\"key\": ..., \"value\": ...}] 列表"})
    return {str(e["key"]): e.get("value") for e in extras}


def needs_bulk(action: str, data: Mapping[str, Any]) -> bool:
    """Whether the call is a bulk service, for real-name verified users and departments only
    (Art. 23): every current_package_list_with_resources, a package_search page of more than
    BULK_ROWS, a package_list without such a page (the list `ckanapi dump --all` starts from)."""
    def number(key: str) -> int | None:
        try:
            return int(str(data.get(key)).strip()) if data.get(key) not in (None, "") else None
        except ValueError:
            return None  # the action itself reports the bad value

    if action == "current_package_list_with_resources":
        return True
    if action == "package_search":
        return min(number("rows") or 0, ROWS_MAX) > BULK_ROWS
    if action == "package_list":
        limit = number("limit")
        return not limit or limit > BULK_ROWS
    return False


# -- errors --------------------------------------------------------------------------------


def ckan_errors(errors: Mapping[str, str]) -> dict[str, str]:
    """Our field names in errors -> CKAN's (abstract -> notes, items.3 -> data_items ...)."""
    result: dict[str, str] = {}
    for key, message in errors.items():
        key = "items" if key.startswith("items.") else key
        name = ERROR_KEYS.get(key, key or "__all__")
        result[name] = f"{result[name]}；{message}" if name in result else message
    return result
