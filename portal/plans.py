"""Open-data plans (开放计划 / 年度工作计划, Art. 17): drafting a department's plan and its items,
the Bureau's approval and publication, and the progress computed from the catalog.

    draft --submit--> submitted --approve--> approved --publish--> published
      ^                   |
      +---- returned <----+ return (with a reason; editable again, then submitted again)

Editors and administrators of a department (and the Bureau) draft and edit its plans while they
are draft or returned; the department's administrator (or the Bureau) submits; the Bureau
returns, approves and publishes. After approval nothing changes but one thing: an item planned
as "to be created" gets the entry linked once the department has created it (`link_item`).
Every transition and edit is a compare-and-set on (state, version), so a double click or two
people acting at once give one change and a `Conflict` for the other; each writes an audit row
in the same transaction. "Now" and "today" are passed in; nothing here commits.

The items — what an item may name and target, and how the form's rows are checked — are
`portal.plan_items`'s. Progress is never typed in: `portal.plan_progress` computes it from the
catalog.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from . import audit
from .db import compare_and_set
from .errors import Conflict, Forbidden, Invalid, NotFound
from .models import Department, Entry, Plan, PlanItem, User
from .plan_items import ItemInput, build_items, find_entry, why_unopenable  # ItemInput and find_entry are imported from here too
from .vocab import DEPARTMENT_ROLES, N_, Role
from .work import Assignee, Task
from .workdays import Calendar

KINDS = {"annual": N_("年度工作计划"), "action": N_("数据开放行动计划")}
STATES = {
    "draft": N_("草稿"),
    "submitted": N_("已报送，待审批"),
    "returned": N_("已退回修改"),
    "approved": N_("已批准，待发布"),
    "published": N_("已发布"),
}
ITEM_STATUSES = {"done": N_("已完成"), "late": N_("逾期"), "pending": N_("推进中")}
DRAFTERS = frozenset({Role.EDITOR, Role.DEPT_ADMIN})
EDITABLE = ("draft", "returned")
LINKABLE = ("draft", "returned", "approved", "published")  # not while the Bureau examines it
MIN_TEXT = 4


# -- who may do what -----------------------------------------------------------------------


def may_draft(user: User | None, department_id: int | None = None) -> bool:
    """The Bureau for any department; an editor or administrator for their own (for any of
    theirs when `department_id` is None: whether to offer the form at all)."""
    if user is None:
        return False
    if user.role == Role.BUREAU:
        return True
    return user.role in DRAFTERS and user.department_id is not None and department_id in (None, user.department_id)


def may_submit(user: User | None, plan: Plan) -> bool:
    """The department's administrator, or the Bureau."""
    if user is None:
        return False
    return user.role == Role.BUREAU or (user.role == Role.DEPT_ADMIN and user.department_id == plan.department_id)


def may_decide(user: User | None) -> bool:
    """Returning, approving and publishing are the Bureau's."""
    return user is not None and user.role == Role.BUREAU


def may_see(user: User | None, plan: Plan) -> bool:
    """A published plan is public; the others are for the department's staff, the Bureau and
    the auditor (who only reads)."""
    if plan.state == "published":
        return True
    if user is None:
        return False
    if user.role in (Role.BUREAU, Role.AUDITOR):
        return True
    return user.role in DEPARTMENT_ROLES and user.department_id == plan.department_id


# -- drafting ------------------------------------------------------------------------------


def _target(plan: Plan) -> str:
    return f"开放计划 #{plan.id} {plan.department.name} {plan.year}年 {KINDS.get(plan.kind, plan.kind)}"


def _plan_errors(year: object, kind: str, title: str, goals: str) -> dict[str, str]:
    errors = {}
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        errors["year"] = "请填写计划年度（四位年份）"
    if kind not in KINDS:
        errors["kind"] = "请选择计划类型：年度工作计划或数据开放行动计划"
    if not title.strip():
        errors["title"] = "请填写计划名称"
    elif len(title.strip()) > 200:
        errors["title"] = "计划名称不能超过200个字"
    if len(goals) > 20000:
        errors["goals"] = "工作目标不能超过20000个字"
    return errors


def create_plan(
    session: Session, *, department: Department | None, year: int, kind: str = "annual", title: str, goals: str,
    actor: User, now: datetime, items: Sequence[ItemInput] = (),
) -> Plan:
    """Draft `department`'s plan of `kind` for `year` (one per department, year and kind), with
    its items if given. Forbidden unless `actor` may draft for the department; Invalid with
    Chinese field errors (department, year, kind, title, goals, items.<n>.<field>)."""
    if not may_draft(actor, department.id if department is not None else None):
        raise Forbidden(N_("只有本部门的目录编制员、部门管理员或区数据资源局可以起草开放计划"))
    if department is None:
        raise Invalid({"department": "请选择部门"})
    errors = _plan_errors(year, kind, title, goals)
    if not errors and session.scalar(select(Plan.id).where(Plan.department_id == department.id, Plan.year == year, Plan.kind == kind)):
        errors["year"] = f"{department.name}{year}年的{KINDS[kind]}已经存在，请修改原计划"
    built = build_items(session, department, year if isinstance(year, int) else 0, items, errors)
    if errors:
        raise Invalid(errors)
    plan = Plan(
        department=department, year=year, kind=kind, title=title.strip(), goals=goals.strip(), state="draft", version=0,
        reason="", created_at=now, updated_at=now, items=built,
    )
    session.add(plan)
    session.flush()
    audit.record(
        session, action="plan:create", actor=actor, now=now, target=_target(plan),
        details={"department": department.id, "year": year, "kind": kind, "items": len(built)},
    )
    return plan


def _require_state(plan: Plan, states: Sequence[str]) -> None:
    if plan.state not in states:
        raise Conflict(f"该开放计划当前为“{STATES[plan.state]}”，不能修改；请刷新页面查看最新状态")


def _touch(session: Session, plan: Plan, states: Sequence[str], now: datetime, **values: object) -> None:
    """Compare-and-set `values` on `plan` while it stays in its current state (one of `states`)."""
    _require_state(plan, states)
    if not compare_and_set(session, plan, where={"state": plan.state}, values={"updated_at": now, **values}):
        raise Conflict("该开放计划刚刚已被他人修改或处理，本次操作未生效；请刷新页面查看最新状态")


def update_plan(
    session: Session, plan: Plan, *, title: str, goals: str, actor: User, now: datetime, items: Sequence[ItemInput] | None = None,
) -> None:
    """Change a draft or returned plan's title and goals, and its items when `items` is given
    (replacing them all, as `set_items`)."""
    if not may_draft(actor, plan.department_id):
        raise Forbidden(N_("只有本部门的目录编制员、部门管理员或区数据资源局可以修改开放计划"))
    _require_state(plan, EDITABLE)
    errors = _plan_errors(plan.year, plan.kind, title, goals)
    built = build_items(session, plan.department, plan.year, items, errors) if items is not None else None
    if errors:
        raise Invalid(errors)
    target = _target(plan)
    _touch(session, plan, EDITABLE, now, title=title.strip(), goals=goals.strip())
    if built is not None:
        plan.items = built
        session.flush()
    audit.record(session, action="plan:update", actor=actor, now=now, target=target, details={"items": len(plan.items)})


def set_items(session: Session, plan: Plan, items: Sequence[ItemInput], *, actor: User, now: datetime) -> None:
    """Replace the items of a draft or returned plan."""
    update_plan(session, plan, title=plan.title, goals=plan.goals, actor=actor, now=now, items=items)


def link_item(session: Session, item: PlanItem, entry: Entry | int | str, *, actor: User, now: datetime) -> None:
    """Link the entry the department has created to an item planned as "to be created" (also
    once the plan is approved or published: the only change then allowed). `entry` is an Entry,
    or its id, resource code or exact title."""
    plan = item.plan
    if not may_draft(actor, plan.department_id):
        raise Forbidden(N_("只有本部门的目录编制员、部门管理员或区数据资源局可以关联目录条目"))
    _require_state(plan, LINKABLE)
    found = entry if isinstance(entry, Entry) else find_entry(session, plan.department, entry)
    if item.entry_id is not None:
        raise Invalid({"entry": "该计划事项已关联目录条目"})
    if found is None:
        raise Invalid({"entry": "没有找到该目录条目"})
    if found.department_id != plan.department_id:
        raise Invalid({"entry": "目录条目不属于本部门"})
    if any(i.entry_id == found.id for i in plan.items):
        raise Invalid({"entry": "该目录条目已列在本计划中"})
    if why := why_unopenable(found, item.target_open_type):
        raise Invalid({"entry": why})
    target = _target(plan)
    _touch(session, plan, LINKABLE, now)
    item.entry_id = found.id
    session.flush()
    session.expire(item, ["entry"])
    audit.record(
        session, action="plan:update", actor=actor, now=now, target=target,
        details={"item": item.id, "linked": found.resource_code, "planned_title": item.planned_title},
    )


# -- the workflow --------------------------------------------------------------------------


def _move(session: Session, plan: Plan, sources: Sequence[str], target: str, now: datetime, **values: object) -> None:
    if plan.state not in sources:
        raise Conflict(f"该开放计划当前为“{STATES[plan.state]}”，本次操作未生效；请刷新页面查看最新状态")
    if not compare_and_set(session, plan, where={"state": plan.state}, values={"state": target, "updated_at": now, **values}):
        raise Conflict("该开放计划刚刚已被他人处理，本次操作未生效；请刷新页面查看最新状态")


def submit_plan(session: Session, plan: Plan, *, actor: User, now: datetime) -> None:
    """The department's administrator submits the plan to the Bureau."""
    if not may_submit(actor, plan):
        raise Forbidden(N_("只有本部门的部门管理员可以报送开放计划"))
    if plan.state in EDITABLE:
        errors = {}
        if not plan.goals.strip():
            errors["goals"] = "报送前须填写工作目标"
        if not plan.items:
            errors["items"] = "报送前须至少列出一项计划事项"
        if errors:
            raise Invalid(errors)
    target = _target(plan)
    _move(session, plan, EDITABLE, "submitted", now, submitted_at=now)
    audit.record(session, action="plan:submit", actor=actor, now=now, target=target, details={"items": len(plan.items)})


def return_plan(session: Session, plan: Plan, *, actor: User, now: datetime, reason: str) -> None:
    """The Bureau sends a submitted plan back, saying why; the department may edit it again."""
    if not may_decide(actor):
        raise Forbidden(N_("只有区数据资源局可以退回开放计划"))
    if plan.state == "submitted" and len(reason.strip()) < MIN_TEXT:
        raise Invalid({"reason": "请写明退回的理由（不少于4个字）"})
    target = _target(plan)
    _move(session, plan, ("submitted",), "returned", now, reason=reason.strip())
    audit.record(session, action="plan:return", actor=actor, now=now, target=target, details={"reason": reason.strip()})


def approve_plan(session: Session, plan: Plan, *, actor: User, now: datetime) -> None:
    """The Bureau approves a submitted plan; from now on only `link_item` changes it."""
    if not may_decide(actor):
        raise Forbidden(N_("只有区数据资源局可以批准开放计划"))
    target = _target(plan)
    _move(session, plan, ("submitted",), "approved", now, approved_at=now, approved_by_id=actor.id)
    audit.record(session, action="plan:approve", actor=actor, now=now, target=target)


def publish_plan(session: Session, plan: Plan, *, actor: User, now: datetime) -> None:
    """The Bureau publishes an approved plan: it becomes public, on the portal and the site."""
    if not may_decide(actor):
        raise Forbidden(N_("只有区数据资源局可以发布开放计划"))
    target = _target(plan)
    _move(session, plan, ("approved",), "published", now, published_at=now)
    audit.record(session, action="plan:publish", actor=actor, now=now, target=target)


# -- lookups -------------------------------------------------------------------------------


def _with_items(query):  # type: ignore[no-untyped-def]
    return query.options(selectinload(Plan.department), selectinload(Plan.items).selectinload(PlanItem.entry))


def load_plan(session: Session, plan_id: int) -> Plan:
    """The plan `plan_id` whoever asks (for actions, which check their own rights)."""
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise NotFound(N_("没有找到该开放计划，或您无权查看"))
    return plan


def get_plan(session: Session, plan_id: int, user: User | None) -> Plan:
    """The plan `plan_id` if `user` may see it; NotFound otherwise."""
    plan = load_plan(session, plan_id)
    if not may_see(user, plan):
        raise NotFound(N_("没有找到该开放计划，或您无权查看"))
    return plan


def published_plans(session: Session, *, year: int | None = None, department_id: int | None = None) -> list[Plan]:
    """The published plans, newest year first, then by department and kind (a stable order,
    for the static site), with their departments, items and entries loaded."""
    query = select(Plan).join(Department).where(Plan.state == "published")
    if year is not None:
        query = query.where(Plan.year == year)
    if department_id is not None:
        query = query.where(Plan.department_id == department_id)
    return list(session.scalars(_with_items(query.order_by(Plan.year.desc(), Department.name, Plan.kind, Plan.id))))


def published_years(session: Session) -> list[int]:
    """The years that have a published plan, newest first."""
    return list(session.scalars(select(Plan.year).where(Plan.state == "published").distinct().order_by(Plan.year.desc())))


def working_plans(session: Session, user: User | None) -> list[Plan]:
    """The plans not yet published that `user` may see: all for the Bureau and the auditor,
    their department's for its staff, none for anyone else."""
    if user is None or not (user.role in (Role.BUREAU, Role.AUDITOR) or (user.role in DEPARTMENT_ROLES and user.department_id)):
        return []
    query = select(Plan).join(Department).where(Plan.state != "published")
    if user.role in DEPARTMENT_ROLES:
        query = query.where(Plan.department_id == user.department_id)
    return list(session.scalars(query.order_by(Plan.year.desc(), Department.name, Plan.kind, Plan.id)))


# -- my work -------------------------------------------------------------------------------

# Who a plan waits for in each unfinished state, and for what. No statute sets a time limit on
# a plan, so these tasks have no clock: they are listed on "my work", never warned about.
WAITING = {
    "draft": (frozenset({Role.DEPT_ADMIN}), N_("报送")),
    "returned": (DRAFTERS, N_("修改后重新报送")),
    "submitted": (frozenset({Role.BUREAU}), N_("审批")),
    "approved": (frozenset({Role.BUREAU}), N_("发布")),
}


def tasks(session: Session, calendar: Calendar, today: date) -> list[Task]:
    """Every plan not yet published waits for someone: a draft for its department's
    administrator to submit it, a returned plan for the department's drafters, a submitted or
    approved plan for the Bureau. (`calendar` and `today`: the signature every workflow's
    `tasks` shares.)"""
    found = []
    for plan in session.scalars(select(Plan).where(Plan.state.in_(WAITING)).options(selectinload(Plan.department)).order_by(Plan.id)):
        roles, waiting_for = WAITING[plan.state]
        found.append(Task(
            kind="plan", id=plan.id, title=f"{plan.department.name}：{plan.title}", state=STATES[plan.state], waiting_for=waiting_for,
            assignee=Assignee(roles=roles, department_id=None if Role.BUREAU in roles else plan.department_id),
            department_id=plan.department_id,
        ))
    return found
