"""The actions that read: package_show, resource_show, package_list,
current_package_list_with_resources, organization_list, organization_show, group_list,
group_show, tag_list and status_show (help_show, which reads the registry, is in `__init__`;
package_search in `search`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import func, select

from ..errors import Invalid, NotFound
from ..models import Department, Entry
from ..search.documents import name_key
from ..vocab import N_
from .common import (
    CKAN_VERSION, FILE_NOT_FOUND, GROUP_DATASETS, GROUP_LIST_MAX, ORG_DATASETS, SITE_TITLE, Call, _flag, _json_list, _natural, _required,
    _text, group_name, make_id, organization_name,
)
from .dicts import _batch, _group_dict, organization_dict, package_dict, package_dicts
from .lookups import _department, _entry, _file, _group_prefix, _scope, _themes
from .search import package_search


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
