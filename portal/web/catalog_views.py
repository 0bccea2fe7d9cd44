"""Public pages: home, the catalog list, entry pages with preview and downloads, history,
departments, and the language switch."""

from __future__ import annotations

import functools
import hashlib
import threading
import time
from collections import OrderedDict
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from flask import Blueprint, current_app, g, Response, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_wtf.csrf import generate_csrf
from sqlalchemy import CompoundSelect, Integer, Select, String, Text, and_, bindparam, cast, func, literal, select, union_all
from sqlalchemy.orm import Session

from .. import audit, browse, data_requests, open_review, showcases
from .. import error_reports as er
from ..authz import Action, can
from ..catalog import FIELD_LABELS, entry_history, entry_warnings
from ..exports import FORMATS
from ..files import preview_rows
from ..models import (
    CalendarYear, DataRequest, Department, Entry, EntryFile, EntryVersion, ErrorReport, Notification, OpenReview, Showcase, ShowcaseEntry, User,
)
from ..release import file_problems, release_problems
from ..search.service import SORT_LABELS, search_catalog
from ..serving import beyond_public, hidden_columns, project_rows, released_files
from ..vocab import EntryStatus
from .common import db_session, file_store, now, viewer

bp = Blueprint("catalog", __name__)


@bp.get("/")
def home() -> str:
    db = db_session()
    return render_template(
        "home.html",
        counts=browse.catalog_counts(db, viewer()),
        newest=browse.newest_entries(db, viewer()),
    )


@bp.get("/catalog")
def catalog_list() -> str:
    """The catalog: full-text search with filters, sorting and pagination."""
    filters = browse.parse_filters(request.args)
    text = request.args.get("q") or ""
    page_number = request.args.get("page", "1")
    page = search_catalog(
        db_session(),
        current_app.extensions["portal.search"],
        viewer(),
        text=text,
        filters=filters,
        sort=request.args.get("sort", "relevance"),
        page=int(page_number) if page_number.isascii() and page_number.isdigit() and len(page_number) < 7 else 1,
        page_size=int(current_app.config["PAGE_SIZE"]),
    )
    return render_template("catalog/list.html", page=page, filters=filters, text=text, sorts=SORT_LABELS)


# -- the entry page and its validator ---------------------------------------------------------

PAGE_CACHE_SIZE = 256  # rendered anonymous entry pages a process keeps (least recently used first out)
PAGE_CACHE_BYTES = 32 << 20  # ... and at most this many bytes of them; a larger page is not kept
RENDERING_DISTRIBUTIONS = ("flask", "jinja2", "babel", "flask-babel", "flask-wtf", "holidays", "rdflib", "markdown-it-py", "nh3")


@functools.cache
def release_marker() -> str:
    """What this deployment renders with: the portal's version, a digest of its code, templates,
    translations and static files, and the versions of the libraries that shape a page. A new
    release (or any edited template) changes it, so no browser keeps a page of the old one."""
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parents[1]
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix in {".py", ".html", ".mo", ".css", ".js", ".json", ".txt"}:
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    for name in ("zone-portal", *RENDERING_DISTRIBUTIONS):
        try:
            digest.update(f"{name}={metadata.version(name)};".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name}=?;".encode())
    return digest.hexdigest()[:16]


class PageCache:
    """Rendered anonymous entry pages by their validator, per process: a bounded LRU. The
    validator names everything the page shows, so a page found under it is the page."""

    def __init__(self, size: int = PAGE_CACHE_SIZE, budget: int = PAGE_CACHE_BYTES) -> None:
        self.size, self.budget, self.used = size, budget, 0
        self._pages: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, tag: str) -> bytes | None:
        with self._lock:
            page = self._pages.get(tag)
            if page is not None:
                self._pages.move_to_end(tag)
            return page

    def put(self, tag: str, page: bytes) -> None:
        if len(page) > self.budget // 16:
            return
        with self._lock:
            if tag in self._pages:
                return
            self._pages[tag] = page
            self.used += len(page)
            while len(self._pages) > self.size or self.used > self.budget:
                _tag, dropped = self._pages.popitem(last=False)
                self.used -= len(dropped)

    def __len__(self) -> int:
        return len(self._pages)


def page_cache() -> PageCache:
    return current_app.extensions.setdefault("portal.entry_pages", PageCache())


def _csrf_field() -> str:
    return current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")


@functools.cache
def _validator_statements() -> tuple[Select[Any], CompoundSelect[Any], CompoundSelect[Any]]:
    """The validator's two queries, built once: the entry with its department, last version time
    and current files (one row per file); the id, version and state of what the page lists
    about it (and, for a signed-in viewer, their requests on it and unread notices)."""
    last_version = select(func.max(EntryVersion.at)).where(EntryVersion.entry_id == Entry.id).correlate(Entry).scalar_subquery()
    entry_state = (
        select(
            Entry.id, Entry.version, Entry.created_at, Entry.updated_at, Entry.status, Entry.share_type, Entry.open_type,
            Entry.department_id, Department.name, Department.code, last_version,
            EntryFile.id, EntryFile.name, EntryFile.title, EntryFile.format, EntryFile.size, EntryFile.row_count,
            EntryFile.created_at, EntryFile.tabular, EntryFile.normalised_sha256, EntryFile.clearance, EntryFile.derived_from_id,
            cast(EntryFile.report, Text), cast(EntryFile.findings, Text),
        )
        .join(Department, Department.id == Entry.department_id)
        .outerjoin(EntryFile, and_(EntryFile.entry_id == Entry.id, EntryFile.replaced_at.is_(None)))
        .where(Entry.slug == bindparam("slug"))
        .order_by(EntryFile.id)
    )
    entry_id = bindparam("entry_id", type_=Integer)
    parts = [
        select(literal("report"), ErrorReport.id, ErrorReport.version, ErrorReport.state).where(ErrorReport.entry_id == entry_id),
        select(literal("showcase"), Showcase.id, Showcase.version, Showcase.state)
        .join(ShowcaseEntry, ShowcaseEntry.showcase_id == Showcase.id).where(ShowcaseEntry.entry_id == entry_id),
        select(literal("review"), OpenReview.id, OpenReview.version, OpenReview.state).where(OpenReview.entry_id == entry_id),
        select(literal("calendar"), func.count(CalendarYear.year), literal(0), cast(func.max(CalendarYear.loaded_at), String)),
    ]
    viewer_parts = [
        select(literal("request"), DataRequest.id, DataRequest.version, DataRequest.state).where(DataRequest.entry_id == entry_id),
        select(literal("unread"), func.count(Notification.id), literal(0), literal(""))
        .where(Notification.user_id == bindparam("user_id", type_=Integer), Notification.read_at.is_(None)),
    ]
    return entry_state, union_all(*parts), union_all(*parts, *viewer_parts)


def entry_validator(db: Session, slug: str, user: User | None) -> str | None:
    """The strong ETag of the entry page `slug` as `user` would get it now, read with two small
    queries and without rendering; None when the page cannot be validated (no such entry, not
    visible to `user`, or a flashed message waiting to be shown on it).

    It digests what the page shows: the entry's row (its `version` moves with every change of
    its fields, data items, files and open type, `catalog.record_change`), the department's name
    and code, the entry's last version time (the JSON-LD's dateModified), the current files as
    stored (revalidation rewrites a file's report in place, without a new version), and the
    id/version/state of the error reports, the showcases linking it and the open-attribute
    reviews (each moves only by compare-and-set, bumping its version); with a report still
    waiting for its answer, the China day and the working-day calendar (its clock counts down).
    Then the locale, the site's scheme, host and root path (the JSON-LD's links are absolute) and the release
    marker. For a signed-in viewer also who they are (id, role, department, name), their unread
    notices, the requests on the entry, the session's CSRF secret and the CSRF time slice (the
    page carries forms whose signed token expires). Not the download count: the page does not
    show it."""
    if session.get("_flashes"):
        return None
    entry_state, related_state, viewer_state = _validator_statements()
    connection = db.connection()  # Core on the request's transaction: no ORM entities to build, half the cost
    rows = connection.execute(entry_state, {"slug": slug}).all()
    if not rows:
        return None
    first = rows[0]
    shown = SimpleNamespace(department_id=first.department_id, status=first.status, share_type=first.share_type, open_type=first.open_type)
    if not can(user, Action.VIEW_ENTRY, shown):
        return None
    if user is None:
        found = connection.execute(related_state, {"entry_id": first[0]})
    else:
        found = connection.execute(viewer_state, {"entry_id": first[0], "user_id": user.id})
        generate_csrf()  # the page's forms carry the session's token: it exists before the ETag names it
    related = sorted(tuple(row) for row in found)
    key: list[object] = [
        release_marker(), request.scheme, request.host, request.root_path, str(get_locale() or "zh"), slug,
        [tuple(row) for row in rows], [row for row in related if row[0] != "calendar"],
    ]
    if any(kind == "report" and state == "received" for kind, _id, _version, state in related):
        key += [er.china_day(now()).isoformat(), [row for row in related if row[0] == "calendar"]]
    if user is None:
        key.append("anonymous")
    else:
        limit = current_app.config.get("WTF_CSRF_TIME_LIMIT", 3600)
        key += [
            ("user", user.id, str(user.role), user.department_id, user.display_name),
            session.get(_csrf_field()), int(time.time() // max(60, limit // 4)) if limit else 0,
        ]
    return '"' + hashlib.sha256(repr(key).encode()).hexdigest()[:40] + '"'


def _conditional(response: Response, tag: str | None) -> Response:
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.add("Cookie")
    if tag is not None:
        response.set_etag(tag.strip('"'))
    return response


@bp.get("/catalog/<slug>")
def entry_page(slug: str) -> Response:
    """The entry page, revalidated by every cache (`Cache-Control: private, no-cache`, `Vary:
    Cookie`) against a strong ETag computed before rendering (`entry_validator`): an
    If-None-Match that still holds gets 304 without rendering.

    The ETag holds for anonymous and signed-in viewers alike (the viewer is in it). A page with a
    flashed message gets none (a cached copy would show the message again), nor does a page that
    turns out to carry a CSRF token the ETag was not computed with. A signed-in viewer who
    receives data beyond the public's is recorded in the audit trail on every view, 304 or not.

    Rendered anonymous pages are also kept per process under their ETag (`PageCache`, LRU, 256
    pages): as the ETag names everything the page shows, another anonymous visitor's first
    request for the same entry, locale and site gets the same bytes without rendering. Signed-in
    pages are not kept: they are few per viewer and carry the session's CSRF token."""
    db = db_session()
    user = viewer()
    tag = entry_validator(db, slug, user)  # first: what the page then shows is never older than its ETag
    entry: Entry | None = None
    if user is not None:  # as before: who may see the page (else 404), and the audit of data beyond the public's
        entry = browse.get_entry(db, slug, user)
        _audit_view(db, entry, user)
    if tag is not None:
        if request.if_none_match.contains_weak(tag.strip('"')):
            return _conditional(current_app.response_class(status=304), tag)
        if user is None and (page := page_cache().get(tag)) is not None:
            return _conditional(current_app.response_class(page, mimetype="text/html"), tag)
    field = _csrf_field()
    held = session.get(field)
    body = _render_entry(db, entry or browse.get_entry(db, slug, user), user)
    if tag is not None and field in g and (user is None or session.get(field) != held):
        tag = None  # the page carries a CSRF token that the ETag was not computed with
    response = current_app.response_class(body, mimetype="text/html")
    if tag is not None and user is None:
        page_cache().put(tag, response.get_data())
    return _conditional(response, tag)


def _audit_view(db: Session, entry: Entry, user: User) -> None:
    files = released_files(user, entry)
    if files and can(user, Action.DOWNLOAD, entry) and beyond_public(user, entry):
        audit.record(db, action="data:view", actor=user, now=now(), target=f"{entry.resource_code} {entry.title}",
                     details={"preview": [f.id for f in files if f.normalised_sha256]})
        db.commit()


def _render_entry(db: Session, entry: Entry, user: User | None) -> str:
    files = released_files(user, entry)
    hidden = hidden_columns(user, entry)
    review = open_review.pending(db, entry)
    review = review if review is not None and open_review.may_see(user, review) else None
    wanted = review.proposed if review else entry.open_type  # files are judged by the type the department asks for
    previews = {}
    for record in files:
        if record.normalised_sha256:
            header, rows = preview_rows(file_store().path(record.normalised_sha256))
            previews[record.id] = project_rows(header, rows, hidden)
    return render_template(
        "catalog/entry.html",
        entry=entry,
        files=files,
        problems={f.id: file_problems(f, wanted) for f in files},
        release_problems=release_problems(entry, wanted) if entry.status != EntryStatus.PUBLISHED or review else [],
        review=review,
        warnings=entry_warnings(entry),
        previews=previews,
        hidden=hidden,
        formats=FORMATS,
        request_kinds=data_requests.requestable(user, entry),
        requests=data_requests.requests_of_entry(db, entry, user),
        request_states=data_requests.STATES,
        request_labels=data_requests.KINDS,
        entry_showcases=showcases.showcases_of_entry(db, entry),
    )


@bp.get("/catalog/<slug>/history")
def entry_history_page(slug: str) -> str:
    db = db_session()
    entry = browse.get_entry(db, slug, viewer(), Action.VIEW_HISTORY)
    return render_template("catalog/history.html", entry=entry, versions=entry_history(db, entry), labels=FIELD_LABELS)


@bp.get("/departments")
def departments() -> str:
    return render_template("departments/list.html", departments=browse.departments_with_counts(db_session(), viewer()))


@bp.get("/departments/<int:department_id>")
def department_page(department_id: int) -> str:
    db = db_session()
    department = browse.get_department(db, department_id)
    return render_template(
        "departments/show.html", department=department, entries=browse.department_entries(db, department, viewer())
    )


@bp.get("/lang/<code>")
def set_language(code: str) -> Response:
    if code in ("zh", "en"):
        session["lang"] = code
    target = request.referrer or ""
    if not target.startswith(request.host_url):
        target = url_for("catalog.home")
    return redirect(target)
