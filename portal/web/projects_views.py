"""IT projects and their pre-compiled catalogs (信息化项目, Art. 9) over HTTP: the list of the
projects the viewer may see, the department's form to register one, a project's page with its
pre-compiled entries and their state, and the forms that change the catalog (the department,
until acceptance) and record the approval and the acceptance (the Bureau).

Each view calls one function of `it_projects`, which checks who may do what on the server (403,
404), answers 409 to a stale or double click and writes the audit row; the view commits
(`common.commit_or_flash`, `common.commit_or_redisplay`)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from .. import it_projects
from ..errors import Forbidden
from ..models import Department, Entry, User
from ..vocab import N_, EntryStatus, Role
from .common import commit_or_flash, commit_or_redisplay, db_session, now, viewer

bp = Blueprint("projects", __name__)


def _user() -> User:
    return viewer()  # type: ignore[return-value]  # behind login_required


def _refs() -> list[str]:
    """The entries the form names: one per line (or separated by commas)."""
    text = request.form.get("entries", "")[:20000]
    return [part.strip() for line in text.splitlines() for part in line.replace("，", ",").split(",") if part.strip()][: it_projects.MAX_ENTRIES + 1]


def _version() -> int | None:
    value = request.form.get("version", "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None


@bp.get("/projects")
@login_required
def index() -> str:
    user = _user()
    if not (user.role in (Role.BUREAU, Role.AUDITOR) or user.department_id):
        raise Forbidden(N_("只有区数据资源局、审计员和部门工作人员可以查看信息化项目"))
    state = request.args.get("state") or None
    return render_template(
        "projects/list.html", projects=it_projects.projects_for(db_session(), user, state=state), state=state, states=it_projects.STATES,
        may_register=it_projects.may_register(user),
    )


def _form(department: Department | None, values: Any, errors: dict[str, str]) -> tuple[str, int]:
    db, user = db_session(), _user()
    departments = list(db.scalars(select(Department).order_by(Department.id))) if user.role == Role.BUREAU else []
    entries = list(db.scalars(
        select(Entry).where(Entry.department_id == department.id, Entry.status != EntryStatus.WITHDRAWN).order_by(Entry.id.desc()).limit(500)
    )) if department else []
    return render_template(
        "projects/form.html", department=department, departments=departments, entries=entries, values=values, errors=errors,
    ), (400 if errors else 200)


@bp.route("/projects/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    db, user = db_session(), _user()
    if not it_projects.may_register(user):
        raise Forbidden(N_("只有本部门的目录编制员、部门管理员或区数据资源局可以登记信息化项目"))
    chosen = request.values.get("department", "")
    if user.role == Role.BUREAU:
        department = db.get(Department, int(chosen)) if chosen.isascii() and chosen.isdigit() and len(chosen) < 10 else None
    else:
        department = user.department
    if request.method == "GET":
        return _form(department, {}, {})
    form = request.form
    return commit_or_redisplay(
        lambda: it_projects.register_project(
            db, department=department, name=form.get("name", "")[:1000], code=form.get("code", "")[:200], summary=form.get("summary", "")[:30000],
            entries=_refs(), actor=user, now=now(),
        ),
        done=gettext("已登记信息化项目及其预编目录，区数据资源局据此办理立项"),
        then=lambda project: url_for("projects.show", project_id=project.id),
        again=lambda invalid: _form(department, form, invalid.errors),
    )


@bp.get("/projects/<int:project_id>")
@login_required
def show(project_id: int) -> str:
    user = _user()
    project = it_projects.get_project(db_session(), project_id, user)
    return render_template(
        "projects/show.html", project=project, states=it_projects.STATES, unpublished=it_projects.unpublished(project),
        may_edit=it_projects.may_register(user, project.department_id) and project.state in it_projects.EDITABLE,
        may_decide=it_projects.may_decide(user), refs="\n".join(e.resource_code for e in project.entries),
    )


def _act(project_id: int, act: Any, done: str, **kwargs: Any) -> Response:
    db = db_session()
    project = it_projects.get_project(db, project_id, _user())
    commit_or_flash(lambda: act(db, project, actor=_user(), now=now(), version=_version(), **kwargs), done)
    return redirect(url_for("projects.show", project_id=project_id))


@bp.post("/projects/<int:project_id>/entries")
@login_required
def entries(project_id: int) -> Response:
    return _act(project_id, lambda db, project, **kw: it_projects.set_entries(db, project, _refs(), **kw), gettext("已保存预编目录"))


@bp.post("/projects/<int:project_id>/approve")
@login_required
def approve(project_id: int) -> Response:
    return _act(project_id, it_projects.approve_project, gettext("已办理立项"), reference=request.form.get("reference", "")[:500])


@bp.post("/projects/<int:project_id>/accept")
@login_required
def accept(project_id: int) -> Response:
    return _act(project_id, it_projects.accept_project, gettext("已办理验收"), reference=request.form.get("reference", "")[:500])


