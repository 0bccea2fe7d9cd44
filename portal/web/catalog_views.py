"""Public pages: home, the catalog list, entry pages with preview and downloads, history,
departments, and the language switch."""

from __future__ import annotations

from flask import Blueprint, current_app, Response, redirect, render_template, request, session, url_for

from .. import audit, browse, data_requests, open_review, showcases
from ..authz import Action, can
from ..catalog import FIELD_LABELS, entry_history, entry_warnings
from ..exports import FORMATS
from ..files import preview_rows
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


@bp.get("/catalog/<slug>")
def entry_page(slug: str) -> str:
    db = db_session()
    entry = browse.get_entry(db, slug, viewer())
    hidden = hidden_columns(viewer(), entry)
    files = released_files(viewer(), entry)
    if files and can(viewer(), Action.DOWNLOAD, entry) and beyond_public(viewer(), entry):
        audit.record(db, action="data:view", actor=viewer(), now=now(), target=f"{entry.resource_code} {entry.title}",
                     details={"preview": [f.id for f in files if f.normalised_sha256]})
        db.commit()
    review = open_review.pending(db, entry)
    review = review if review is not None and open_review.may_see(viewer(), review) else None
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
        request_kinds=data_requests.requestable(viewer(), entry),
        requests=data_requests.requests_of_entry(db, entry, viewer()),
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
