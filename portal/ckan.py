"""The catalog in CKAN's words: the domain side of the CKAN-compatible Action API
(`web.ckan_views` is the HTTP side: routes, request data, CKAN's envelope and status codes).

CKAN's words for ours (GLOSSARY), at this edge only:

    package (dataset)  an entry; `name` is its slug, `id` a UUID made from its number (`make_id`)
    resource           a current resource file of an entry; `id` is made from the number of the
                       file's first revision, so it stays the same when a new revision replaces it
    organization       a department; `name` is its unified social credit code in lower case
    group              a top class of the classification: the first three digits of the
                       classification code (kind digit + 大类), named e.g. ``theme-205``, titled
                       with the first segment of the classification path (生态环保)
    tag                a keyword
    state              active = published, draft = draft, deleted = withdrawn
    private            not in the public open catalog (published 无条件开放 or 依申请开放)

The catalog's own fields travel as `extras` (`EXTRAS`: key/value strings, the data items as a
JSON string). Every action is a plain function `(call, data) -> result` registered in `ACTIONS`;
it sees and changes only what the caller may, by the rules the pages use (`authz.can`,
`browse.visible_clause`, `serving.released_files`, `data_requests.active_grant`) through the
same domain functions (`catalog`, `pipeline.ingest`, `accounts.create_department`). Errors are
the portal's own (`Invalid`, `NotFound`, `Forbidden`, `Conflict`); the view turns them into CKAN's.
"""

from __future__ import annotations

import json
import mimetypes
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, BinaryIO, Protocol

from sqlalchemy import ColumnElement, String, and_, cast, exists, false, func, not_, or_, select, true
from sqlalchemy.orm import Session, defer, selectinload

from . import audit, catalog, data_requests, open_review
from .accounts import create_department
from .authz import OPEN_CATALOG, Action, can
from .browse import visible_clause
from .codes import uscc_error
from .errors import Forbidden, Invalid, NotFound
from .exports import FORMATS
from .files import FileStore
from .intake import Limits
from .models import DataRequest, Department, Entry, EntryFile, Grant, OpenReview, SearchOutbox, User
from .pipeline import ingest
from .search.analysis import parse_query
from .search.documents import name_key, scope_for
from .search.service import Search, search_catalog
from .serving import hidden_columns, released_files
from .vocab import (
    CLASSIFICATION_DIGIT, DEPARTMENT_ROLES, N_, ClassificationKind, EntryStatus, FormatClass, OpenType, Role, SecurityLevel, ShareType,
    UpdateCycle,
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


# -- lookups -------------------------------------------------------------------------------

# What package dicts read of an entry (not the files' schemas and quality summaries, which are large).
_ENTRY_LOAD = (
    selectinload(Entry.department), selectinload(Entry.items),
    selectinload(Entry.files).options(defer(EntryFile.table_schema), defer(EntryFile.quality)),
)


def _entry(call: Call, ref: Any, key: str = "id") -> Entry:
    """The entry `ref` (its id or name) if the caller may see it; NotFound otherwise."""
    text = str(ref or "").strip()
    if not text:
        raise Invalid({key: "缺少该参数"})
    number = read_id("package", text)
    condition = Entry.id == number if number is not None else Entry.slug == text
    entry = call.session.scalar(select(Entry).where(condition).options(*_ENTRY_LOAD))
    if entry is None or not can(call.user, Action.VIEW_ENTRY, entry):
        raise NotFound(NOT_FOUND)
    return entry


def _entries(session: Session, ids: list[int]) -> list[Entry]:
    """The entries `ids`, in that order, with what their dicts need."""
    found = {e.id: e for e in session.scalars(select(Entry).where(Entry.id.in_(ids)).options(*_ENTRY_LOAD))} if ids else {}
    return [found[i] for i in ids if i in found]


def _department(session: Session, ref: Any) -> Department | None:
    text = str(ref or "").strip()
    if not text:
        return None
    number = read_id("organization", text)
    if number is not None:
        return session.get(Department, number)
    return session.scalar(select(Department).where(or_(Department.code == text.upper(), Department.name == text)))


def _group_prefix(ref: Any) -> str | None:
    """The classification code prefix of the group `ref` (its id or name, or the prefix)."""
    text = str(ref or "").strip().lower()
    number = read_id("group", text)
    if number is not None:
        text = str(number)
    match = _GROUP.fullmatch(text)
    if match is None:
        return None
    kind, prefix = match.groups()
    return prefix if not kind or CLASSIFICATION_DIGIT[ClassificationKind(kind)] == prefix[0] else None


def _file(call: Call, ref: Any) -> tuple[Entry, EntryFile]:
    """The current file that resource id `ref` names (any revision's number finds the newest),
    among those the caller receives (`serving.released_files`)."""
    number = read_id("resource", ref)
    entry_id = call.session.scalar(select(EntryFile.entry_id).where(EntryFile.id == number)) if number is not None else None
    if entry_id is None:
        raise NotFound(FILE_NOT_FOUND)
    entry = _entry(call, make_id("package", entry_id))
    revisions = _revisions(call.session, [entry.id])
    revision = revisions[number]  # type: ignore[index]
    for _ in range(len(revisions)):
        if revision.current or revision.replaced_by_id not in revisions:
            break
        following = revisions[revision.replaced_by_id]  # type: ignore[index]
        if following.derived != revision.derived:
            break  # a masked copy retired with its source
        revision = following
    record = next((f for f in released_files(call.user, entry) if f.id == revision.id), None)
    if record is None:
        raise NotFound(FILE_NOT_FOUND)
    return entry, record


@dataclass(frozen=True)
class _Revision:
    """What resource ids need of a file revision (no schemas, reports or findings)."""

    id: int
    replaced_by_id: int | None
    derived: bool  # a masked copy
    created_at: datetime
    current: bool


def _revisions(session: Session, entry_ids: list[int]) -> dict[int, _Revision]:
    rows = session.execute(
        select(EntryFile.id, EntryFile.replaced_by_id, EntryFile.derived_from_id, EntryFile.created_at, EntryFile.replaced_at)
        .where(EntryFile.entry_id.in_(entry_ids))
    ) if entry_ids else []
    return {r[0]: _Revision(r[0], r[1], r[2] is not None, r[3], r[4] is None) for r in rows}


def _first_revisions(revisions: dict[int, _Revision]) -> dict[int, _Revision]:
    """Every file's first revision, following `replaced_by_id` backwards (a masked copy only
    through masked copies, an original only through originals): what its resource id is made of."""
    before: dict[int, list[_Revision]] = {}
    for revision in revisions.values():
        if revision.replaced_by_id is not None:
            before.setdefault(revision.replaced_by_id, []).append(revision)
    firsts = {}
    for start in revisions.values():
        revision, seen = start, set()
        while revision.id not in seen:
            seen.add(revision.id)
            earlier = [r for r in before.get(revision.id, []) if r.derived == revision.derived]
            if not earlier:
                break
            revision = min(earlier, key=lambda r: r.id)
        firsts[start.id] = revision
    return firsts


# -- dicts ---------------------------------------------------------------------------------


def organization_dict(call: Call, department: Department, *, package_count: int | None = None) -> dict[str, Any]:
    result = {
        "id": make_id("organization", department.id),
        "name": organization_name(department),
        "title": department.name,
        "display_name": department.name,
        "type": "organization",
        "description": "",
        "image_url": "",
        "image_display_url": "",
        "created": _iso(department.created_at),
        "is_organization": True,
        "approval_status": "approved",
        "state": "active",
    }
    if package_count is not None:
        result["package_count"] = package_count
    return result


def _group_dict(prefix: str, title: str, *, package_count: int | None = None, created: datetime | None = None) -> dict[str, Any]:
    kind = KIND_OF_DIGIT[prefix[0]]
    result = {
        "id": make_id("group", int(prefix)),
        "name": group_name(prefix),
        "title": title,
        "display_name": title,
        "type": "group",
        "description": f"{kind.label}类信息资源 · 分类代码 {prefix}",
        "image_url": "",
        "image_display_url": "",
        "created": _iso(created),
        "is_organization": False,
        "approval_status": "approved",
        "state": "active",
    }
    if package_count is not None:
        result["package_count"] = package_count
    return result


def _item_dict(item: Any) -> dict[str, Any]:
    return {
        "name": item.name, "title": item.title, "data_type": item.data_type.value, "length": item.length,
        "description": item.description, "share_type": item.share_type.value if item.share_type else None,
        "open_type": item.open_type.value if item.open_type else None, "constraints": dict(item.constraints or {}),
    }


def _extras(entry: Entry, review: OpenReview | None) -> list[dict[str, str]]:
    def shown(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, list):
            return ",".join(value)
        return str(getattr(value, "value", value))

    values = {key: shown(getattr(entry, key)) for key in EXTRAS if key != "data_items"}
    values["data_items"] = json.dumps([_item_dict(i) for i in entry.items], ensure_ascii=False)
    values["data_updated"] = _iso(entry.data_updated_at) or ""
    values["version"] = str(entry.version)
    if review is not None:
        values["open_type_proposed"], values["open_condition_proposed"] = review.proposed.value, review.open_condition
    return [{"key": key, "value": value} for key, value in values.items()]


@dataclass
class _Access:
    """What the caller may download of an entry: by its attributes, or under a grant."""

    files: list[EntryFile]
    direct: bool
    grant_items: set[str] | None  # the items a grant gives, or None without one
    hidden: set[str]


def _access(call: Call, entry: Entry, grant: Grant | None) -> _Access:
    files = released_files(call.user, entry)
    if can(call.user, Action.DOWNLOAD, entry):
        return _Access(files, True, None, hidden_columns(call.user, entry))
    if grant is None:
        return _Access(files, False, None, {i.name for i in entry.items})
    return _Access(files, False, set(grant.items), {i.name for i in entry.items} - set(grant.items))


def active_grants(call: Call, entries: list[Entry]) -> dict[int, Grant]:
    """`data_requests.active_grant` for many entries in one query: the grant under which the
    caller receives each entry's data today, for the entries its attributes do not open to them
    (a test checks the two agree)."""
    user = call.user
    wanted = [e.id for e in entries if user is not None and not can(user, Action.DOWNLOAD, e)]
    if user is None or not wanted:
        return {}
    query = select(Grant).join(DataRequest).where(
        Grant.entry_id.in_(wanted), Grant.expires_on >= data_requests.china_day(call.now), DataRequest.state == "approved",
    )
    if user.role in DEPARTMENT_ROLES and user.department_id is not None:
        query = query.where(Grant.grantee_department_id == user.department_id)
    else:
        query = query.where(Grant.grantee_id == user.id)
    return {grant.entry_id: grant for grant in call.session.scalars(query.order_by(Grant.expires_on, Grant.id))}  # the latest expiry wins


def resource_dict(call: Call, entry: Entry, record: EntryFile, *, position: int, first: _Revision, access: _Access) -> dict[str, Any]:
    """A resource file as CKAN's resource, `url` being the download the caller may use: the
    original, or (when some data items are not given to the caller) the table as CSV without them."""
    if access.direct:
        downloadable = record.tabular or not access.hidden
    else:
        downloadable = access.grant_items is not None and record.tabular and record.valid
    as_table = downloadable and record.tabular and (bool(access.hidden) or not access.direct)
    url = call.links.download_as(record, "csv") if as_table else call.links.download(record)
    report = record.report or {}
    return {
        "id": make_id("resource", first.id),
        "package_id": make_id("package", entry.id),
        "name": record.title or record.name,
        "description": "",
        "format": record.format.upper(),
        "mimetype": mimetypes.guess_type(f"x.{record.format}")[0],
        "mimetype_inner": None,
        "url": url,
        "url_type": None,
        "size": record.size,
        "hash": f"sha256:{record.sha256}",
        "created": _iso(first.created_at),
        "last_modified": _iso(record.created_at),
        "metadata_modified": _iso(record.created_at),
        "position": position,
        "state": "active",
        "resource_type": None,
        "cache_url": None,
        "cache_last_updated": None,
        "datastore_active": False,
        "file_name": record.name,
        "encoding": record.encoding,
        "tabular": record.tabular,
        "row_count": record.row_count,
        "validation_status": ("success" if record.valid else "failure") if record.tabular else None,
        "validation_errors": report.get("error_count", 0) if record.tabular else None,
        "masked": record.clearance == "masked",
        "downloadable": downloadable,
        "download_formats": {fmt: call.links.download_as(record, fmt) for fmt in FORMATS} if downloadable and record.tabular else {},
    }


@dataclass
class _Batch:
    """What the dicts of several entries need, read in a few queries for all of them."""

    reviews: dict[int, OpenReview]  # pending open-type proposals
    firsts: dict[int, _Revision]  # every file's first revision
    grants: dict[int, Grant]


def _batch(call: Call, entries: list[Entry]) -> _Batch:
    ids = [e.id for e in entries]
    reviews = call.session.scalars(select(OpenReview).where(OpenReview.entry_id.in_(ids), OpenReview.state == "pending")) if ids else []
    return _Batch({r.entry_id: r for r in reviews}, _first_revisions(_revisions(call.session, ids)), active_grants(call, entries))


def package_dicts(call: Call, entries: list[Entry]) -> list[dict[str, Any]]:
    batch = _batch(call, entries)
    return [package_dict(call, e, batch) for e in entries]


def package_dict(call: Call, entry: Entry, batch: _Batch) -> dict[str, Any]:
    """An entry as CKAN's package dict, as `call.user` sees it; a pending open-type proposal is
    shown (as `open_type_proposed`) to those who may see it."""
    review = batch.reviews.get(entry.id)
    if review is not None and not open_review.may_see(call.user, review):
        review = None
    access = _access(call, entry, batch.grants.get(entry.id))
    resources = [
        resource_dict(call, entry, f, position=n, first=batch.firsts.get(f.id) or _Revision(f.id, None, False, f.created_at, True), access=access)
        for n, f in enumerate(access.files)
    ]
    top = entry.classification_code[:3]
    published = entry.status == EntryStatus.PUBLISHED
    return {
        "id": make_id("package", entry.id),
        "name": entry.slug,
        "title": entry.title,
        "type": "dataset",
        "notes": entry.abstract,
        "url": call.links.entry(entry),
        "version": str(entry.version),
        "state": STATES[entry.status],
        "private": not (published and entry.open_type in OPEN_CATALOG),
        "isopen": published and entry.open_type == OpenType.OPEN,
        "owner_org": make_id("organization", entry.department_id),
        "organization": organization_dict(call, entry.department),
        "author": None,
        "author_email": None,
        "maintainer": None,
        "maintainer_email": None,
        "license_id": None,
        "creator_user_id": None,
        "metadata_created": _iso(entry.created_at),
        "metadata_modified": _iso(entry.updated_at),
        "num_resources": len(resources),
        "num_tags": len(entry.keywords),
        "tags": [{"name": k, "display_name": k, "state": "active", "vocabulary_id": None} for k in entry.keywords],
        "groups": [_group_dict(top, entry.classification_path.split("/")[0])] if top[:1] in KIND_OF_DIGIT else [],
        "extras": _extras(entry, review),
        "resources": resources,
        "relationships_as_object": [],
        "relationships_as_subject": [],
    }


# -- reading -------------------------------------------------------------------------------


def package_show(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    """Return the metadata of a dataset (a catalog entry) and its resources (files).

    :param id: the id or name of the dataset
    :rtype: dictionary

    The catalog's own fields are in ``extras`` (see the README, "CKAN-compatible API").
    Resources are the files the caller receives; ``url`` is the download the caller may use.
    """
    entry = _entry(call, data.get("id") or data.get("name_or_id"))
    return package_dicts(call, [entry])[0]


def resource_show(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    """Return the metadata of a resource (a resource file).

    :param id: the id of the resource
    :rtype: dictionary
    """
    entry, record = _file(call, _required(data, "id"))
    batch = _batch(call, [entry])
    package = package_dict(call, entry, batch)
    wanted = make_id("resource", batch.firsts[record.id].id)
    found = next((r for r in package["resources"] if r["id"] == wanted), None)
    if found is None:
        raise NotFound(FILE_NOT_FOUND)
    return found


def _statuses(data: Mapping[str, Any]) -> list[EntryStatus]:
    statuses = [EntryStatus.PUBLISHED]
    if _flag(data, "include_drafts"):
        statuses.append(EntryStatus.DRAFT)
    if _flag(data, "include_deleted"):
        statuses.append(EntryStatus.WITHDRAWN)
    return statuses


def _scope(call: Call, data: Mapping[str, Any]) -> tuple[User | None, list[ColumnElement[bool]]]:
    """The viewer to search as and the conditions of CKAN's include_* flags: without
    include_private only the public open catalog, as an anonymous visitor sees it."""
    viewer = call.user if _flag(data, "include_private") else None
    return viewer, [visible_clause(viewer), Entry.status.in_(_statuses(data))]


def package_list(call: Call, data: dict[str, Any]) -> list[str]:
    """Return the names of the site's datasets, ordered by name.

    :param limit: the page size (optional; without one, or above 100, the call is a bulk
        service for real-name verified users and departments)
    :param offset: where the page starts (optional)
    :param include_private: also datasets outside the public open catalog that the caller may
        see (optional, default false)
    :param include_drafts: also the caller's drafts (optional, default false)
    :param include_deleted: also withdrawn datasets the caller may see (optional, default false)
    :rtype: list of strings
    """
    limit, offset = _natural(data, "limit"), _natural(data, "offset", 0)
    _viewer, conditions = _scope(call, data)
    query = select(Entry.slug).where(*conditions).order_by(Entry.slug).offset(offset)
    return list(call.session.scalars(query.limit(limit) if limit else query))


def current_package_list_with_resources(call: Call, data: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the site's datasets with their resources, most recently modified first (a bulk
    service: for real-name verified users and departments).

    :param limit: the page size (optional, default 10, at most 1000)
    :param offset: where the page starts (optional)
    :param page: the page number when ``offset`` is not given (deprecated by CKAN)
    :param include_private: as in package_search (optional, default false)
    :rtype: list of dictionaries
    """
    limit = _natural(data, "limit")
    offset = _natural(data, "offset")
    if offset is None:
        page = _natural(data, "page", 1) or 1
        offset = (page - 1) * limit if limit else 0
    search = {"rows": limit, "start": offset, "sort": "metadata_modified desc", "include_private": data.get("include_private")}
    return package_search(call, {k: v for k, v in search.items() if v is not None})["results"]


def organization_list(call: Call, data: dict[str, Any]) -> list[Any]:
    """Return the names of the site's organizations (the zone's departments).

    :param sort: ``title asc`` (default, by pinyin), ``name``, ``package_count`` (optional)
    :param limit, offset: paging (optional; at most 1000, or 25 with all_fields)
    :param organizations: only these names (optional)
    :param q: only departments whose name or title holds this text (optional)
    :param all_fields: organization dicts instead of names, with ``package_count``: the
        datasets the caller may see (optional, default false)
    :rtype: list of strings or dictionaries
    """
    all_fields = _flag(data, "all_fields")
    departments = list(call.session.scalars(select(Department)))
    wanted = {n.lower() for n in _json_list(data, "organizations")}
    if wanted:
        departments = [d for d in departments if organization_name(d) in wanted]
    if q := _text(data, "q"):
        departments = [d for d in departments if q.lower() in organization_name(d) or q in d.name]
    _viewer, conditions = _scope(call, {"include_private": True})
    counts = dict(call.session.execute(select(Entry.department_id, func.count(Entry.id)).where(*conditions).group_by(Entry.department_id)).all())
    keys: dict[str, Callable[[Department], Any]] = {
        "name": organization_name, "title": lambda d: name_key(d.name), "package_count": lambda d: counts.get(d.id, 0),
        "packages": lambda d: counts.get(d.id, 0),
    }
    departments = _sorted(departments, _text(data, "sort") or "title asc", keys)
    limit, offset = _natural(data, "limit"), _natural(data, "offset", 0) or 0
    most = 25 if all_fields else GROUP_LIST_MAX
    departments = departments[offset: offset + min(limit or most, most)]
    if all_fields:
        return [organization_dict(call, d, package_count=counts.get(d.id, 0)) for d in departments]
    return [organization_name(d) for d in departments]


def _sorted(things: list[Any], sort: str, keys: Mapping[str, Callable[[Any], Any]]) -> list[Any]:
    field, _, direction = sort.strip().partition(" ")
    if field not in keys or direction.strip() not in ("", "asc", "desc"):
        raise Invalid({"sort": f"不支持的排序：{sort}（可用：{'、'.join(keys)}，加 asc 或 desc）"})
    descending = direction.strip() == "desc" or (field in ("package_count", "packages") and not direction.strip())
    return sorted(things, key=keys[field], reverse=descending)


def organization_show(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    """Return the details of an organization (a department).

    :param id: the id or name (the unified social credit code, any case) of the organization
    :param include_datasets: include its first 10 datasets the caller may see, most recently
        modified first (optional, default false)
    :rtype: dictionary
    """
    department = _department(call.session, _required(data, "id"))
    if department is None:
        raise NotFound(N_("没有找到该部门"))
    search = {"fq": f"owner_org:{make_id('organization', department.id)}", "rows": ORG_DATASETS, "sort": "metadata_modified desc", "include_private": True}
    found = package_search(call, search) if _flag(data, "include_datasets") else None
    count = found["count"] if found else package_search(call, dict(search, rows=0))["count"]
    result = organization_dict(call, department, package_count=count)
    parent = department.parent
    result["extras"] = [
        {"key": "uscc", "value": department.code},
        {"key": "parent", "value": organization_name(parent) if parent else ""},
        {"key": "parent_title", "value": parent.name if parent else ""},
    ]
    result["groups"] = [{"name": organization_name(parent), "title": parent.name, "capacity": "public"}] if parent else []
    result["users"], result["tags"], result["num_followers"] = [], [], 0
    result["url"] = call.links.department(department)
    if found is not None:
        result["packages"] = found["results"]
    return result


def _themes(call: Call) -> dict[str, tuple[str, int, datetime | None]]:
    """The groups the caller can see entries of: prefix -> (title, datasets, created). The title
    is the commonest first segment of those entries' classification paths."""
    _viewer, conditions = _scope(call, {"include_private": True})
    rows = call.session.execute(select(Entry.classification_code, Entry.classification_path, Entry.created_at).where(*conditions))
    titles: dict[str, Counter[str]] = {}
    created: dict[str, datetime] = {}
    for code, path, at in rows:
        prefix = code[:3]
        if prefix[:1] not in KIND_OF_DIGIT or len(prefix) < 3:
            continue
        titles.setdefault(prefix, Counter())[path.split("/")[0]] += 1
        created[prefix] = min(created.get(prefix, at), at)
    return {
        prefix: (min(counter.items(), key=lambda item: (-item[1], item[0]))[0], sum(counter.values()), created[prefix])
        for prefix, counter in titles.items()
    }


def group_list(call: Call, data: dict[str, Any]) -> list[Any]:
    """Return the names of the site's groups: the top classes of the catalog's classification
    (the first three digits of a classification code, e.g. ``theme-205`` 生态环保) that hold
    datasets the caller may see.

    :param sort: ``title asc`` (default, by pinyin), ``name``, ``package_count`` (optional)
    :param limit, offset: paging (optional)
    :param groups: only these names (optional)
    :param all_fields: group dicts instead of names (optional, default false)
    :rtype: list of strings or dictionaries
    """
    themes = _themes(call)
    prefixes = list(themes)
    if wanted := {p for p in (_group_prefix(n) for n in _json_list(data, "groups")) if p}:
        prefixes = [p for p in prefixes if p in wanted]
    if q := _text(data, "q"):
        prefixes = [p for p in prefixes if q.lower() in group_name(p) or q in themes[p][0]]
    keys: dict[str, Callable[[str], Any]] = {
        "name": group_name, "title": lambda p: name_key(themes[p][0]), "package_count": lambda p: themes[p][1],
        "packages": lambda p: themes[p][1],
    }
    prefixes = _sorted(prefixes, _text(data, "sort") or "title asc", keys)
    limit, offset = _natural(data, "limit"), _natural(data, "offset", 0) or 0
    prefixes = prefixes[offset: offset + min(limit or GROUP_LIST_MAX, GROUP_LIST_MAX)]
    if _flag(data, "all_fields"):
        return [_group_dict(p, themes[p][0], package_count=themes[p][1], created=themes[p][2]) for p in prefixes]
    return [group_name(p) for p in prefixes]


def group_show(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    """Return the details of a group (a top class of the classification).

    :param id: the id or name of the group (``theme-205``, or the prefix ``205``)
    :param include_datasets: include its datasets the caller may see (at most 1000, most
        recently modified first; optional, default false)
    :rtype: dictionary
    """
    prefix = _group_prefix(_required(data, "id"))
    themes = _themes(call)
    if prefix is None or prefix not in themes:
        raise NotFound("没有找到该分类")
    title, count, created = themes[prefix]
    result = _group_dict(prefix, title, package_count=count, created=created)
    result.update(extras=[{"key": "classification_prefix", "value": prefix}], users=[], groups=[], tags=[], num_followers=0)
    if _flag(data, "include_datasets"):
        search = {"fq": f"groups:{group_name(prefix)}", "rows": GROUP_DATASETS, "sort": "metadata_modified desc", "include_private": True}
        result["packages"] = package_search(call, search)["results"]
    return result


def tag_list(call: Call, data: dict[str, Any]) -> list[Any]:
    """Return the keywords of the datasets the caller may see (published ones).

    :param query: only tags holding this text (optional; ``q`` is accepted too)
    :param all_fields: tag dicts instead of names (optional, default false)
    :rtype: list of strings or dictionaries
    """
    if _text(data, "vocabulary_id"):
        raise NotFound("本平台没有受控词表标签")
    query = _text(data, "query") or _text(data, "q")
    _viewer, conditions = _scope(call, {"include_private": True})
    tags = sorted({k for row in call.session.scalars(select(Entry.keywords).where(*conditions)) for k in row or [] if query in k})
    if _flag(data, "all_fields"):
        return [{"id": None, "name": t, "display_name": t, "state": "active", "vocabulary_id": None} for t in tags]
    return tags


def status_show(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    """Return information about the site.

    :rtype: dictionary
    """
    return {
        "site_title": SITE_TITLE,
        "site_description": "合肥经济技术开发区政务数据资源目录、共享与开放平台",
        "site_url": call.links.site,
        "ckan_version": CKAN_VERSION,
        "error_emails_to": None,
        "locale_default": "zh_Hans_CN",
        "extensions": [],
    }


def help_show(call: Call, data: dict[str, Any]) -> str:
    """Return the help text of an API action.

    :param name: the action's name, e.g. ``package_search``
    :rtype: string
    """
    name = _required(data, "name")
    if name not in ACTIONS:
        raise NotFound("没有这个接口操作")
    return ACTIONS[name].help


# -- package_search ------------------------------------------------------------------------

_FQ_TOKEN = re.compile(
    r"""(?P<op>AND|OR|&&|\|\|)(?=\s|$)
      | (?P<all>\*:\*)
      | (?P<sign>[+-]?)(?P<field>[A-Za-z_][\w.]*):(?P<value>"(?:\\.|[^"\\])*"|[\[{][^\]}]*[\]}]|\((?:\\.|[^)\\])*\)|(?:\\.|[^\s()"\\])+)""",
    re.X,
)
_RANGE = re.compile(r"([\[{])\s*(\S+)\s+TO\s+(\S+)\s*([\]}])")
_UNESCAPE = re.compile(r"\\(.)")


@dataclass(frozen=True)
class Clause:
    negative: bool
    field: str
    values: tuple[str, ...] = ()
    range: tuple[str, str, bool, bool] | None = None  # low, high, low inclusive, high inclusive


def parse_fq(text: str) -> list[list[Clause]]:
    """Solr filter syntax, the part CKAN clients send: ``field:value`` clauses (a value quoted,
    a ``(a OR b)`` group, or a ``[low TO high]`` range), ``+``/``-`` before a clause, ``OR``
    between clauses. Returns the clauses as a conjunction of disjunctions (``a OR b c`` is
    ``(a OR b) AND c``); raises Invalid for anything else, so no filter is ever ignored."""
    groups: list[list[Clause]] = []
    position, join = 0, False
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            break
        match = _FQ_TOKEN.match(text, position)
        if match is None:
            raise Invalid({"fq": f"无法理解的筛选条件：{text[position:position + 40]}（应为“字段:取值”）"})
        position = match.end()
        if match.group("op"):
            if match.group("op") in ("OR", "||"):
                if not groups:
                    raise Invalid({"fq": "筛选条件不能以 OR 开头"})
                join = True
            continue
        clause = Clause(False, "*") if match.group("all") else _clause(match.group("sign"), match.group("field"), match.group("value"))
        if join:
            groups[-1].append(clause)
        else:
            groups.append([clause])
        join = False
    if join:
        raise Invalid({"fq": "OR 后缺少筛选条件"})
    return groups


def _clause(sign: str, field: str, value: str) -> Clause:
    negative = sign == "-"
    field = field.lower()
    if value[0] == '"':
        return Clause(negative, field, (_UNESCAPE.sub(r"\1", value[1:-1]),))
    if value[0] in "[{":
        match = _RANGE.fullmatch(value)
        if match is None:
            raise Invalid({"fq": f"范围条件应为 [起 TO 止]：{value}"})
        opening, low, high, closing = match.groups()
        return Clause(negative, field, range=(_UNESCAPE.sub(r"\1", low), _UNESCAPE.sub(r"\1", high), opening == "[", closing == "]"))
    if value[0] == "(":
        parts = [p.strip() for p in re.split(r"\s+(?:OR|\|\|)\s+", value[1:-1].strip())]
        if not parts or any(not p or re.search(r"\s(AND|&&)\s", f" {p} ") for p in parts):
            raise Invalid({"fq": f"括号内只支持用 OR 连接的取值：{value}"})
        return Clause(negative, field, tuple(_UNESCAPE.sub(r"\1", p.strip('"')) for p in parts))
    if re.search(r"(?<!\\)[*?]", value):
        raise Invalid({"fq": f"不支持通配符：{field}:{value}"})
    return Clause(negative, field, (_UNESCAPE.sub(r"\1", value),))


def _when(text: str, *, high: bool) -> datetime | None:
    """A bound of a date range: an ISO date or time (UTC unless it says), NOW, or * (open)."""
    if text == "*":
        return None
    if text.upper() == "NOW":
        return datetime.now(timezone.utc)
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            day = datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
            return day + timedelta(days=1) - timedelta(microseconds=1) if high else day
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise Invalid({"fq": f"无法识别的时间：{text}（应为 ISO 8601，如 2026-01-01T00:00:00Z）"}) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# Filter fields besides the extras: field -> a condition on Entry for one value.
def _fq_organization(call: Call, value: str) -> ColumnElement[bool]:
    department = _department(call.session, value)
    return Entry.department_id == department.id if department else false()


def _fq_group(call: Call, value: str) -> ColumnElement[bool]:
    prefix = _group_prefix(value)
    return Entry.classification_code.startswith(prefix) if prefix else false()


def _fq_tag(call: Call, value: str) -> ColumnElement[bool]:
    text = cast(Entry.keywords, String)  # the JSON text, whichever way the driver escaped it
    return or_(text.contains(json.dumps(value), autoescape=True), text.contains(json.dumps(value, ensure_ascii=False), autoescape=True))


def _fq_format(call: Call, value: str) -> ColumnElement[bool]:
    return exists().where(EntryFile.entry_id == Entry.id, EntryFile.replaced_at.is_(None), func.lower(EntryFile.format) == value.lower())


def _fq_state(call: Call, value: str) -> ColumnElement[bool]:
    status = {v: k for k, v in STATES.items()}.get(value.lower())
    if status is None:
        raise Invalid({"fq": f"state 的取值应为 {'、'.join(STATES.values())}"})
    return Entry.status == status


def _fq_capacity(call: Call, value: str) -> ColumnElement[bool]:
    public = and_(Entry.status == EntryStatus.PUBLISHED, Entry.open_type.in_(list(OPEN_CATALOG)))
    if value.lower() not in ("public", "private"):
        raise Invalid({"fq": "capacity 的取值应为 public 或 private"})
    return public if value.lower() == "public" else not_(public)


def _fq_id(call: Call, value: str) -> ColumnElement[bool]:
    number = read_id("package", value)
    return Entry.id == number if number is not None else false()


FQ_FIELDS: dict[str, Callable[[Call, str], ColumnElement[bool]]] = {
    "organization": _fq_organization,
    "owner_org": _fq_organization,
    "groups": _fq_group,
    "tags": _fq_tag,
    "res_format": _fq_format,
    "state": _fq_state,
    "capacity": _fq_capacity,
    "id": _fq_id,
    "name": lambda call, value: Entry.slug == value,
    "dataset_type": lambda call, value: true() if value == "dataset" else false(),
    "type": lambda call, value: true() if value == "dataset" else false(),
}
DATE_FIELDS = {"metadata_modified": Entry.updated_at, "metadata_created": Entry.created_at}
# Extras the search index filters on, and its filter keys (`browse.FILTERS`).
INDEX_FILTERS = {"classification_kind": "classification", "format_class": "format", "share_type": "share", "open_type": "open", "update_cycle": "cycle"}


def _extra_field(field: str) -> str | None:
    name = field[len("extras_"):] if field.startswith("extras_") else field
    return name if name in EXTRAS and name not in ("data_items",) else None


def _fq_extra(name: str, value: str) -> ColumnElement[bool]:
    column = getattr(Entry, name)
    vocabulary = EXTRAS[name]
    if vocabulary is not None:
        try:
            return column == vocabulary.parse(value)
        except ValueError:
            allowed = "、".join(m.value for m in vocabulary)
            raise Invalid({"fq": f"{name} 的取值“{value}”无效（可用：{allowed}，或其中文名称）"}) from None
    if name == "personal_information":
        return column.is_(value.lower() in _TRUE)
    if name == "publish_date":
        try:
            return column == date.fromisoformat(value)
        except ValueError:
            raise Invalid({"fq": "publish_date 的取值应为 YYYY-MM-DD"}) from None
    if name in ("related_codes",):
        raise Invalid({"fq": "related_codes 不能作为筛选条件"})
    return column == value


def _condition(call: Call, clause: Clause) -> ColumnElement[bool]:
    if clause.field == "*":
        return true()
    if clause.field in DATE_FIELDS:
        if clause.range is None:
            raise Invalid({"fq": f"{clause.field} 只支持范围条件，如 [2026-01-01T00:00:00Z TO *]"})
        low, high, low_in, high_in = clause.range
        column, parts = DATE_FIELDS[clause.field], []
        if (start := _when(low, high=False)) is not None:
            parts.append(column >= start if low_in else column > start)
        if (end := _when(high, high=True)) is not None:
            parts.append(column <= end if high_in else column < end)
        condition: ColumnElement[bool] = and_(true(), *parts)
    elif clause.range is not None:
        raise Invalid({"fq": f"{clause.field} 不支持范围条件"})
    elif clause.field in FQ_FIELDS:
        condition = or_(*(FQ_FIELDS[clause.field](call, v) for v in clause.values))
    elif (name := _extra_field(clause.field)) is not None:
        condition = or_(*(_fq_extra(name, v) for v in clause.values))
    else:
        known = [*FQ_FIELDS, *DATE_FIELDS, *(k for k in EXTRAS if k != "data_items")]
        raise Invalid({"fq": f"不支持的筛选字段：{clause.field}（支持：{'、'.join(known)}；扩展字段也可写作 extras_字段名）"})
    return not_(condition) if clause.negative else condition


def _index_filters(call: Call, groups: list[list[Clause]]) -> dict[str, Any] | None:
    """The filters as the search index's own (`search_catalog`), or None when some clause needs
    the database (a group, tag, format, state, date, negation, OR ...)."""
    filters: dict[str, Any] = {}
    for group in groups:
        clause = group[0]
        if len(group) > 1 or clause.negative or clause.range is not None or len(clause.values) > 1:
            return None
        value = clause.values[0] if clause.values else ""
        if clause.field == "*" or (clause.field in ("dataset_type", "type") and value == "dataset"):
            continue
        if clause.field in ("organization", "owner_org"):
            department = _department(call.session, value)
            key, chosen = "department", department.id if department else None
        elif (name := _extra_field(clause.field)) in INDEX_FILTERS:
            try:
                key, chosen = INDEX_FILTERS[name], EXTRAS[name].parse(value)
            except ValueError:
                return None  # the database path reports it
        else:
            return None
        if chosen is None or filters.get(key, chosen) != chosen:
            return None
        filters[key] = chosen
    return filters


# Sort fields: CKAN's name -> the column it orders by; "score" is relevance to q, titles sort
# by their pinyin (as the catalog page sorts names).
SORT_COLUMNS: dict[str, Any] = {
    "metadata_modified": Entry.updated_at, "metadata_created": Entry.created_at, "name": Entry.slug, "id": Entry.id,
    "views_recent": Entry.downloads, "views_total": Entry.downloads,
}
PINYIN_SORTS = ("title_string", "title")
SORTS = ("score", *SORT_COLUMNS, *PINYIN_SORTS)


def parse_sort(text: str) -> list[tuple[str, bool]]:
    """``field asc|desc`` pairs, comma-separated; CKAN's default is relevance, then newest change."""
    keys = []
    for part in (text or "score desc, metadata_modified desc").split(","):
        field, _, direction = part.strip().partition(" ")
        direction = direction.strip().lower() or "asc"
        if field not in SORTS or direction not in ("asc", "desc"):
            raise Invalid({"sort": f"不支持的排序：{part.strip()}（可用：{'、'.join(SORTS)}，加 asc 或 desc）"})
        keys.append((field, direction == "desc"))
    return keys


@dataclass
class _Found:
    ids: list[int]
    total: int
    facets: dict[str, Counter[str]]


FACET_FIELDS = ("organization", "groups", "tags", "res_format", *INDEX_FILTERS, "security_level")


def _facet_name(field: str) -> str | None:
    if field in ("organization", "groups", "tags", "res_format"):
        return field
    name = _extra_field(field)
    return name if name in INDEX_FILTERS or name == "security_level" else None


def package_search(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    """Search for datasets (catalog entries) with the portal's own full-text search.

    :param q: the search words (Chinese segmented as in the catalog page; ``"phrase"``,
        ``-word``); fielded terms such as ``tags:空气质量`` are taken as filters (optional)
    :param fq: filters, Solr syntax: ``organization:<name>``, ``owner_org:<id>``,
        ``groups:<name>``, ``tags:<tag>``, ``res_format:<format>``, ``name:``, ``id:``,
        ``state:active|draft|deleted``, ``capacity:public|private``, ``dataset_type:dataset``,
        ``metadata_modified:[2026-01-01T00:00:00Z TO *]`` (also ``metadata_created``), and the
        catalog's own fields as extras (``share_type:conditional`` or
        ``extras_share_type:conditional``; values as stored or their Chinese labels). Clauses
        are ANDed, ``OR`` joins two, ``-`` negates, ``(a OR b)`` and quotes are understood; any
        other filter is a Validation Error, never ignored (optional)
    :param fq_list: more filters, a list (optional)
    :param sort: e.g. ``score desc, metadata_modified desc`` (default), ``metadata_modified
        desc``, ``metadata_created asc``, ``name asc``, ``title_string asc`` (pinyin), ``id
        asc``, ``views_total desc`` (downloads) (optional)
    :param rows: page size (optional, default 10, at most 1000; above 100 a bulk service for
        real-name verified users and departments)
    :param start: offset of the page (optional)
    :param facet: ``true`` (default) or ``false``
    :param facet.field: JSON list of ``organization``, ``groups``, ``tags``, ``res_format``,
        ``classification_kind``, ``format_class``, ``share_type``, ``open_type``,
        ``update_cycle``, ``security_level`` (optional)
    :param facet.limit: values per facet (optional, default 50, negative: all)
    :param facet.mincount: smallest count shown (optional, default 1)
    :param include_private: also datasets outside the public open catalog that the caller may
        see (optional, default false)
    :param include_drafts, include_deleted: also drafts / withdrawn datasets the caller may see
        (optional, default false)
    :rtype: dictionary with ``count``, ``results``, ``facets``, ``search_facets``, ``sort``
    """
    rows = min(_natural(data, "rows", ROWS_DEFAULT) or 0, ROWS_MAX)
    start = _natural(data, "start", 0) or 0
    sort_text = _text(data, "sort") or "score desc, metadata_modified desc"
    sort = parse_sort(sort_text)
    facet_fields = _json_list(data, "facet.field") if _flag(data, "facet", True) else []
    if unknown := [f for f in facet_fields if _facet_name(f) is None]:
        raise Invalid({"facet.field": f"不支持的分面字段：{'、'.join(unknown)}（可用：{'、'.join(FACET_FIELDS)}）"})
    facet_limit = _integer(data, "facet.limit", FACET_LIMIT)
    mincount = _natural(data, "facet.mincount", 1) or 0
    text, fq = _split_query(_text(data, "q"), [_text(data, "fq"), *_json_list(data, "fq_list")])
    groups = parse_fq(fq)
    viewer, conditions = _scope(call, data)
    if text and call.search is None:
        raise RuntimeError("package_search with words needs the configured search")
    found = _search_index(call, data, text, groups, sort, facet_fields, viewer, rows, start)
    if found is None:
        conditions += [or_(*(_condition(call, c) for c in group)) for group in groups]
        found = _search_database(call, text, conditions, sort, facet_fields, viewer, rows, start)
    facets = {f: _top(found.facets.get(_facet_name(f) or "", Counter()), facet_limit, mincount) for f in facet_fields}
    return {
        "count": found.total,
        "facets": facets,
        "results": package_dicts(call, _entries(call.session, found.ids)),
        "sort": sort_text,
        "search_facets": {f: _search_facet(call, f, counts) for f, counts in facets.items()},
    }


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


def _split_query(q: str, fqs: list[str]) -> tuple[str, str]:
    """CKAN lets q hold Solr fields too: known filter fields of q become filters, and the words
    of ``title:``, ``notes:`` or ``text:`` are searched as words."""
    words, filters = [], [f for f in fqs if f]
    for word in q.split():
        field, _, value = word.partition(":") if ":" in word else ("", "", "")
        field = field.lstrip("+-").lower()
        if word == "*:*" or (field and (field in FQ_FIELDS or field in DATE_FIELDS or _extra_field(field))):
            filters.append(word)
        elif field in ("title", "notes", "text") and value:
            words.append(value)
        else:
            words.append(word)
    return " ".join(words), " ".join(filters)


def _search_index(
    call: Call, data: Mapping[str, Any], text: str, groups: list[list[Clause]], sort: list[tuple[str, bool]],
    facet_fields: list[str], viewer: User | None, rows: int, start: int,
) -> _Found | None:
    """The catalog page's own search (`search_catalog`) when the request fits it: words to
    match, filters and facets the index holds, relevance, pinyin title or download order, a
    page boundary, and a viewer whose visible entries are all published (or drafts and
    withdrawn entries asked for). None when it does not fit."""
    order = {("score", True): "relevance", ("title_string", False): "name", ("title", False): "name",
             ("views_total", True): "downloads", ("views_recent", True): "downloads"}.get(sort[0])
    only_published = viewer is None or viewer.role in (Role.PUBLIC, Role.REVIEWER, Role.AUDITOR)
    every_state = _flag(data, "include_drafts") and _flag(data, "include_deleted")
    if not text or order is None or not (only_published or every_state) or (rows and start % rows):
        return None
    if any(_facet_name(f) not in (*INDEX_FILTERS, "organization") for f in facet_fields):
        return None
    filters = _index_filters(call, groups)
    if filters is None:
        return None
    assert call.search is not None
    number = start // rows + 1 if rows else 1
    page = search_catalog(call.session, call.search, viewer, text=text, filters=filters, sort=order, page=number, page_size=rows)
    ids = [e.id for e in page.entries] if start < page.total and page.page == number else []  # never "the last page instead"
    facets: dict[str, Counter[str]] = {}
    names = {value: key for key, value in INDEX_FILTERS.items()}
    for facet in page.facets:
        if facet.key == "department":
            facets["organization"] = Counter({organization_name(d): n for d, n in facet.counts})
        else:
            facets[names[facet.key]] = Counter({v.value: n for v, n in facet.counts})
    return _Found(ids, page.total, facets)


def _search_database(
    call: Call, text: str, conditions: list[ColumnElement[bool]], sort: list[tuple[str, bool]], facet_fields: list[str],
    viewer: User | None, rows: int, start: int,
) -> _Found:
    """Filters and order in SQL; the words (if any) matched by the search index first, which
    also gives relevance."""
    session = call.session
    matched: list[int] | None = None
    if text:
        assert call.search is not None
        if session.scalar(select(SearchOutbox.id).limit(1)) is not None:
            call.search.indexer.drain()  # as `search_catalog` does: a writer died before indexing
        query = parse_query(text, synonyms=call.search.synonyms)
        results = call.search.backend.search(query, scope=scope_for(viewer), filters={}, sort="relevance", offset=0, limit=MAX_TEXT_MATCHES)
        matched = results.ids
    keys = [(f, d) for f, d in sort if f != "score" or matched is not None] or [("metadata_modified", True)]
    (first, descending), base = keys[0], select(Entry.id).where(*conditions)
    if first == "score":
        allowed = set(session.scalars(base))
        ordered = [i for i in matched or [] if i in allowed]
    elif first in PINYIN_SORTS:
        titled = session.execute(select(Entry.id, Entry.title).where(*conditions)).all()
        ordered = [i for i, _title in sorted(titled, key=lambda r: (name_key(r[1]), r[0]), reverse=descending)]
    else:
        columns = [(SORT_COLUMNS[f], d) for f, d in keys if f in SORT_COLUMNS]
        statement = base.order_by(*(c.desc() if d else c.asc() for c, d in columns), Entry.id.desc() if descending else Entry.id.asc())
        if matched is None and not facet_fields:  # the database pages and counts by itself
            total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
            return _Found(list(session.scalars(statement.offset(start).limit(rows))) if rows else [], total, {})
        ordered = list(session.scalars(statement))
    if matched is not None and first != "score":
        wanted = set(matched)
        ordered = [i for i in ordered if i in wanted]
    facets = _facet_counts(session, conditions, set(ordered), facet_fields) if facet_fields else {}
    return _Found(ordered[start: start + rows], len(ordered), facets)


def _facet_counts(session: Session, conditions: list[ColumnElement[bool]], ids: set[int], fields: list[str]) -> dict[str, Counter[str]]:
    names = {_facet_name(f) for f in fields}
    counts: dict[str, Counter[str]] = {name: Counter() for name in names if name}
    codes = {d.id: organization_name(d) for d in session.scalars(select(Department))} if "organization" in counts else {}
    enums = [n for n in counts if n in INDEX_FILTERS or n == "security_level"]
    columns = [Entry.id, Entry.department_id, Entry.classification_code, Entry.keywords, *(getattr(Entry, n) for n in enums)]
    for row in session.execute(select(*columns).where(*conditions)):
        if row[0] not in ids:
            continue
        if "organization" in counts:
            counts["organization"][codes[row[1]]] += 1
        if "groups" in counts and row[2][:1] in KIND_OF_DIGIT and len(row[2]) >= 3:
            counts["groups"][group_name(row[2][:3])] += 1
        if "tags" in counts:
            counts["tags"].update(set(row[3] or []))
        for name, value in zip(enums, row[4:]):
            counts[name][value.value] += 1
    if "res_format" in counts:
        pairs = session.execute(
            select(EntryFile.entry_id, func.upper(EntryFile.format)).join(Entry, Entry.id == EntryFile.entry_id)
            .where(*conditions, EntryFile.replaced_at.is_(None)).distinct()
        )
        counts["res_format"].update(fmt for entry_id, fmt in pairs if entry_id in ids)
    return counts


def _top(counts: Counter[str], limit: int, mincount: int) -> dict[str, int]:
    ranked = sorted(((v, n) for v, n in counts.items() if n >= max(mincount, 1)), key=lambda p: (-p[1], p[0]))
    return dict(ranked if limit < 0 else ranked[:limit])


def _search_facet(call: Call, field: str, counts: dict[str, int]) -> dict[str, Any]:
    """CKAN's `search_facets` entry: items named and shown, sorted by display name descending
    (as CKAN sorts them)."""
    name = _facet_name(field)
    shown: dict[str, str] = {}
    if name == "organization":
        shown = {organization_name(d): d.name for d in call.session.scalars(select(Department))}
    elif name == "groups":
        themes = _themes(call)
        shown = {group_name(p): t for p, (t, _n, _c) in themes.items()}
    elif name in EXTRAS and EXTRAS[name] is not None:
        shown = {m.value: m.label for m in EXTRAS[name]}
    items = [{"name": v, "display_name": shown.get(v, v), "count": n} for v, n in counts.items()]
    return {"title": field, "items": sorted(items, key=lambda i: i["display_name"], reverse=True)}


# -- writing: datasets ---------------------------------------------------------------------

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


def _extras_given(data: Mapping[str, Any]) -> dict[str, Any]:
    """The catalog fields a caller sent, as extras (a list of key/value) or at the top level
    (as ckanext-scheming sends them); unknown extras are refused, not dropped."""
    given = _extras_list(data)
    if unknown := [k for k in given if k not in EXTRAS and k not in READ_ONLY_EXTRAS]:
        raise Invalid({"extras": f"不支持的扩展字段：{'、'.join(unknown)}（可用：{'、'.join(EXTRAS)}）"})
    given.update({k: data[k] for k in (*EXTRAS, *READ_ONLY_EXTRAS) if k in data})
    return given


def _items(value: Any) -> list[Mapping[str, Any]]:
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except ValueError:
            raise Invalid({"data_items": "应为 JSON 列表"}) from None
    if not isinstance(value, list) or not all(isinstance(i, Mapping) for i in value):
        raise Invalid({"data_items": "应为信息项对象的列表（name、title、data_type ...）"})
    return value


def _tags(data: Mapping[str, Any]) -> list[str] | str | None:
    if "tags" in data:
        tags = _json_value(data, "tags") or []
        if isinstance(tags, str):
            return tags
        return [str(t.get("name", "")) if isinstance(t, Mapping) else str(t) for t in tags]
    if "tag_string" in data:
        return str(data["tag_string"] or "")
    return None


def _input(data: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    """`catalog.parse_entry`'s input: `base` with what the caller sent put over it."""
    values = dict(base)
    given = _extras_given(data)
    values.update({k: v for k, v in given.items() if k in ENTRY_FIELDS})
    if "data_items" in given:
        values["items"] = _items(given["data_items"])
    if "title" in data:
        values["title"] = data["title"]
    if "notes" in data:
        values["abstract"] = data["notes"]
    if (tags := _tags(data)) is not None:
        values["keywords"] = tags
    return values


def _current_input(session: Session, entry: Entry) -> dict[str, Any]:
    """An entry as `parse_entry`'s input, with the open type its department asked for (as the
    edit form shows it)."""
    values: dict[str, Any] = {key: getattr(entry, key) for key in ENTRY_FIELDS}
    values.update(
        title=entry.title, abstract=entry.abstract, keywords=list(entry.keywords),
        items=[_item_dict(i) for i in entry.items],
    )
    values["open_type"], values["open_condition"] = open_review.proposed_open_type(session, entry)
    return values


def ckan_errors(errors: Mapping[str, str]) -> dict[str, str]:
    """Our field names in errors -> CKAN's (abstract -> notes, items.3 -> data_items ...)."""
    result: dict[str, str] = {}
    for key, message in errors.items():
        key = "items" if key.startswith("items.") else key
        name = ERROR_KEYS.get(key, key or "__all__")
        result[name] = f"{result[name]}；{message}" if name in result else message
    return result


def _state_change(call: Call, entry: Entry, state: str) -> None:
    """Publish (active) or withdraw (deleted) as the caller asked; the same rights as the pages."""
    if not state or state == STATES[entry.status]:
        return
    if state == "active":
        _require(call, Action.PUBLISH_ENTRY, entry)
        catalog.publish_entry(call.session, entry, actor=call.user, now=call.now)
    elif state == "deleted" and entry.status == EntryStatus.PUBLISHED:
        _require(call, Action.WITHDRAW_ENTRY, entry)
        catalog.withdraw_entry(call.session, entry, actor=call.user, now=call.now)
    elif state == "deleted":
        raise Invalid({"state": "草稿尚未发布，不能撤销"})
    elif state == "draft":
        raise Invalid({"state": "已发布或已撤销的资源不能退回草稿"})
    else:
        raise Invalid({"state": "state 的取值应为 active、draft 或 deleted"})


def _check_resources(session: Session, entry: Entry, data: Mapping[str, Any]) -> None:
    """A dataset's files change only through resource_create/update/delete: a `resources` list
    sent with the dataset must name exactly its current files."""
    resources = _json_value(data, "resources")
    if resources is None:
        return
    firsts = _first_revisions(_revisions(session, [entry.id]))
    current = {make_id("resource", firsts[f.id].id) for f in entry.files}
    sent = {str(r.get("id", "")) for r in resources if isinstance(r, Mapping)} if isinstance(resources, list) else {"?"}
    if sent != current:
        raise Invalid({"resources": "资源文件请通过 resource_create、resource_update、resource_delete 上传、更新或删除"})


def package_create(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    """Create a dataset (a catalog entry), as a draft unless ``state`` is ``active``.

    Needs a department key with the write scope; the same rights as the entry form.

    :param owner_org: the id or name of the department (default: the caller's)
    :param name: the slug (optional: made from the resource code)
    :param title, notes, tags: name, abstract and keywords
    :param extras: the catalog's fields (see the README), also accepted at the top level;
        ``data_items`` a JSON list of {name, title, data_type, length, description, ...};
        ``resource_code`` optional (the next free code of the classification)
    :param state: ``draft`` (default) or ``active`` (publishes: department administrators)
    :rtype: dictionary (the dataset as package_show returns it)
    """
    owner = data.get("owner_org")
    if not owner and call.user is not None and call.user.department_id is not None:
        owner = make_id("organization", call.user.department_id)
    department = _department(call.session, owner)
    if department is None:
        raise Invalid({"owner_org": "请指定所属部门（组织的 id 或 name）"})
    _require(call, Action.CREATE_ENTRY, department)
    if data.get("resources"):
        raise Invalid({"resources": "资源文件请在创建后通过 resource_create 上传"})
    fields = catalog.parse_entry(_input(data, {}))
    given = _extras_given(data)
    entry = catalog.create_entry(
        call.session, department=department, fields=fields, actor=call.user, now=call.now,
        slug=_text(data, "name") or None, resource_code=str(given.get("resource_code") or "").strip() or None,
    )
    _state_change(call, entry, _text(data, "state"))
    call.session.flush()
    return package_dicts(call, [_entry(call, make_id("package", entry.id))])[0]


def _update(call: Call, data: Mapping[str, Any], *, patch: bool) -> dict[str, Any]:
    entry = _entry(call, data.get("id") or data.get("name"))
    _require(call, Action.EDIT_ENTRY, entry)
    if data.get("id") and (name := _text(data, "name")) and name != entry.slug:
        raise Invalid({"name": "数据资源的标识（name）创建后不能修改"})
    given = _extras_given(data)
    if (code := str(given.get("resource_code") or "").strip()) and code != entry.resource_code:
        raise Invalid({"resource_code": "资源代码创建后不能修改"})
    if (org := data.get("owner_org")) and _department(call.session, org) is not entry.department:
        raise Invalid({"owner_org": "数据资源不能转移到其他部门"})
    _check_resources(call.session, entry, data)
    values = _input(data, _current_input(call.session, entry) if patch else {})
    proposed = given.get("open_type_proposed")
    if not patch and proposed and str(values.get("open_type") or "") in (entry.open_type.value, entry.open_type.label):
        # a dict from package_show sent back: keep asking for the open type under review
        values["open_type"] = proposed
        values["open_condition"] = given.get("open_condition_proposed", values.get("open_condition"))
    catalog.update_entry(call.session, entry, catalog.parse_entry(values), actor=call.user, now=call.now)
    _state_change(call, entry, _text(data, "state"))
    call.session.flush()
    call.session.expire(entry)
    return package_dicts(call, [_entry(call, make_id("package", entry.id))])[0]


def package_update(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    """Update a dataset: every editable field is replaced by what is sent (as in CKAN, a field
    left out is emptied; use package_patch to change some fields only).

    :param id: the id or name of the dataset
    :param title, notes, tags, extras: as in package_create
    :param resources: optional; if sent it must list exactly the current resources (files change
        through resource_create/update/delete)
    :param state: ``active`` publishes, ``deleted`` withdraws (department administrators)
    :rtype: dictionary
    """
    return _update(call, data, patch=False)


def package_patch(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    """Change the fields sent and keep the others.

    :param id: the id or name of the dataset
    :rtype: dictionary
    """
    return _update(call, data, patch=True)


def package_delete(call: Call, data: dict[str, Any]) -> None:
    """Withdraw a published dataset from the catalog (CKAN's state ``deleted``); it stays in its
    department's list and its history. Department administrators only.

    :param id: the id or name of the dataset
    """
    entry = _entry(call, data.get("id") or data.get("name"))
    _require(call, Action.WITHDRAW_ENTRY, entry)
    _state_change(call, entry, "deleted")
    return None


# -- writing: resources --------------------------------------------------------------------


def _ingest(call: Call, entry: Entry, upload: Upload, *, title: str, replaces: EntryFile | None) -> EntryFile:
    assert call.store is not None
    limit = call.max_upload_bytes
    return ingest(
        call.session, call.store, entry, source=upload.stream, name=upload.name, title=title[:200], replaces=replaces,
        actor=call.user, now=call.now, max_bytes=limit, limits=Limits(max_unpacked_bytes=4 * limit) if limit else Limits(),
    )


def _resource_result(call: Call, entry_id: int, record_id: int) -> dict[str, Any]:
    call.session.flush()
    call.session.expire_all()
    return resource_show(call, {"id": make_id("resource", record_id)})


def _upload(data: Mapping[str, Any]) -> Upload | None:
    upload = data.get("upload")
    if upload is None or isinstance(upload, str):
        if upload:  # a URL or text where a file belongs
            raise Invalid({"upload": "upload 应为上传的文件（multipart/form-data）"})
        return None
    return upload


def resource_create(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    """Upload a file to a dataset through the portal's pipeline (kept by content hash, tables
    normalised, described, validated and scanned for personal information), as multipart/form-data.

    A file with the name of a current file of the dataset becomes its new revision.

    :param package_id: the id or name of the dataset
    :param upload: the file
    :param name: the title shown (optional, default the file name)
    :rtype: dictionary (the resource; ``validation_status`` says whether the table passed)
    """
    entry = _entry(call, data.get("package_id"), "package_id")
    _require(call, Action.UPLOAD_FILE, entry)
    upload = _upload(data)
    if upload is None:
        raise Invalid({"upload": "请上传文件：本平台的资源文件须上传保存，不接受外部链接"})
    record = _ingest(call, entry, upload, title=_text(data, "name"), replaces=None)
    return _resource_result(call, entry.id, record.id)


def resource_update(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    """Update a resource: a new ``upload`` becomes its new revision (same resource id); ``name``
    changes its title.

    :param id: the id of the resource
    :param upload: the new file (optional)
    :param name: the title (optional)
    :rtype: dictionary
    """
    entry, record = _file(call, _required(data, "id"))
    _require(call, Action.UPLOAD_FILE, entry)
    if _text(data, "url") and _text(data, "url") not in (call.links.download(record), call.links.download_as(record, "csv")):
        raise Invalid({"url": "本平台的资源文件须上传保存，不接受外部链接"})
    if (upload := _upload(data)) is not None:
        record = _ingest(call, entry, upload, title=_text(data, "name") or record.title, replaces=record)
    elif (title := _text(data, "name")) and title != record.title:
        record.title = title[:200]
        entry.updated_at = call.now
    return _resource_result(call, entry.id, record.id)


def resource_delete(call: Call, data: dict[str, Any]) -> None:
    """Take a resource out of its dataset's current files (its revisions stay in the history).

    :param id: the id of the resource
    """
    entry, record = _file(call, _required(data, "id"))
    _require(call, Action.UPLOAD_FILE, entry)
    before = catalog.snapshot(entry)
    for f in entry.all_files:
        if f.replaced_at is None and (f is record or f.derived_from_id == record.id):
            f.replaced_at = call.now
    entry.updated_at = entry.data_updated_at = call.now
    catalog.record_change(call.session, entry, action="file", before=before, actor=call.user, now=call.now)
    return None


# -- writing: organizations ----------------------------------------------------------------


def _require_bureau(call: Call) -> None:
    if call.user is None or call.user.role != Role.BUREAU:
        raise Denied("department:manage", "organization", hide=False)


def _parent(call: Call, data: Mapping[str, Any]) -> tuple[bool, Department | None]:
    """Whether a parent was sent, and which: extras ``parent`` or CKAN's ``groups`` list."""
    extras, groups = _extras_list(data), _json_value(data, "groups")
    if "parent" in extras:
        ref = extras["parent"]
    elif isinstance(groups, list):
        ref = next((g.get("name") or g.get("id") for g in groups if isinstance(g, Mapping)), "")
    else:
        return False, None
    if not ref:
        return True, None
    parent = _department(call.session, ref)
    if parent is None:
        raise Invalid({"parent": f"没有找到上级部门：{ref}"})
    return True, parent


def organization_create(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    """Create an organization (a department). The Bureau only.

    :param name: the department's unified social credit code (in lower case, as every
        organization name here)
    :param title: the department's name
    :param extras: optional ``parent``: the name or id of the department above it
    :rtype: dictionary
    """
    _require_bureau(call)
    code, title = _required(data, "name").upper(), _text(data, "title")
    errors = {}
    if problem := uscc_error(code):
        errors["name"] = f"组织的 name 应为部门的统一社会信用代码（小写）：{problem}"
    elif call.session.scalar(select(Department.id).where(Department.code == code)):
        errors["name"] = "已有该统一社会信用代码的部门"
    if not title:
        errors["title"] = "请填写部门名称"
    elif call.session.scalar(select(Department.id).where(Department.name == title)):
        errors["title"] = "已有同名部门"
    _sent, parent = _parent(call, data)
    if errors:
        raise Invalid(errors)
    department = create_department(call.session, name=title[:100], code=code, parent=parent, now=call.now)
    audit.record(call.session, action="department:create", actor=call.user, now=call.now, target=f"{department.code} {department.name}",
                 details={"department": department.id, "parent": parent.code if parent else None})
    return organization_show(call, {"id": make_id("organization", department.id)})


def organization_update(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    """Rename an organization (a department) or change the department above it. The Bureau
    only; its name (the credit code) does not change.

    :param id: the id or name of the organization
    :param title: the new name (optional)
    :param extras: optional ``parent``
    :rtype: dictionary
    """
    _require_bureau(call)
    department = _department(call.session, data.get("id") or data.get("name"))
    if department is None:
        raise NotFound(N_("没有找到该部门"))
    if data.get("id") and (name := _text(data, "name")) and name.upper() != department.code:
        raise Invalid({"name": "组织的 name（统一社会信用代码）不能修改"})
    changes: dict[str, Any] = {}
    if (title := _text(data, "title")) and title != department.name:
        if call.session.scalar(select(Department.id).where(Department.name == title, Department.id != department.id)):
            raise Invalid({"title": "已有同名部门"})
        changes["name"] = [department.name, title]
        department.name = title[:100]
    sent, parent = _parent(call, data)
    if sent and parent is not department.parent:
        ancestor = parent
        while ancestor is not None:
            if ancestor is department:
                raise Invalid({"parent": "上级部门不能是本部门或其下级部门"})
            ancestor = ancestor.parent
        changes["parent"] = [department.parent.code if department.parent else None, parent.code if parent else None]
        department.parent = parent
    if changes:
        call.session.flush()
        audit.record(call.session, action="department:update", actor=call.user, now=call.now,
                     target=f"{department.code} {department.name}", details={"department": department.id, "changes": changes})
    return organization_show(call, {"id": make_id("organization", department.id)})


# -- the actions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionSpec:
    function: Callable[[Call, dict[str, Any]], Any]
    write: bool = False  # POST only, with a key of the write scope

    @property
    def help(self) -> str:
        return (self.function.__doc__ or "").strip()


ACTIONS: dict[str, ActionSpec] = {
    **{f.__name__: ActionSpec(f) for f in (
        package_search, package_show, package_list, current_package_list_with_resources, organization_list,
        organization_show, group_list, group_show, tag_list, resource_show, status_show, help_show,
    )},
    **{f.__name__: ActionSpec(f, write=True) for f in (
        organization_create, organization_update, package_create, package_update, package_patch, package_delete,
        resource_create, resource_update, resource_delete,
    )},
}


def call_action(call: Call, name: str, data: dict[str, Any]) -> Any:
    """Run the action `name` (the caller checked that it exists)."""
    return ACTIONS[name].function(call, data)


__all__ = ["ACTIONS", "Call", "Denied", "Links", "Upload", "call_action", "make_id", "needs_bulk", "parse_fq", "read_id"]
