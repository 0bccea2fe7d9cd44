"""Open-data plans (开放计划, Art. 17) over HTTP: the public list of published plans with their
progress, a plan's page (goals, items with their status computed from the catalog, planned
versus delivered, the department's figures), the department's form to draft and edit a plan,
and the forms that submit, return, approve and publish it or link a created entry to an item.

Each view calls one function of `plans` (the form's entry picker also `plan_items`), which
checks who may do what on the server (403), answers 409 to a stale or double click, and writes
the audit row; the view commits (`common.commit_or_flash`, `common.commit_or_redisplay`). Goals are
Markdown, shown here as escaped text with its paragraphs and line breaks (the portal has no
HTML sanitiser to render Markdown safely)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from .. import plan_items, plans
from ..data_requests import china_day
from ..errors import Forbidden, NotFound
from ..models import Department, Plan, PlanItem, User
from ..plan_progress import plan_progress
from ..plan_items import ItemInput
from ..text import render_markdown
from ..vocab import N_, OpenType, Role
from .common import commit_or_flash, commit_or_redisplay, db_session, now, viewer

bp = Blueprint("plans", __name__)
ITEM_FIELDS = ("entry", "planned_title", "target_open_type", "target_date", "note")
BLANK_ROWS = 3


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isascii() and value.isdigit() and len(value) < 10 else None


def _today() -> date:
    return china_day(now())


def _user() -> User:
    return viewer()  # type: ignore[return-value]  # behind login_required


# -- the item rows of the form ------------------------------------------------------------


def _posted_rows() -> list[dict[str, str]]:
    """The item rows of the posted form, blank rows left out (their numbers are the items')."""
    columns = {name: request.form.getlist(f"item_{name}") for name in ITEM_FIELDS}
    count = min(max((len(v) for v in columns.values()), default=0), plan_items.MAX_ITEMS + 1)
    rows = [{name: (columns[name][i] if i < len(columns[name]) else "")[:2000].strip() for name in ITEM_FIELDS} for i in range(count)]
    return [r for r in rows if any(r[k] for k in ("entry", "planned_title", "target_date", "note"))]


def _inputs(rows: list[dict[str, str]]) -> list[ItemInput]:
    return [ItemInput(**row) for row in rows]


def _item_rows(plan: Plan) -> list[dict[str, str]]:
    return [
        {"entry": i.entry.resource_code if i.entry else "", "planned_title": i.planned_title, "target_open_type": i.target_open_type.value,
         "target_date": i.target_date.isoformat(), "note": i.note}
        for i in plan.items
    ]


def _form(
    *, plan: Plan | None, department: Department | None, values: Any, rows: list[dict[str, str]], errors: dict[str, str],
) -> tuple[str, int]:
    db = db_session()
    user = _user()
    departments = list(db.scalars(select(Department).order_by(Department.id))) if plan is None and user.role == Role.BUREAU else []
    blank = {name: "" for name in ITEM_FIELDS}
    return render_template(
        "plans/form.html", plan=plan, department=department, departments=departments, values=values, errors=errors,
        rows=rows + [dict(blank) for _ in range(BLANK_ROWS)], entries=plan_items.plannable_entries(db, department) if department else [],
        kinds=plans.KINDS, target_types=plan_items.TARGET_TYPES, today=_today(),
    ), (400 if errors else 200)


# -- pages --------------------------------------------------------------------------------


@bp.get("/plans")
def index() -> str:
    db = db_session()
    user = viewer()
    year, department_id = _int(request.args.get("year")), _int(request.args.get("department"))
    published = plans.published_plans(db, year=year, department_id=department_id)
    today = _today()
    working = plans.working_plans(db, user)
    return render_template(
        "plans/list.html", published=published, progress={p.id: plan_progress(db, p, today=today) for p in published},
        working=working, awaiting=[p for p in working if p.state in ("submitted", "approved")] if plans.may_decide(user) else [],
        years=plans.published_years(db), year=year, department_id=department_id,
        departments=list(db.scalars(select(Department).order_by(Department.id))), may_draft=plans.may_draft(user),
        kinds=plans.KINDS, states=plans.STATES,
    )


@bp.get("/plans/<int:plan_id>")
def show(plan_id: int) -> str:
    db = db_session()
    user = viewer()
    plan = plans.get_plan(db, plan_id, user)
    editable = plan.state in plans.EDITABLE
    may_link = plan.state in plans.LINKABLE and plans.may_draft(user, plan.department_id)
    return render_template(
        "plans/show.html", plan=plan, progress=plan_progress(db, plan, today=_today()), goals=render_markdown(plan.goals),
        may_edit=editable and plans.may_draft(user, plan.department_id), may_submit=editable and plans.may_submit(user, plan),
        may_decide=plans.may_decide(user), may_link=may_link, kinds=plans.KINDS, states=plans.STATES, statuses=plans.ITEM_STATUSES,
        entries=plan_items.plannable_entries(db, plan.department) if may_link else [], OpenType=OpenType,
    )


@bp.route("/plans/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    db = db_session()
    user = _user()
    if not plans.may_draft(user):
        raise Forbidden(N_("只有本部门的目录编制员、部门管理员或区数据资源局可以起草开放计划"))
    chosen = _int(request.values.get("department"))
    department = (db.get(Department, chosen) if chosen else None) if user.role == Role.BUREAU else user.department
    if request.method == "GET":
        values = {"year": str(_today().year), "kind": request.args.get("kind", "annual")}
        return _form(plan=None, department=department, values=values, rows=[], errors={})
    rows = _posted_rows()
    form = request.form
    return commit_or_redisplay(
        lambda: plans.create_plan(
            db, department=department, year=_int(form.get("year")) or 0, kind=form.get("kind", ""), title=form.get("title", "")[:1000],
            goals=form.get("goals", "")[:30000], actor=user, now=now(), items=_inputs(rows),
        ),
        done=gettext("已起草开放计划；完善后由部门管理员报送区数据资源局审批"), then=lambda plan: url_for("plans.show", plan_id=plan.id),
        again=lambda invalid: _form(plan=None, department=department, values=form, rows=rows, errors=invalid.errors),
    )


@bp.route("/plans/<int:plan_id>/edit", methods=["GET", "POST"])
@login_required
def edit(plan_id: int) -> Any:
    db = db_session()
    user = _user()
    plan = plans.load_plan(db, plan_id)
    if not plans.may_draft(user, plan.department_id):
        raise Forbidden(N_("只有本部门的目录编制员、部门管理员或区数据资源局可以修改开放计划"))
    if request.method == "GET":
        if plan.state not in plans.EDITABLE:
            flash(gettext("该开放计划已报送或已批准，不能修改"), "error")
            return redirect(url_for("plans.show", plan_id=plan.id))
        values = {"title": plan.title, "goals": plan.goals}
        return _form(plan=plan, department=plan.department, values=values, rows=_item_rows(plan), errors={})
    rows = _posted_rows()
    form = request.form
    return commit_or_redisplay(
        lambda: plans.update_plan(
            db, plan, title=form.get("title", "")[:1000], goals=form.get("goals", "")[:30000], actor=user, now=now(), items=_inputs(rows),
        ),
        done=gettext("已保存开放计划"), then=lambda _: url_for("plans.show", plan_id=plan.id),
        again=lambda invalid: _form(plan=plan, department=plan.department, values=form, rows=rows, errors=invalid.errors),
    )


# -- the workflow -------------------------------------------------------------------------


def _act(plan_id: int, act: Any, done: str, **kwargs: Any) -> Response:
    """Call `act(session, plan, actor=, now=, **kwargs)`, as `commit_or_flash`: commit and flash
    `done`, or flash the Invalid (a missing reason, an empty plan) and save nothing."""
    db = db_session()
    plan = plans.load_plan(db, plan_id)
    commit_or_flash(lambda: act(db, plan, actor=_user(), now=now(), **kwargs), done)
    return redirect(url_for("plans.show", plan_id=plan_id))


@bp.post("/plans/<int:plan_id>/submit")
@login_required
def submit(plan_id: int) -> Response:
    return _act(plan_id, plans.submit_plan, gettext("已报送区数据资源局审批"))


@bp.post("/plans/<int:plan_id>/return")
@login_required
def return_(plan_id: int) -> Response:
    return _act(plan_id, plans.return_plan, gettext("已退回开放计划，部门可修改后重新报送"), reason=request.form.get("reason", "")[:2000])


@bp.post("/plans/<int:plan_id>/approve")
@login_required
def approve(plan_id: int) -> Response:
    return _act(plan_id, plans.approve_plan, gettext("已批准开放计划"))


@bp.post("/plans/<int:plan_id>/publish")
@login_required
def publish(plan_id: int) -> Response:
    return _act(plan_id, plans.publish_plan, gettext("已发布开放计划，公众可以查看"))


@bp.post("/plans/<int:plan_id>/items/<int:item_id>/link")
@login_required
def link(plan_id: int, item_id: int) -> Response:
    db = db_session()
    item = db.get(PlanItem, item_id)
    if item is None or item.plan_id != plan_id:
        raise NotFound(N_("没有找到该计划事项"))
    commit_or_flash(
        lambda: plans.link_item(db, item, request.form.get("entry", "")[:200].strip(), actor=_user(), now=now()),
        gettext("已关联目录条目，该事项的进度将按目录条目的开放情况计算"),
    )
    return redirect(url_for("plans.show", plan_id=plan_id))
