"""IT projects paid from the fiscal budget (信息化项目, Art. 9): "立项申请前，应当预编形成项目数据
资源目录作为项目审批要件。项目建成后，应当将数据资源目录作为项目验收的必要内容。"

    registered --approve (the Bureau: ≥1 entry, the approval's reference)--> approved
    approved --accept (the Bureau: every entry published, the acceptance's reference)--> accepted

A department's editors or administrator (or the Bureau) register a project with its
pre-compiled catalog: entries of the department, usually drafts compiled for the project, named
by id, resource code or exact title. They may change that catalog until acceptance. The Bureau
records the approval only while the catalog has an entry, and the acceptance only when every
entry of it is published: otherwise the refusal names the entries still unpublished. Each step
is a compare-and-set on (state, version) — a double click or two people at once give one change
and a `Conflict` — and writes an audit row in the same transaction. "Now" is passed in; nothing
here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from . import audit
from .db import compare_and_set
from .errors import Conflict, Forbidden, Invalid, NotFound
from .models import Department, Entry, ItProject, ItProjectEntry, User
from .plan_items import find_entry
from .vocab import DEPARTMENT_ROLES, N_, EntryStatus, Role
from .work import Assignee, Task
from .workdays import Calendar

STATES = {"registered": N_("已登记预编目录，待立项"), "approved": N_("已立项，待验收"), "accepted": N_("已验收")}
REGISTRARS = frozenset({Role.EDITOR, Role.DEPT_ADMIN})
EDITABLE = ("registered", "approved")
MAX_ENTRIES = 200
NAME_LENGTH = 200
CODE_LENGTH = 60
REFERENCE_LENGTH = 100


# -- who may do what -----------------------------------------------------------------------


def may_register(user: User | None, department_id: int | None = None) -> bool:
    """The Bureau for any department; an editor or administrator for their own."""
    if user is None:
        return False
    if user.role == Role.BUREAU:
        return True
    return user.role in REGISTRARS and user.department_id is not None and department_id in (None, user.department_id)


def may_decide(user: User | None) -> bool:
    return user is not None and user.role == Role.BUREAU


def may_see(user: User | None, project: ItProject) -> bool:
    """The department's staff, the Bureau and the auditor."""
    if user is None:
        return False
    return user.role in (Role.BUREAU, Role.AUDITOR) or (user.role in DEPARTMENT_ROLES and user.department_id == project.department_id)


# -- registering and the catalog -----------------------------------------------------------


def _target(project: ItProject) -> str:
    return f"信息化项目 #{project.id}（{project.name}）"


def _entries(session: Session, department: Department, refs: Sequence[str], errors: dict[str, str]) -> list[Entry]:
    """The department's live entries that `refs` name, in order, without repeats."""
    found: list[Entry] = []
    problems = []
    for ref in (r.strip() for r in refs if r and r.strip()):
        entry = find_entry(session, department, ref)
        if entry is None or entry.department_id != department.id:
            problems.append(f"“{ref[:60]}”不是本部门的目录条目")
        elif entry.status == EntryStatus.WITHDRAWN:
            problems.append(f"“{entry.title}”已撤销，不能列入预编目录")
        elif entry not in found:
            found.append(entry)
    if problems:
        errors["entries"] = "；".join(problems[:5]) + ("等" if len(problems) > 5 else "")
    elif not found:
        errors["entries"] = "预编目录至少要包含一个本部门的目录条目（可先新建草稿条目）"
    elif len(found) > MAX_ENTRIES:
        errors["entries"] = f"预编目录最多{MAX_ENTRIES}个目录条目"
    return found


def register_project(
    session: Session, *, department: Department | None, name: str, code: str = "", summary: str = "", entries: Sequence[str],
    actor: User, now: datetime,
) -> ItProject:
    """Register `department`'s project with its pre-compiled catalog. Forbidden unless `actor`
    may register for the department; Invalid with Chinese field errors (department, name, code,
    summary, entries)."""
    if not may_register(actor, department.id if department is not None else None):
        raise Forbidden(N_("只有本部门的目录编制员、部门管理员或区数据资源局可以登记信息化项目"))
    if department is None:
        raise Invalid({"department": "请选择部门"})
    errors: dict[str, str] = {}
    name, code, summary = name.strip(), code.strip(), summary.strip()
    if not name:
        errors["name"] = "请填写项目名称"
    elif len(name) > NAME_LENGTH:
        errors["name"] = f"项目名称不能超过{NAME_LENGTH}个字"
    if len(code) > CODE_LENGTH:
        errors["code"] = f"项目编号不能超过{CODE_LENGTH}个字符"
    if len(summary) > 20000:
        errors["summary"] = "项目概况不能超过20000个字"
    found = _entries(session, department, entries, errors)
    if errors:
        raise Invalid(errors)
    project = ItProject(
        department=department, name=name, code=code, summary=summary, state="registered", version=0, created_at=now,
        created_by_id=actor.id, updated_at=now, links=[ItProjectEntry(entry=e) for e in found],
    )
    session.add(project)
    session.flush()
    audit.record(session, action="project:register", actor=actor, now=now, target=_target(project),
                 details={"department": department.id, "entries": [e.id for e in found]})
    return project


def set_entries(session: Session, project: ItProject, refs: Sequence[str], *, actor: User, now: datetime, version: int | None = None) -> None:
    """Replace the pre-compiled catalog (until acceptance)."""
    if not may_register(actor, project.department_id):
        raise Forbidden(N_("只有本部门的目录编制员、部门管理员或区数据资源局可以修改预编目录"))
    if project.state not in EDITABLE:
        raise Conflict("项目已验收，预编目录不能再修改")
    errors: dict[str, str] = {}
    found = _entries(session, project.department, refs, errors)
    if errors:
        raise Invalid(errors)
    before = [link.entry_id for link in project.links]
    _touch(session, project, EDITABLE, now, version)
    project.links = [next((link for link in project.links if link.entry_id == e.id), None) or ItProjectEntry(entry=e) for e in found]
    session.flush()
    audit.record(session, action="project:entries", actor=actor, now=now, target=_target(project),
                 details={"before": before, "after": [e.id for e in found]})


def _touch(session: Session, project: ItProject, states: Sequence[str], now: datetime, version: int | None, **values: object) -> None:
    """Set `values` on `project` by compare-and-set, while it stays in its state (one of `states`)
    and at `version` (the one it holds, unless the form says which it showed)."""
    if project.state not in states or not compare_and_set(
        session, project, where={"state": project.state}, values={"updated_at": now, **values}, version=version,
    ):
        raise Conflict("该项目刚刚已被他人处理，本次操作未生效；请刷新页面查看最新状态")


# -- the Bureau's decisions ----------------------------------------------------------------


def unpublished(project: ItProject) -> list[Entry]:
    """The entries of the pre-compiled catalog not published (yet, or any more)."""
    return [e for e in project.entries if e.status != EntryStatus.PUBLISHED]


def _reference(reference: str, label: str) -> str:
    reference = reference.strip()
    if not 2 <= len(reference) <= REFERENCE_LENGTH:
        raise Invalid({"reference": f"请填写{label}（2至{REFERENCE_LENGTH}个字）"})
    return reference


def approve_project(session: Session, project: ItProject, *, actor: User, now: datetime, reference: str, version: int | None = None) -> None:
    """立项: the Bureau records the approval, the pre-compiled catalog being its condition."""
    if not may_decide(actor):
        raise Forbidden(N_("只有区数据资源局可以办理立项和验收"))
    if project.state != "registered":
        raise Conflict(f"该项目当前为“{STATES[project.state]}”，不能再办理立项")
    reference = _reference(reference, "立项批复文号")
    if not project.links:
        raise Invalid({"entries": "预编目录为空，不能立项（第九条）"})
    _touch(session, project, ("registered",), now, version, state="approved", approved_at=now, approved_by_id=actor.id,
           approval_reference=reference)
    audit.record(session, action="project:approve", actor=actor, now=now, target=_target(project),
                 details={"reference": reference, "entries": [link.entry_id for link in project.links]})


def accept_project(session: Session, project: ItProject, *, actor: User, now: datetime, reference: str, version: int | None = None) -> None:
    """验收: only when every entry of the pre-compiled catalog is published."""
    if not may_decide(actor):
        raise Forbidden(N_("只有区数据资源局可以办理立项和验收"))
    if project.state != "approved":
        raise Conflict(f"该项目当前为“{STATES[project.state]}”，不能办理验收")
    reference = _reference(reference, "验收意见文号")
    if missing := unpublished(project):
        names = "、".join(f"“{e.title}”" for e in missing[:10]) + ("等" if len(missing) > 10 else "")
        raise Invalid({"entries": f"预编目录中尚有{len(missing)}个目录条目未发布：{names}；发布后才能验收（第九条）"})
    _touch(session, project, ("approved",), now, version, state="accepted", accepted_at=now, accepted_by_id=actor.id,
           acceptance_reference=reference)
    audit.record(session, action="project:accept", actor=actor, now=now, target=_target(project),
                 details={"reference": reference, "entries": [link.entry_id for link in project.links]})


# -- lookups and my work -------------------------------------------------------------------


def _loaded(query):  # type: ignore[no-untyped-def]
    return query.options(selectinload(ItProject.department), selectinload(ItProject.links).selectinload(ItProjectEntry.entry))


def get_project(session: Session, project_id: int, user: User | None) -> ItProject:
    project = session.scalar(_loaded(select(ItProject).where(ItProject.id == project_id)))
    if project is None or not may_see(user, project):
        raise NotFound(N_("没有找到该信息化项目，或您无权查看"))
    return project


def projects_for(session: Session, user: User | None, *, state: str | None = None) -> list[ItProject]:
    """The projects `user` may see (the Bureau and the auditor all, department staff their
    department's), newest first."""
    if user is None or not (user.role in (Role.BUREAU, Role.AUDITOR) or (user.role in DEPARTMENT_ROLES and user.department_id)):
        return []
    query = select(ItProject)
    if user.role in DEPARTMENT_ROLES:
        query = query.where(ItProject.department_id == user.department_id)
    if state in STATES:
        query = query.where(ItProject.state == state)
    return list(session.scalars(_loaded(query).order_by(ItProject.id.desc())))


def tasks(session: Session, calendar: Calendar, today: date) -> list[Task]:
    """A registered project waits for the Bureau's approval; an approved one for its department
    to publish the pre-compiled entries, then for the Bureau's acceptance. No clock: the
    Measures set none."""
    found = []
    for project in session.scalars(_loaded(select(ItProject).where(ItProject.state.in_(EDITABLE))).order_by(ItProject.id)):
        if project.state == "registered":
            roles, waiting_for, department = frozenset({Role.BUREAU}), N_("立项"), None
        elif unpublished(project):
            roles, waiting_for, department = REGISTRARS, N_("发布预编目录"), project.department_id
        else:
            roles, waiting_for, department = frozenset({Role.BUREAU}), N_("验收"), None
        found.append(Task(
            kind="project", id=project.id, title=f"{project.department.name}：{project.name}", state=STATES[project.state],
            waiting_for=waiting_for, assignee=Assignee(roles=roles, department_id=department), department_id=project.department_id,
        ))
    return found
