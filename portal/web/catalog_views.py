"""Public pages: home, the catalog list, entry pages with preview and downloads, history,
departments, and the language switch."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, current_app, Response, redirect, render_template, request, send_file, session, url_for

from .. import browse
from ..authz import Action
from ..errors import Forbidden
from ..catalog import FIELD_LABELS, count_download, entry_history, entry_warnings
from ..files import preview_rows
from ..search.service import SORT_LABELS, search_catalog
from ..serving import hidden_columns, project_rows, projected_csv
from ..vocab import N_
from .common import db_session, file_store, require, viewer

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
        page=int(page_number) if page_number.isdigit() and len(page_number) < 7 else 1,
        page_size=int(current_app.config["PAGE_SIZE"]),
    )
    return render_template("catalog/list.html", page=page, filters=filters, text=text, sorts=SORT_LABELS)


@bp.get("/catalog/<slug>")
def entry_page(slug: str) -> str:
    db = db_session()
    entry = browse.get_entry(db, slug, viewer())
    hidden = hidden_columns(viewer(), entry)
    previews = {}
    for record in entry.files:
        header, rows = preview_rows(file_store().path(record.sha256), format=record.format, encoding=record.encoding)
        previews[record.id] = project_rows(header, rows, hidden)
    return render_template(
        "catalog/entry.html",
        entry=entry,
        warnings=entry_warnings(entry),
        previews=previews,
        hidden=hidden,
    )


@bp.get("/catalog/<slug>/history")
def entry_history_page(slug: str) -> str:
    db = db_session()
    entry = browse.get_entry(db, slug, viewer(), Action.VIEW_HISTORY)
    return render_template("catalog/history.html", entry=entry, versions=entry_history(db, entry), labels=FIELD_LABELS)


@bp.get("/catalog/<slug>/files/<int:file_id>/<path:name>")
def download(slug: str, file_id: int, name: str) -> Response:
    db = db_session()
    entry = browse.get_entry(db, slug, viewer())
    require(Action.DOWNLOAD, entry)
    record = browse.get_file(db, entry, file_id)
    path = file_store().path(record.sha256)
    hidden = hidden_columns(viewer(), entry)
    count_download(db, entry)
    db.commit()
    if not hidden:
        return send_file(path, as_attachment=True, download_name=record.name, max_age=0)
    if record.format not in ("csv", "tsv"):
        raise Forbidden(N_("该文件含有不向您提供的信息项，且无法按信息项拆分，暂不能下载；请联系提供部门。"))
    body = projected_csv(path, encoding=record.encoding, delimiter="\t" if record.format == "tsv" else ",", hidden=hidden)
    response = Response(body, mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = _attachment(record.name)
    return response


def _attachment(name: str) -> str:
    return f"attachment; filename=\"download.csv\"; filename*=UTF-8''{quote(name)}"


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
