"""The `datapackage` source kind: Frictionless data packages read into `RemoteRecord`s.

This module owns the kind's protocol (`records`, `check`): reading each `datapackage.json`
through the `Fetcher` (frictionless never fetches anything: it only checks the shape of a
descriptor already read, in `check`), and turning a descriptor into a `RemoteRecord`;
`datapackage_listing` finds the packages of a source (a package, an index or a directory
listing). It does not map records into the catalog (`mapping` does).

A listing in which no package is found at all (an empty index, a folder of folders without
packages) fails like an unreachable source: a wrong URL never archives a source's records.

A package: `guid` the descriptor's `id`, else its URL; resources with absolute URLs (a `path`
resolved against the package URL); an inline `data` resource is skipped with a note in
`extras["harvest_notes"]`; the zone catalog's fields of the descriptor's `catalog` property
(the portal's own packages, `portal.datapackages`) in `extras` under the CKAN API's keys, the
data items as `extras["data_items"]` (JSON, as `portal.datapackages.entry_input` reads them)
and each resource's Table Schema fields as `extras["schema:<resource name>"]` (JSON).
"""

from __future__ import annotations

import copy
import json
import mimetypes
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urljoin, urlsplit

from portal.datapackages import entry_input

from .base import ParseFailure
from .datapackage_listing import MAX_DESCRIPTOR_BYTES, Candidate, host, listing
from .fetch import Fetcher, FetchError
from .records import RemoteRecord, RemoteResource

if TYPE_CHECKING:
    from datetime import datetime

    from portal.models import HarvestSource

SUPPORTS_INCREMENTAL = False

MAX_SCHEMA_BYTES = 2 << 20  # a Table Schema given by reference
CHECKED_PACKAGES = 3  # packages of a directory `check` reads
# The `catalog` property (entry_input's keys) -> the extras key (the CKAN API's names).
CATALOG_KEYS = (
    "classification_kind", "classification_path", "classification_code", "format_class", "format_type",
    "share_type", "share_condition", "share_method", "legal_basis", "open_type", "open_condition", "update_cycle",
    "publish_date", "related_codes", "usage_requirements", "security_level", "personal_information",
)
FORMAT_OF_MEDIA_TYPE = {"text/csv": "CSV", "application/vnd.ms-excel": "XLS", "application/json": "JSON", "application/geo+json": "GEOJSON",
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX"}


# -- the protocol ---------------------------------------------------------------------------


def records(source: HarvestSource, fetcher: Fetcher, *, since: datetime | None = None) -> Iterator[RemoteRecord | ParseFailure]:
    """Every package of the source (`since` is ignored: not incremental). The listing failing
    raises `FetchError`, and so does a listing in which no package is found at all (so that a
    wrong URL never archives a source's records); a package that cannot be read or parsed is a
    `ParseFailure`."""
    seen: set[str] = set()
    candidates = listing(source.url, fetcher)
    for candidate in candidates:
        item = _package(candidate, fetcher)
        if item is None:
            continue
        if isinstance(item, RemoteRecord) and item.guid in seen:
            yield ParseFailure(item.guid, f"数据包标识重复：{candidate.url} 与前面的数据包使用同一个 id", item.title)
            continue
        seen.add(item.guid)
        yield item
    if not seen:  # every subfolder of a listing without a package: a wrong URL, not an empty source
        raise FetchError("invalid", f"{host(source.url)} 的目录中没有找到任何数据包（datapackage.json）", url=source.url)


def check(source: HarvestSource, fetcher: Fetcher) -> list[str]:
    """What is wrong with the source ([] when it looks fine): its listing, and the first few
    packages' descriptors, their shape checked by frictionless (no resource is fetched)."""
    try:
        candidates = listing(source.url, fetcher)
    except FetchError as error:
        return [error.message]
    problems: list[str] = []
    read = 0
    for candidate in candidates:
        if read >= CHECKED_PACKAGES:
            break
        item = _package(candidate, fetcher)
        if item is None:
            continue
        read += 1
        if isinstance(item, ParseFailure):
            problems.append(f"{candidate.url}：{item.error}")
            continue
        problems += [f"{candidate.url}：{message}" for message in validate(candidate.descriptor, candidate.url, fetcher)]
    if not read and not problems:
        problems.append("未找到任何数据包（datapackage.json）")
    return problems


# -- a package ------------------------------------------------------------------------------


def _package(candidate: Candidate, fetcher: Fetcher) -> RemoteRecord | ParseFailure | None:
    """The candidate read and parsed; None for a probed subfolder that holds no package."""
    if candidate.descriptor is None:
        try:
            candidate.descriptor = fetcher.get_json(candidate.url, max_bytes=MAX_DESCRIPTOR_BYTES)
        except FetchError as error:
            if candidate.probe and error.status == 404:
                return None
            return ParseFailure(candidate.url, f"无法读取数据包描述文件：{error.message}")
    return parse_package(candidate.descriptor, candidate.url, fetcher)


def parse_package(descriptor: Any, url: str, fetcher: Fetcher) -> RemoteRecord | ParseFailure:
    """The record a descriptor read from `url` describes, or why it cannot be one. Table Schemas
    given by reference are fetched through `fetcher`."""
    if not isinstance(descriptor, dict):
        return ParseFailure(url, "数据包描述不是 JSON 对象")
    given_id = descriptor.get("id")
    guid = given_id.strip() if isinstance(given_id, str) and given_id.strip() else url
    title = descriptor.get("title") or descriptor.get("name")
    if not isinstance(title, str) or not title.strip():
        return ParseFailure(guid, "数据包缺少 title 和 name")
    title = title.strip()
    resources = descriptor.get("resources")
    if not isinstance(resources, list) or not resources:
        return ParseFailure(guid, "数据包缺少 resources（应为非空列表）", title)
    for number, resource in enumerate(resources, 1):
        if not isinstance(resource, dict):
            return ParseFailure(guid, f"第 {number} 个资源不是 JSON 对象", title)
        path = resource.get("path")
        if path is None and "data" not in resource:
            return ParseFailure(guid, f"第 {number} 个资源（{resource.get('name') or '无名称'}）缺少 path", title)
        if path is not None and not (_is_text(path) or isinstance(path, list) and path and all(_is_text(p) for p in path)):
            return ParseFailure(guid, f"第 {number} 个资源的 path 应为字符串或字符串列表", title)
    try:
        return _record(descriptor, url, guid, title, fetcher)
    except Exception as error:  # noqa: BLE001 - one bad package never stops the listing
        return ParseFailure(guid, f"数据包无法读取：{type(error).__name__}: {error}"[:500], title)


def _record(descriptor: dict[str, Any], url: str, guid: str, title: str, fetcher: Fetcher) -> RemoteRecord:
    notes: list[str] = []
    descriptor = _with_schemas(descriptor, url, fetcher, notes)
    extras: dict[str, str] = {"package_url": url}
    for key in ("id", "version", "profile", "homepage"):
        if _is_text(descriptor.get(key)):
            extras[key] = descriptor[key].strip()
    resources: list[RemoteResource] = []
    for number, resource in enumerate(descriptor["resources"], 1):
        name = str(resource.get("name") or f"resource-{number}")
        schema = resource.get("schema")
        if isinstance(schema, dict) and isinstance(schema.get("fields"), list):
            extras[f"schema:{name}"] = json.dumps(schema["fields"], ensure_ascii=False)
        if resource.get("path") is None:
            notes.append(f"资源 {name} 为内嵌数据（data），未收录")
            continue
        resources += _resources(resource, name, url, notes)
    meta = descriptor.get("catalog")
    extras.update(_catalog_extras(descriptor, meta if isinstance(meta, dict) else None))
    licenses = [lic for lic in descriptor.get("licenses") or [] if isinstance(lic, dict)]
    if len(licenses) > 1:
        extras["licenses"] = json.dumps(licenses, ensure_ascii=False)
    if notes:
        extras["harvest_notes"] = "；".join(notes)
    publisher = _publisher(descriptor)
    department = str(meta.get("department") or "").strip() if isinstance(meta, dict) else ""
    classification = (meta.get("classification") or {}) if isinstance(meta, dict) else {}
    path = classification.get("path") if isinstance(classification, dict) else None
    keywords = descriptor.get("keywords")
    return RemoteRecord(
        guid=guid,
        title=title,
        name=descriptor["name"].strip() if _is_text(descriptor.get("name")) else "",
        notes=descriptor["description"].strip() if _is_text(descriptor.get("description")) else "",
        tags=list(dict.fromkeys(k.strip() for k in keywords if _is_text(k))) if isinstance(keywords, list) else [],
        organization=department or publisher,
        organization_title=publisher,
        themes=[path.strip()] if _is_text(path) else [],
        url=extras.get("homepage") or url,
        license=_license(licenses[0]) if licenses else "",
        issued=str(extras.get("publish_date") or descriptor.get("created") or ""),
        modified=str(descriptor.get("modified") or ""),
        extras=extras,
        resources=resources,
    )


def _resources(resource: dict[str, Any], name: str, package_url: str, notes: list[str]) -> list[RemoteResource]:
    """A resource's file(s) (a multipart `path` gives one per part), with absolute URLs."""
    paths = resource["path"] if isinstance(resource["path"], list) else [resource["path"]]
    label = str(resource.get("title") or name)
    single = len(paths) == 1
    found = []
    for number, path in enumerate(paths, 1):
        target = urljoin(package_url, path.strip())
        if urlsplit(target).scheme not in ("http", "https"):
            notes.append(f"资源 {name} 的地址不是 http(s)，未收录：{path.strip()[:100]}")
            continue
        size = resource.get("bytes")
        found.append(RemoteResource(
            url=target,
            name=label if single else f"{label}（{number}/{len(paths)}）",
            format=_format(resource, target),
            description=str(resource.get("description") or ""),
            size=size if single and isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None,
            hash=str(resource.get("hash") or "") if single else "",
        ))
    return found


def _with_schemas(descriptor: dict[str, Any], url: str, fetcher: Fetcher, notes: list[str]) -> dict[str, Any]:
    """A copy of `descriptor` whose Table Schemas given by reference (a URL or a path beside
    the package) are fetched and inlined; one that cannot be read is dropped with a note."""
    descriptor = copy.deepcopy(descriptor)
    for resource in descriptor["resources"]:
        reference = resource.get("schema")
        if not isinstance(reference, str):
            continue
        target = urljoin(url, reference.strip())
        try:
            if urlsplit(target).scheme not in ("http", "https"):
                raise FetchError("blocked", f"只能读取 http(s) 地址：{reference[:100]}", url=target)
            schema = fetcher.get_json(target, max_bytes=MAX_SCHEMA_BYTES)
            if not isinstance(schema, dict):
                raise FetchError("invalid", "表结构（Table Schema）不是 JSON 对象", url=target)
            resource["schema"] = schema
        except FetchError as error:
            del resource["schema"]
            notes.append(f"资源 {resource.get('name') or ''} 的表结构无法读取：{error.message}")
    return descriptor


def _catalog_extras(descriptor: dict[str, Any], meta: dict[str, Any] | None) -> dict[str, str]:
    """The zone catalog's fields of the `catalog` property (when there is one) as flat strings,
    and the data items of the Table Schemas as JSON, as `portal.datapackages.entry_input`
    reads them."""
    fields = entry_input(descriptor)
    extras: dict[str, str] = {}
    if meta is not None:
        extras = {key: _flat(fields.get(key)) for key in CATALOG_KEYS}
        extras["resource_code"] = _flat(meta.get("resource_code"))
        extras["department_code"] = _flat(meta.get("department"))
    if fields.get("items"):
        extras["data_items"] = json.dumps(fields["items"], ensure_ascii=False)
    return {key: value for key, value in extras.items() if value}


def _flat(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value).strip()


def _publisher(descriptor: dict[str, Any]) -> str:
    """The title of the contributor whose role is publisher (v1 `role`, v2 `roles`)."""
    for contributor in descriptor.get("contributors") or []:
        if not isinstance(contributor, dict):
            continue
        roles = contributor.get("roles") or [contributor.get("role")]
        if "publisher" in roles and _is_text(contributor.get("title")):
            return contributor["title"].strip()
    return ""


def _license(license: dict[str, Any]) -> str:
    for key in ("name", "path", "title"):
        if _is_text(license.get(key)):
            return license[key].strip()
    return ""


def _format(resource: dict[str, Any], url: str) -> str:
    """Upper-case: the resource's `format`, else its file's suffix, else its media type."""
    if _is_text(resource.get("format")):
        return resource["format"].strip().lstrip(".").upper()
    name = unquote(urlsplit(url).path.rpartition("/")[2])
    stem, dot, suffix = name.rpartition(".")
    if dot and stem and suffix.isalnum() and len(suffix) <= 7:
        return suffix.upper()
    media = str(resource.get("mediatype") or resource.get("mediaType") or "").split(";")[0].strip().lower()
    if media in FORMAT_OF_MEDIA_TYPE:
        return FORMAT_OF_MEDIA_TYPE[media]
    guessed = mimetypes.guess_extension(media) if media else None
    return guessed.lstrip(".").upper() if guessed else ""


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


# -- validation -----------------------------------------------------------------------------


def validate(descriptor: Any, url: str, fetcher: Fetcher) -> list[str]:
    """The shape problems frictionless finds in a descriptor read from `url`, in Chinese. What
    could make frictionless open a URL or a file (profiles, `$schema`, a dialect by reference)
    is removed first, schemas by reference are inlined through `fetcher`, and paths are made
    absolute URLs: it reads nothing itself."""
    from frictionless import Package  # heavy: only when checking

    if not isinstance(descriptor, dict):
        return ["数据包描述不是 JSON 对象"]
    clean = _with_schemas(descriptor, url, fetcher, []) if isinstance(descriptor.get("resources"), list) and all(
        isinstance(r, dict) for r in descriptor["resources"]) else copy.deepcopy(descriptor)
    _strip_references(clean)
    for resource in clean.get("resources") or []:
        if not isinstance(resource, dict):
            continue
        _strip_references(resource)
        if isinstance(resource.get("schema"), dict):
            _strip_references(resource["schema"])
        if not isinstance(resource.get("dialect"), dict | None):
            del resource["dialect"]
        path = resource.get("path")
        if _is_text(path):
            resource["path"] = urljoin(url, path.strip())
        elif isinstance(path, list):
            resource["path"] = [urljoin(url, p.strip()) if _is_text(p) else p for p in path]
    report = Package.validate_descriptor(clean)
    if report.valid:
        return []
    return [f"数据包描述不符合 Frictionless 规范：{row[0]}" for row in report.flatten(["message"])][:5]


def _strip_references(node: dict[str, Any]) -> None:
    """Remove a profile or `$schema` other than a named one (`tabular-data-package` ...):
    frictionless would fetch a URL or open a file to read it."""
    for key in ("profile", "$schema"):
        value = node.get(key)
        if key in node and not (isinstance(value, str) and re.fullmatch(r"[a-z][a-z-]*", value)):
            del node[key]
