"""Linked data over HTTP: the catalog and each entry as DCAT (JSON-LD and Turtle), the portal's
vocabulary, the sitemap, the change feed, and the schema.org block and alternate links of entry
pages. Everything is computed for the caller (an API key, else the signed-in user, else
anonymous) by `linked_data` and `changes`; errors are JSON."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from xml.etree import ElementTree

from flask import Blueprint, Response, current_app, request, url_for
from flask_babel import gettext
from markupsafe import Markup

from .. import browse
from ..changes import Change, changes_since, open_cursor, parse_limit, seal_cursor
from ..errors import Forbidden, Invalid, NotFound, PortalError
from ..linked_data import (
    PAGE_SIZE,
    Links,
    catalog_graph,
    catalog_page,
    entry_graph,
    html_safe_json,
    last_modified,
    parse_paging,
    parse_time,
    schema_org,
    serialize,
    sitemap_entries,
    vocabulary_graph,
)
from ..models import User
from ..vocab import N_
from .api_common import caller
from .common import db_session, viewer
from .quota import require_bulk

bp = Blueprint("linked_data", __name__)

MEDIA_TYPES = {"jsonld": "application/ld+json", "ttl": "text/turtle"}
VARY = "Cookie, Authorization, X-API-Key"  # the answer depends on who asks
SITEMAP_LIMIT = 50_000  # URLs in one sitemap file (the sitemaps.org limit); past it, an index
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def links() -> Links:
    return Links(
        home=url_for("catalog.home", _external=True),
        catalog=url_for("catalog.catalog_list", _external=True),
        vocabulary=url_for("linked_data.vocabulary", _external=True),
        entry_page=lambda slug: url_for("catalog.entry_page", slug=slug, _external=True),
        department_page=lambda department_id: url_for("catalog.department_page", department_id=department_id, _external=True),
        file_page=lambda slug, file_id: url_for("resources.resource_page", slug=slug, file_id=file_id, _external=True),
        file_download=lambda slug, file_id, name: url_for("resources.download", slug=slug, file_id=file_id, name=name, _external=True),
        file_export=lambda slug, file_id, fmt: url_for("resources.download_as", slug=slug, file_id=file_id, fmt=fmt, _external=True),
    )


def requester() -> User | None:
    """Who the answer is for; a key that is presented but not valid is refused, not ignored."""
    who = caller()
    if who.invalid_key:
        raise Forbidden(N_("API 密钥无效、已吊销或格式不正确"))
    return who.user


@bp.errorhandler(PortalError)
def portal_error(error: PortalError) -> Response:
    body: dict[str, Any] = {"status": error.status, "message": gettext(error.message)}
    if isinstance(error, Invalid):
        body["fields"] = {key: gettext(message) for key, message in error.errors.items()}
    return Response(json.dumps({"error": body}, ensure_ascii=False), status=error.status, mimetype="application/json")


def _rdf(body: bytes, fmt: str) -> Response:
    response = Response(body, mimetype=MEDIA_TYPES[fmt])
    response.headers["Vary"] = VARY
    return response


# -- DCAT -----------------------------------------------------------------------------------


@bp.get("/catalog.<any(jsonld, ttl):fmt>")
def catalog_document(fmt: str) -> Response:
    """A page of the catalog as DCAT: ?page=1&page_size=100 (up to 1000; above 100 a bulk
    service, Art. 23) &modified_since=ISO time."""
    page_number, page_size = parse_paging(request.args.get("page"), request.args.get("page_size"))
    raw_since = (request.args.get("modified_since") or "").strip()
    since = parse_time(raw_since, field="modified_since") if raw_since else None
    if page_size > PAGE_SIZE:
        require_bulk()
    user = requester()
    page = catalog_page(db_session(), user, page=page_number, page_size=page_size, modified_since=since)

    def page_url(number: int) -> str:
        args: dict[str, Any] = {"page": number, "page_size": page_size}
        if raw_since:
            args["modified_since"] = raw_since
        return url_for("linked_data.catalog_document", fmt=fmt, _external=True, **args)

    return _rdf(serialize(catalog_graph(page, user, links(), page_url), fmt), fmt)


@bp.get("/catalog/<slug>.<any(jsonld, ttl):fmt>")
def entry_document(slug: str, fmt: str) -> Response:
    """One entry as DCAT; 404 for an entry the caller may not see."""
    db = db_session()
    user = requester()
    entry = browse.get_entry(db, slug, user)
    return _rdf(serialize(entry_graph(entry, last_modified(db, entry), user, links()), fmt), fmt)


@bp.get("/ns")
def vocabulary() -> Response:
    """The portal's own terms (the namespace of the catalog's fields), Turtle unless JSON-LD is asked for."""
    fmt = "jsonld" if request.accept_mimetypes.best_match(["text/turtle", "application/ld+json"]) == "application/ld+json" else "ttl"
    return _rdf(serialize(vocabulary_graph(links()), fmt), fmt)


# -- entry pages ----------------------------------------------------------------------------


@bp.app_context_processor
def entry_page_helpers() -> dict[str, Any]:
    return {"entry_jsonld": entry_jsonld}


def entry_jsonld(entry: Any) -> Markup:
    """The schema.org Dataset of `entry` as the viewer of the page sees it, safe inside <script>."""
    data = schema_org(entry, last_modified(db_session(), entry), viewer(), links())
    return Markup(html_safe_json(data))


@bp.after_app_request
def alternate_link_header(response: Response) -> Response:
    """Entry pages also name their DCAT descriptions in a Link header (RFC 8288)."""
    if request.endpoint == "catalog.entry_page" and response.status_code == 200 and request.view_args:
        slug = request.view_args.get("slug", "")
        for fmt, media_type in MEDIA_TYPES.items():
            target = url_for("linked_data.entry_document", slug=slug, fmt=fmt, _external=True)
            response.headers.add("Link", f'<{target}>; rel="alternate"; type="{media_type}"')
    return response


# -- sitemap --------------------------------------------------------------------------------


def _sitemap_urls() -> list[tuple[str, datetime | None]]:
    """The pages of the open catalog for search engines: home, catalog, departments with open
    entries, and every entry of the open catalog, each with its last modification."""
    rows = sitemap_entries(db_session())
    newest = max((when for _slug, _department, when in rows), default=None)
    by_department: dict[int, datetime] = {}
    for _slug, department_id, when in rows:
        by_department[department_id] = max(when, by_department.get(department_id, when))
    urls: list[tuple[str, datetime | None]] = [
        (url_for("catalog.home", _external=True), newest),
        (url_for("catalog.catalog_list", _external=True), newest),
        (url_for("catalog.departments", _external=True), newest),
    ]
    urls += [(url_for("catalog.department_page", department_id=d, _external=True), when) for d, when in sorted(by_department.items())]
    urls += [(url_for("catalog.entry_page", slug=slug, _external=True), when) for slug, _department, when in rows]
    return urls


def _xml(root: ElementTree.Element) -> Response:
    body = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return Response(body, mimetype="application/xml")


def _urlset(urls: list[tuple[str, datetime | None]]) -> Response:
    root = ElementTree.Element("urlset", xmlns=SITEMAP_NS)
    for location, modified in urls:
        url = ElementTree.SubElement(root, "url")
        ElementTree.SubElement(url, "loc").text = location
        if modified is not None:
            ElementTree.SubElement(url, "lastmod").text = modified.isoformat(timespec="seconds")
    return _xml(root)


@bp.get("/sitemap.xml")
def sitemap() -> Response:
    """The sitemap, or past SITEMAP_LIMIT URLs a sitemap index of /sitemap-N.xml files."""
    urls = _sitemap_urls()
    if len(urls) <= SITEMAP_LIMIT:
        return _urlset(urls)
    root = ElementTree.Element("sitemapindex", xmlns=SITEMAP_NS)
    for number in range(1, -(-len(urls) // SITEMAP_LIMIT) + 1):
        part = ElementTree.SubElement(root, "sitemap")
        ElementTree.SubElement(part, "loc").text = url_for("linked_data.sitemap_part", number=number, _external=True)
    return _xml(root)


@bp.get("/sitemap-<int:number>.xml")
def sitemap_part(number: int) -> Response:
    part = _sitemap_urls()[(number - 1) * SITEMAP_LIMIT : number * SITEMAP_LIMIT] if number >= 1 else []
    if not part:
        raise NotFound(N_("没有这一部分站点地图"))
    return _urlset(part)


# -- the change feed ------------------------------------------------------------------------


def _secret() -> str:
    return str(current_app.config["SECRET_KEY"])


def _change_item(change: Change) -> dict[str, Any]:
    entry = change.entry
    if change.kind == "removed":  # no longer the caller's to see: nothing but what identifies it
        return {"kind": "removed", "at": change.at.isoformat(), "entry": {"id": entry.id, "resource_code": entry.resource_code}}
    return {
        "kind": change.kind,
        "action": change.action,
        "at": change.at.isoformat(),
        "entry": {
            "id": entry.id,
            "slug": entry.slug,
            "resource_code": entry.resource_code,
            "title": entry.title,
            "status": entry.status.value,
            "url": url_for("catalog.entry_page", slug=entry.slug, _external=True),
            "dcat_jsonld": url_for("linked_data.entry_document", slug=entry.slug, fmt="jsonld", _external=True),
            "dcat_turtle": url_for("linked_data.entry_document", slug=entry.slug, fmt="ttl", _external=True),
        },
    }


@bp.get("/catalog/changes.json")
def change_feed() -> Response:
    """Entries created, changed or removed for the caller: ?since=ISO time (or nothing: from the
    beginning), then ?cursor= from the previous answer; &limit= up to 1000. A continuous
    service: real-name verified users and departments only (Art. 23)."""
    require_bulk()
    user = requester()
    limit = parse_limit(request.args.get("limit"))
    token = (request.args.get("cursor") or "").strip()
    raw_since = (request.args.get("since") or "").strip()
    cursor = open_cursor(token, _secret()) if token else None
    since = parse_time(raw_since, field="since") if raw_since and cursor is None else None
    page = changes_since(db_session(), user, since=since, cursor=cursor, limit=limit)
    sealed = seal_cursor(page.cursor, _secret())
    body = {
        "changes": [_change_item(change) for change in page.changes],
        "cursor": sealed,
        "has_more": page.has_more,
        "next": url_for("linked_data.change_feed", cursor=sealed, limit=limit, _external=True),
    }
    response = Response(json.dumps(body, ensure_ascii=False), mimetype="application/json")
    response.headers["Vary"] = VARY
    response.headers["Cache-Control"] = "private, no-store"
    return response
