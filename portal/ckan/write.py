"""The actions that change datasets and their files: package_create, package_update,
package_patch and package_delete (the catalog's fields from extras or the top level, publish
and withdraw through `state`), and resource_create, resource_update and resource_delete (files
uploaded through the portal's pipeline).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from .. import catalog, open_review, resources
from ..authz import Action
from ..errors import Invalid
from ..intake import Limits
from ..models import Entry, EntryFile
from ..pipeline import ingest
from ..vocab import EntryStatus
from .common import (
    ENTRY_FIELDS, EXTRAS, READ_ONLY_EXTRAS, STATES, Call, Upload, _extras_list, _json_value, _require, _required, _text, make_id,
)
from .dicts import _item_dict, package_dicts
from .lookups import _department, _entry, _file, _first_revisions, _revisions
from .read import resource_show


# -- writing: datasets ---------------------------------------------------------------------


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
    resources.remove_file(call.session, record, actor=call.user, now=call.now)
    return None
