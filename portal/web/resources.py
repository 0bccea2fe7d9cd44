"""Resource files over HTTP: upload through the pipeline, the resource page (schema, validation
report, quality, personal information, revisions), masking and clearance, and downloads in every
format plus the entry's data package. Every view checks `authz.can` itself; files not yet
releasable are found only by their department (`serving.released_files`)."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext
from flask_login import login_required

from .. import audit, browse, data_requests
from ..authz import Action, can
from ..downloads import ORIGINAL, derived_file, download_name, entry_descriptor, package_zip
from ..errors import Forbidden, Invalid, NotFound
from ..exports import FORMATS
from ..files import TooLarge
from ..intake import Limits
from ..models import Entry, EntryFile, Grant
from ..pipeline import ingest, mask_file, revalidate
from ..release import CLEARANCES, file_problems
from ..resources import clear_file, download_counts, record_download, revisions
from ..serving import beyond_public, hidden_columns, released_files, sees_all_files
from ..vocab import N_
from .common import commit_or_flash, db_session, file_store, now, require, viewer

bp = Blueprint("resources", __name__)


def _entry(slug: str, action: Action = Action.VIEW_ENTRY) -> Entry:
    entry = browse.get_entry(db_session(), slug, viewer())
    require(action, entry)
    return entry


def _file(entry: Entry, file_id: int) -> EntryFile:
    """A file of `entry` the viewer may see: a released current file, or for its department
    and the Bureau any revision."""
    pool = entry.all_files if sees_all_files(viewer(), entry) else released_files(viewer(), entry)
    record = next((f for f in pool if f.id == file_id), None)
    if record is None:
        raise NotFound(N_("没有找到该数据文件，或您无权查看"))
    return record


@bp.post("/catalog/<slug>/files")
@login_required
def upload(slug: str) -> Response:
    db = db_session()
    entry = _entry(slug, Action.UPLOAD_FILE)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(gettext("请选择要上传的文件"), "error")
        return redirect(url_for("catalog.entry_page", slug=slug))
    replaces = None
    if (replaces_id := request.form.get("replaces", "")).isascii() and replaces_id.isdigit() and len(replaces_id) < 10:
        replaces = next((f for f in entry.files if f.id == int(replaces_id)), None)
    try:
        record = ingest(
            db, file_store(), entry, source=upload.stream, name=upload.filename, title=request.form.get("title", "")[:200],
            replaces=replaces, actor=viewer(), now=now(), max_bytes=current_app.config["MAX_CONTENT_LENGTH"],
            limits=Limits(max_unpacked_bytes=4 * current_app.config["MAX_CONTENT_LENGTH"]),
        )
    except TooLarge:
        raise
    except Invalid as invalid:
        db.rollback()
        flash(gettext("文件未上传：%(reason)s", reason=invalid.message), "error")
        return redirect(url_for("catalog.entry_page", slug=slug))
    db.commit()
    problems = file_problems(record)
    if problems:
        flash(gettext("已上传 %(name)s，但暂不能对外提供：%(reason)s", name=record.name, reason="；".join(problems)), "error")
    else:
        flash(gettext("已上传文件：%(name)s", name=record.name))
    return redirect(url_for("resources.resource_page", slug=slug, file_id=record.id))


@bp.get("/catalog/<slug>/files/<int:file_id>")
def resource_page(slug: str, file_id: int) -> str:
    db = db_session()
    entry = _entry(slug)
    record = _file(entry, file_id)
    owner_view = sees_all_files(viewer(), entry)
    return render_template(
        "catalog/resource.html",
        entry=entry,
        record=record,
        owner_view=owner_view,
        problems=file_problems(record),
        hidden=hidden_columns(viewer(), entry),
        revisions=revisions(entry, record) if owner_view else [record],
        derived=[f for f in entry.files if f.derived_from_id == record.id],
        counts=download_counts(db, record),
        formats=FORMATS,
        clearances=CLEARANCES,
    )


@bp.post("/catalog/<slug>/files/<int:file_id>/revalidate")
@login_required
def revalidate_file(slug: str, file_id: int) -> Response:
    record = _file(_entry(slug, Action.UPLOAD_FILE), file_id)
    commit_or_flash(lambda: revalidate(db_session(), file_store(), record, actor=viewer(), now=now()), gettext("已按当前数据字典重新校验"))
    return redirect(url_for("resources.resource_page", slug=slug, file_id=file_id))


@bp.post("/catalog/<slug>/files/<int:file_id>/mask")
@login_required
def mask(slug: str, file_id: int) -> Response:
    db = db_session()
    entry = _entry(slug, Action.CLEAR_FILE)
    record = _file(entry, file_id)
    try:
        masked = mask_file(db, file_store(), record, actor=viewer(), now=now())
    except Invalid as invalid:
        db.rollback()
        flash(gettext(invalid.message), "error")
        return redirect(url_for("resources.resource_page", slug=slug, file_id=file_id))
    db.commit()
    flash(gettext("已生成脱敏文件：%(name)s", name=masked.name))
    return redirect(url_for("resources.resource_page", slug=slug, file_id=masked.id))


@bp.post("/catalog/<slug>/files/<int:file_id>/clearance")
@login_required
def clearance(slug: str, file_id: int) -> Response:
    db = db_session()
    entry = _entry(slug, Action.CLEAR_FILE)
    record = _file(entry, file_id)
    try:
        clear_file(db, record, basis=request.form.get("basis", ""), note=request.form.get("note", ""), actor=viewer(), now=now())
    except Invalid as invalid:
        db.rollback()
        flash(gettext(invalid.message), "error")
    else:
        db.commit()
        basis = CLEARANCES[record.clearance] if record.clearance else ""
        flash(gettext("已记录：%(basis)s", basis=gettext(basis)))
    return redirect(url_for("resources.resource_page", slug=slug, file_id=file_id))


# -- downloads -----------------------------------------------------------------------------


def _send(path: Any, *, record: EntryFile, fmt: str, mimetype: str | None, etag: str, grant: Grant | None = None) -> Response:
    """Stream a file from disk with Content-Length, ETag/If-None-Match and Range, named per
    RFC 6266; a download is counted once per complete or first-range request."""
    response = send_file(
        path, mimetype=mimetype, as_attachment=True, download_name=download_name(record, fmt, grant.code if grant else ""),
        conditional=True, etag=etag, max_age=0,
    )
    first_part = request.range is None or (request.range.ranges and request.range.ranges[0][0] == 0)
    if response.status_code in (200, 206) and first_part:
        record_download(db_session(), record, fmt)
        if grant is not None or beyond_public(viewer(), record.entry):
            details: dict[str, Any] = {"file": record.id, "format": fmt}
            if grant is not None:
                details["grant"] = grant.code
            audit.record(db_session(), action="data:download", actor=viewer(), now=now(), purpose=grant.purpose if grant else "",
                         target=f"{record.entry.resource_code} {record.name}", details=details)
        db_session().commit()
    return response


def _package_files(entry: Entry, hidden: set[str]) -> list[EntryFile]:
    """The files of the package a viewer gets: without columns they may not receive, a file that
    cannot be split by column (PDF, ZIP ...) is left out, as its original download is refused."""
    return [f for f in released_files(viewer(), entry) if f.tabular or not hidden]


def _downloadable(slug: str, file_id: int) -> tuple[EntryFile, set[str], Grant | None]:
    """A file the viewer may download, the columns to leave out for them, and the grant it is
    served under: without the entry's own attributes allowing it, an approved share or open
    request gives only its granted items, only until its expiry (Art. 14, 18, 22)."""
    entry = _entry(slug)
    if can(viewer(), Action.DOWNLOAD, entry):
        return _file(entry, file_id), hidden_columns(viewer(), entry), None
    grant = data_requests.active_grant(db_session(), viewer(), entry, data_requests.china_day(now()))
    if grant is None:
        require(Action.DOWNLOAD, entry)  # refuses, and records the refusal
    assert grant is not None
    record = next((f for f in entry.files if f.id == file_id and f.valid), None)
    if record is None:
        raise NotFound(N_("没有找到该数据文件，或您无权查看"))
    return record, {i.name for i in entry.items} - set(grant.items), grant


@bp.get("/catalog/<slug>/files/<int:file_id>/<path:name>")
def download(slug: str, file_id: int, name: str) -> Response:
    """The original file as uploaded."""
    record, hidden, grant = _downloadable(slug, file_id)
    if hidden or grant is not None:
        raise Forbidden(N_("该文件含有不向您提供的信息项，原始文件不能下载；请下载已移除这些列的 CSV、JSON 或 Excel 格式。"))
    return _send(file_store().path(record.sha256), record=record, fmt=ORIGINAL, mimetype=None, etag=record.sha256)


@bp.get("/catalog/<slug>/data/<int:file_id>/<fmt>")
def download_as(slug: str, file_id: int, fmt: str) -> Response:
    """The table in one of the download formats, without the columns the viewer may not receive."""
    record, hidden, grant = _downloadable(slug, file_id)
    if fmt not in FORMATS or not record.tabular:
        raise NotFound(N_("没有这种下载格式"))
    path = derived_file(file_store(), record, fmt, hidden=hidden, grant_code=grant.code if grant else "")
    return _send(path, record=record, fmt=fmt, mimetype=FORMATS[fmt].mimetype, etag=path.stem, grant=grant)


def _package_access(slug: str) -> tuple[Entry, set[str], list[EntryFile], Grant | None]:
    """The package a viewer gets: the entry's own released files, or under a grant only its
    valid tables without the items not granted."""
    entry = _entry(slug)
    if can(viewer(), Action.DOWNLOAD, entry):
        hidden = hidden_columns(viewer(), entry)
        return entry, hidden, _package_files(entry, hidden), None
    grant = data_requests.active_grant(db_session(), viewer(), entry, data_requests.china_day(now()))
    if grant is None:
        require(Action.DOWNLOAD, entry)
    assert grant is not None
    return entry, {i.name for i in entry.items} - set(grant.items), [f for f in entry.files if f.tabular and f.valid], grant


@bp.get("/catalog/<slug>/datapackage.json")
def datapackage(slug: str) -> Response:
    """The entry as a Frictionless data package whose resources point at this portal's downloads."""
    entry, hidden, files, grant = _package_access(slug)

    def path_of(record: EntryFile) -> str:
        if record.tabular:
            return url_for("resources.download_as", slug=slug, file_id=record.id, fmt="csv", _external=True)
        return url_for("resources.download", slug=slug, file_id=record.id, name=record.name, _external=True)

    descriptor = entry_descriptor(entry, files, hidden=hidden, path_of=path_of, grant_code=grant.code if grant else "")
    return Response(json.dumps(descriptor, ensure_ascii=False, indent=2), mimetype="application/json")


@bp.get("/catalog/<slug>/package.zip")
def package(slug: str) -> Response:
    """datapackage.json with every released file (under a grant: every granted table), as one ZIP;
    a package of non-public data is recorded in the audit trail like any download of it."""
    entry, hidden, files, grant = _package_access(slug)
    path = package_zip(file_store(), entry, files, hidden=hidden, grant_code=grant.code if grant else "")
    if grant is not None or beyond_public(viewer(), entry):
        details: dict[str, Any] = {"package": [f.id for f in files]} | ({"grant": grant.code} if grant else {})
        audit.record(db_session(), action="data:download", actor=viewer(), now=now(), purpose=grant.purpose if grant else "",
                     target=f"{entry.resource_code} {entry.title}", details=details)
        db_session().commit()
    name = f"{entry.slug}-{grant.code}.zip" if grant else f"{entry.slug}.zip"
    return send_file(path, mimetype="application/zip", as_attachment=True, download_name=name, conditional=True, etag=path.stem, max_age=0)
