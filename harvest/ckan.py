"""The CKAN source kind: a catalog that speaks CKAN's Action API (CKAN 2.9/2.10, and the zone
portals' own CKAN-compatible API), read into `RemoteRecord`s.

Listing: `package_search` sorted by `id asc` (a stable key: a record changed during the run
does not move between pages), `rows` = the source's page size, `start` = the offset of the
records received so far (a server that caps `rows` lower is still paged right), only the
public catalog (`include_private=false`). A page whose records were all seen on earlier pages
is a server ignoring `start`: the listing stops with a `FetchError` so that the job fails
rather than archive what it never saw. CKAN's error envelope (`success: false`) is a
`FetchError` "invalid" with the remote message.

Incremental runs (`since` given by the job: the last good run's start minus the overlap) ask
only for `metadata_modified:[since TO *]`. Such a listing cannot show deletions, so an
incremental job never archives; a full run does (the job runs one at least weekly, see
`base`). `total` (the number of public records) lets the job notice that records vanished and
run in full.

A package becomes a record: guid = the package id; organization = the organization's name;
themes = the group names; extras flattened into strings (ckanext-scheming's top-level custom
fields too); resources with their url, format, name, size, last_modified and hash. A resource
the source marks `downloadable: false` (the zone portals' files of 依申请开放 entries) is kept
without its url: it is not the public's to download.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

from portal.models import HarvestSource

from .base import ParseFailure
from .fetch import Fetcher, FetchError
from .records import RemoteRecord, RemoteResource
from .settings import effective_settings
from .vocabulary import normal_format

SUPPORTS_INCREMENTAL = True
SORT = "id asc"
MAX_PAGES = 100_000
# Package keys of CKAN itself: everything else at the top level is a custom field (ckanext-scheming).
PACKAGE_KEYS = frozenset({
    "id", "name", "title", "notes", "url", "version", "state", "private", "type", "owner_org", "organization",
    "author", "author_email", "maintainer", "maintainer_email", "license_id", "license_title", "license_url",
    "creator_user_id", "metadata_created", "metadata_modified", "num_resources", "num_tags", "tags", "groups",
    "extras", "resources", "relationships_as_object", "relationships_as_subject", "isopen", "tracking_summary",
    "revision_id", "revision_timestamp", "ckan_url", "score", "index_id", "site_id", "data_dict", "validated_data_dict",
    "capacity", "num_followers", "followers", "_version_", "entity_type", "dataset_type",
})
KEPT_TOP_LEVEL = ("author", "maintainer", "version")  # CKAN fields a source's mapping may name as extras


def api_base(url: str) -> str:
    """The Action API's base, ending in "/": from a base URL of the site, or from a URL that
    already names `/api/3/action/` (or `/api/action/`, or one action)."""
    parts = urlsplit(url.strip())
    path = parts.path
    for marker in ("/api/3/action", "/api/action"):
        if marker in path:
            path = path[: path.index(marker) + len(marker)]
            break
    else:
        path = path.rstrip("/") + "/api/3/action"
    return urlunsplit((parts.scheme, parts.netloc, path + "/", "", ""))


def action_url(source: HarvestSource, action: str, params: Mapping[str, Any]) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{api_base(source.url)}{action}" + (f"?{query}" if query else "")


def call(fetcher: Fetcher, url: str) -> Any:
    """The `result` of an action; FetchError "invalid" for an error envelope or a body that is
    not CKAN's."""
    body = fetcher.get_json(url)
    if not isinstance(body, Mapping) or "success" not in body:
        raise FetchError("invalid", f"来源 {urlsplit(url).hostname} 的应答不是 CKAN 接口的格式", url=url)
    if body.get("success") is not True:
        error = body.get("error")
        message = ""
        if isinstance(error, Mapping):
            message = str(error.get("message") or "") or "；".join(
                f"{k}：{'、'.join(map(str, v)) if isinstance(v, list) else v}" for k, v in error.items() if k != "__type"
            ) or str(error.get("__type") or "")
        raise FetchError("invalid", f"来源返回错误：{message or '未说明原因'}", url=url)
    return body.get("result")


def since_clause(since: datetime) -> str:
    moment = since.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"metadata_modified:[{moment} TO *]"


def _search(source: HarvestSource, fetcher: Fetcher, *, rows: int, start: int, since: datetime | None) -> tuple[int | None, list[Any], str]:
    params = {"fq": since_clause(since) if since else None, "sort": SORT, "rows": rows, "start": start, "include_private": "false"}
    url = action_url(source, "package_search", params)
    result = call(fetcher, url)
    if not isinstance(result, Mapping) or not isinstance(result.get("results"), list):
        raise FetchError("invalid", "来源的 package_search 应答缺少 results 列表", url=url)
    count = result.get("count")
    return (count if isinstance(count, int) else None), result["results"], url


def records(source: HarvestSource, fetcher: Fetcher, *, since: datetime | None) -> Iterator[RemoteRecord | ParseFailure]:
    """Every public package of the source (changed since `since`, when given), page by page."""
    rows = int(effective_settings(source).get("page_size") or 100)
    start, pages = 0, 0
    seen: set[str] = set()
    while pages < MAX_PAGES:
        pages += 1
        count, results, url = _search(source, fetcher, rows=rows, start=start, since=since)
        if not results:
            return
        ids = [str(p.get("id") or "") if isinstance(p, Mapping) else "" for p in results]
        if all(i and i in seen for i in ids):
            raise FetchError("invalid", f"来源重复返回同一页（第 {pages} 页的记录在前面的页中都已出现），已停止，以免把未读到的记录当作已删除", url=url)
        for package, guid in zip(results, ids):
            if guid in seen:
                continue  # a record that moved up a page while we read: already yielded
            seen.add(guid)
            yield parse_package(package, site=source.url)
        start += len(results)
        if count is not None and start >= count:
            return
        if count is None and len(results) < rows:
            return  # no count given: a short page is the last
    raise FetchError("invalid", f"来源的页数超过 {MAX_PAGES} 页，已停止")


def total(source: HarvestSource, fetcher: Fetcher) -> int | None:
    """The number of public packages the source has now, if it says."""
    count, _results, _url = _search(source, fetcher, rows=0, start=0, since=None)
    return count


def check(source: HarvestSource, fetcher: Fetcher) -> list[str]:
    """Problems reaching the source as a CKAN catalog, in Chinese; [] when it answers."""
    problems = []
    try:
        status = call(fetcher, action_url(source, "status_show", {}))
        if not isinstance(status, Mapping) or not status.get("ckan_version"):
            problems.append("来源的 status_show 没有给出 CKAN 版本，可能不是 CKAN 接口")
    except FetchError as error:
        problems.append(f"status_show 不可用：{error.message}")
    try:
        count = total(source, fetcher)
        if count == 0:
            problems.append("来源没有公开的数据集")
        elif problems and count:
            problems = []  # the listing is what a job needs; a source without status_show is fine
    except FetchError as error:
        problems.append(f"无法列出数据集（package_search）：{error.message}")
    return problems


# -- a package -----------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value).strip()


def _extras(package: Mapping[str, Any]) -> dict[str, str]:
    extras: dict[str, str] = {}
    for key, value in package.items():
        if key not in PACKAGE_KEYS and not isinstance(value, (dict, list)) or key in KEPT_TOP_LEVEL:
            if _text(value):
                extras[str(key)] = _text(value)
    raw = package.get("extras") or []
    if isinstance(raw, Mapping):  # some sources send a dict
        raw = [{"key": k, "value": v} for k, v in raw.items()]
    for extra in raw:
        if isinstance(extra, Mapping) and extra.get("key") is not None and extra.get("state", "active") == "active":
            extras[str(extra["key"])] = _text(extra.get("value"))
    return extras


def _size(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _resource(raw: Mapping[str, Any], site: str) -> RemoteResource:
    url = _text(raw.get("url"))
    if url and not urlsplit(url).scheme and site:
        url = urljoin(site, url)  # an address relative to the site
    if raw.get("downloadable") is False:
        url = ""
    return RemoteResource(
        url=url,
        name=_text(raw.get("name")) or _text(raw.get("file_name")),
        format=normal_format(_text(raw.get("format")) or _text(raw.get("mimetype"))),
        description=_text(raw.get("description")),
        size=_size(raw.get("size")),
        modified=_text(raw.get("last_modified") or raw.get("metadata_modified") or raw.get("created")),
        hash=_text(raw.get("hash")),
    )


def _names(values: Any) -> list[str]:
    return [str(v.get("name") or v.get("display_name") or "") if isinstance(v, Mapping) else str(v) for v in values or []]


def parse_package(package: Any, *, site: str = "") -> RemoteRecord | ParseFailure:
    """A CKAN package dict as a record, or a ParseFailure saying why it is not one; resource
    addresses relative to `site` are made absolute."""
    if not isinstance(package, Mapping):
        return ParseFailure(guid="", error="来源的数据集不是 JSON 对象")
    guid, title = _text(package.get("id")), _text(package.get("title")) or _text(package.get("name"))
    if not guid:
        return ParseFailure(guid="", title=title, error="来源的数据集没有 id")
    try:
        organization = package.get("organization") or {}
        if not isinstance(organization, Mapping):
            organization = {}
        resources = [_resource(r, site) for r in package.get("resources") or [] if isinstance(r, Mapping) and r.get("state", "active") == "active"]
        return RemoteRecord(
            guid=guid,
            title=title,
            name=_text(package.get("name")),
            notes=_text(package.get("notes")),
            tags=[t for t in _names(package.get("tags")) if t],
            organization=_text(organization.get("name")) or _text(package.get("owner_org")),
            organization_title=_text(organization.get("title")),
            themes=[g for g in _names(package.get("groups")) if g],
            url=_text(package.get("url")),
            license=_text(package.get("license_title")) or _text(package.get("license_id")),
            issued=_text(package.get("metadata_created")),
            modified=_text(package.get("metadata_modified")),
            extras=_extras(package),
            resources=resources,
        )
    except (TypeError, ValueError, AttributeError) as error:
        return ParseFailure(guid=guid, title=title, error=f"无法读取该数据集：{error}")
