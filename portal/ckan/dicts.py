"""The catalog as CKAN's dicts, as the caller sees it: packages (`package_dict`,
`package_dicts`), resources (`resource_dict`, with the download the caller may use, directly or
under a grant: `active_grants`), organizations (`organization_dict`) and groups (`_group_dict`).
"""

from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass
from functools import lru_cache
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from .. import data_requests, open_review
from ..authz import OPEN_CATALOG, Action, can
from ..exports import FORMATS
from ..models import DataRequest, Department, Entry, EntryFile, Grant, OpenReview
from ..serving import hidden_columns, released_files
from ..vocab import DEPARTMENT_ROLES, EntryStatus, OpenType
from .common import EXTRAS, KIND_OF_DIGIT, STATES, Call, _iso, group_name, make_id, organization_name
from .lookups import _first_revisions, _Revision, _revisions


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
        "mimetype": _mimetype(record.format),
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


@lru_cache(maxsize=256)
def _mimetype(fmt: str) -> str | None:
    return mimetypes.guess_type(f"x.{fmt}")[0]


@dataclass
class _Batch:
    """What the dicts of several entries need, read in a few queries for all of them."""

    reviews: dict[int, OpenReview]  # pending open-type proposals
    firsts: dict[int, _Revision]  # every file's first revision
    grants: dict[int, Grant]


def _batch(call: Call, entries: list[Entry]) -> _Batch:
    ids = [e.id for e in entries]
    # pending proposals, for those who may see one (`open_review.may_see`: never an anonymous caller)
    wanted = ids if call.user is not None else []
    reviews = call.session.scalars(select(OpenReview).where(OpenReview.entry_id.in_(wanted), OpenReview.state == "pending")) if wanted else []
    known: dict[int, _Revision] = call.memo.get("first_revisions", {})  # files that are their own first revision
    walk = [e.id for e in entries if any(f.id not in known for f in e.files)]
    firsts = {**known, **_first_revisions(_revisions(call.session, walk))} if walk else known
    return _Batch({r.entry_id: r for r in reviews}, firsts, active_grants(call, entries))


def package_dicts(call: Call, entries: list[Entry]) -> list[dict[str, Any]]:
    batch = _batch(call, entries)
    return [package_dict(call, e, batch) for e in entries]


def _organization(call: Call, entry: Entry) -> dict[str, Any]:
    """The organization dict of the entry's department, made once per call (copy it)."""
    department = entry.department
    key = (department.id, department.code, department.name, department.created_at)  # all it shows
    made: dict[tuple[Any, ...], dict[str, Any]] = call.memo.setdefault("organizations", {})
    if key not in made:
        made[key] = organization_dict(call, department)
    return made[key]


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
        "organization": dict(_organization(call, entry)),
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
