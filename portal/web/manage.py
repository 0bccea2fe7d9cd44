"""Department pages for compiling the catalog: create and edit entries (their data items are the
data dictionary of their tables), publish and withdraw them. Every view checks `authz.can` itself."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import login_required
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from .. import browse, catalog, open_review
from ..authz import Action, can
from ..errors import Invalid
from ..models import Department, Entry
from ..vocab import N_, ClassificationKind, DataType, FormatClass, OpenType, SecurityLevel, ShareType, UpdateCycle
from .common import db_session, now, require, viewer

bp = Blueprint("manage", __name__)

ITEM_FIELDS = ("title", "name", "data_type", "length", "description", "share_type", "open_type", "required", "unique", "enum", "pattern")
BLANK_ITEM_ROWS = 3


def form_input(form: MultiDict[str, str]) -> dict[str, Any]:
    """The input of `catalog.parse_entry` from the entry form; data items come as items-N-field."""
    data: dict[str, Any] = {key: form.get(key, "") for key in catalog.FIELD_LABELS}
    data["personal_information"] = form.get("personal_information") == "on"
    rows: dict[int, dict[str, str]] = {}
    for key, value in form.items():
        parts = key.split("-")
        if len(parts) == 3 and parts[0] == "items" and parts[1].isascii() and parts[1].isdigit() and parts[2] in ITEM_FIELDS:
            rows.setdefault(int(parts[1]), {})[parts[2]] = value
    data["items"] = [rows[n] for n in sorted(rows)]
    return data


def entry_values(entry: Entry) -> dict[str, Any]:
    """An entry's fields as the form shows them."""
    values: dict[str, Any] = {key: getattr(entry, key) for key in catalog.FIELD_LABELS if hasattr(entry, key) and key not in ("items", "files", "department", "status")}
    values["keywords"] = "、".join(entry.keywords)
    values["related_codes"] = " ".join(entry.related_codes)
    values["open_type"], values["open_condition"] = open_review.proposed_open_type(db_session(), entry)  # what the department asked for
    values["items"] = [
        {k: getattr(i, k) for k in ITEM_FIELDS[:7]}
        | {k: (i.constraints or {}).get(k, "") for k in ("required", "unique", "pattern")}
        | {"enum": "、".join((i.constraints or {}).get("enum", []))}
        for i in entry.items
    ]
    return values


def _render_form(entry: Entry | None, values: dict[str, Any], errors: dict[str, str], departments: list[Department]) -> tuple[str, int]:
    items = list(values.get("items") or []) + [{} for _ in range(BLANK_ITEM_ROWS)]
    return render_template(
        "manage/entry_form.html",
        entry=entry,
        values=values,
        items=items,
        errors=errors,
        departments=departments,
        vocab={
            "classification_kind": list(ClassificationKind),
            "format_class": list(FormatClass),
            "share_type": list(ShareType),
            "open_type": list(OpenType),
            "update_cycle": list(UpdateCycle),
            "security_level": list(SecurityLevel),
            "data_type": list(DataType),
        },
    ), (400 if errors else 200)


def _creatable_departments() -> list[Department]:
    db = db_session()
    user = viewer()
    return [d for d in db.scalars(select(Department).order_by(Department.id)) if can(user, Action.CREATE_ENTRY, d)]


@bp.route("/manage/entries/new", methods=["GET", "POST"])
@login_required
def new_entry() -> Any:
    require(Action.CREATE_ENTRY)
    departments = _creatable_departments()
    if request.method == "GET":
        return _render_form(None, {"security_level": SecurityLevel.GENERAL}, {}, departments)
    data = form_input(request.form)
    department_id = request.form.get("department", "")
    department = next((d for d in departments if str(d.id) == department_id), None)
    try:
        if department is None:
            raise Invalid({"department": N_("请选择提供方部门")})
        fields = catalog.parse_entry(data)
        entry = catalog.create_entry(db_session(), department=department, fields=fields, actor=viewer(), now=now())
    except Invalid as invalid:
        return _render_form(None, data, invalid.errors, departments)
    db_session().commit()
    flash(gettext("已创建草稿：%(title)s（资源代码 %(code)s）", title=entry.title, code=entry.resource_code))
    return redirect(url_for("catalog.entry_page", slug=entry.slug))


@bp.route("/catalog/<slug>/edit", methods=["GET", "POST"])
@login_required
def edit_entry(slug: str) -> Any:
    db = db_session()
    entry = browse.get_entry(db, slug, viewer())
    require(Action.EDIT_ENTRY, entry)
    if request.method == "GET":
        return _render_form(entry, entry_values(entry), {}, [])
    data = form_input(request.form)
    try:
        changed = catalog.update_entry(db, entry, catalog.parse_entry(data), actor=viewer(), now=now())
    except Invalid as invalid:
        db.rollback()
        return _render_form(entry, data, invalid.errors, [])
    db.commit()
    flash(gettext("已保存修改") if changed else gettext("没有需要保存的修改"))
    return redirect(url_for("catalog.entry_page", slug=entry.slug))


@bp.post("/catalog/<slug>/publish")
@login_required
def publish(slug: str) -> Response:
    db = db_session()
    entry = browse.get_entry(db, slug, viewer())
    require(Action.PUBLISH_ENTRY, entry)
    try:
        catalog.publish_entry(db, entry, actor=viewer(), now=now())
    except Invalid as invalid:
        db.rollback()
        flash(gettext(invalid.message), "error")
    else:
        db.commit()
        flash(gettext("已发布到目录"))
    return redirect(url_for("catalog.entry_page", slug=slug))


@bp.post("/catalog/<slug>/withdraw")
@login_required
def withdraw(slug: str) -> Response:
    db = db_session()
    entry = browse.get_entry(db, slug, viewer())
    require(Action.WITHDRAW_ENTRY, entry)
    catalog.withdraw_entry(db, entry, actor=viewer(), now=now())
    db.commit()
    flash(gettext("已从目录撤销"))
    return redirect(url_for("catalog.entry_page", slug=slug))
