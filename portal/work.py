"""What waits for whom: the open tasks of every statutory workflow on one list.

Each workflow module (`data_requests`, `error_reports`, `adjustments`, `open_review`, `plans`,
`incidents`, `it_projects`) says which of its items wait for someone, on which clock, as
`Task`s. This module gathers them for the "my work" page (soonest due first), for the Bureau's
zone-wide view of overdue items (Art. 24), and for `notifications` (what `portal tick` warns
about). It never decides a workflow's rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from .models import Entry, User
from .vocab import N_, Role
from .workdays import Calendar, ClockState

TASK_KINDS = {
    "share": N_("共享申请"),
    "open": N_("开放申请"),
    "report": N_("数据校核"),
    "adjustment": N_("目录调整"),
    "review": N_("开放属性审查"),
    "plan": N_("开放计划"),
    "incident": N_("数据安全事件"),
    "project": N_("信息化项目"),
}


@dataclass(frozen=True)
class Assignee:
    """Who a task waits for: staff of some roles (of one department, or of any when
    `department_id` is None), and/or one user (a requester)."""

    roles: frozenset[Role] = frozenset()
    department_id: int | None = None
    user_id: int | None = None

    def includes(self, user: User) -> bool:
        if self.user_id is not None and user.id == self.user_id:
            return True
        return user.role in self.roles and (self.department_id is None or user.department_id == self.department_id)


@dataclass(frozen=True)
class Task:
    kind: str  # a key of TASK_KINDS
    id: int
    title: str  # what it is about, usually the entry's title
    state: str  # the state's label (Chinese, marked for translation)
    waiting_for: str  # what is to be done next, e.g. 受理 / 答复 / 审查 (a label)
    assignee: Assignee
    clock: ClockState | None = None
    entry: Entry | None = None
    department_id: int | None = None  # the department answerable for it (for the Bureau's view)
    flags: tuple[str, ...] = field(default=())  # e.g. 超过2个工作日未受理

    @property
    def due(self) -> date | None:
        return self.clock.due.date if self.clock else None

    @property
    def overdue(self) -> bool:
        return bool(self.clock and self.clock.overdue)


def all_tasks(session: Session, calendar: Calendar, today: date) -> list[Task]:
    """Every open task of the zone, from every workflow."""
    from . import adjustments, data_requests, error_reports, incidents, it_projects, open_review, plans

    tasks: list[Task] = []
    for source in (data_requests.tasks, error_reports.tasks, adjustments.tasks, open_review.tasks, plans.tasks, incidents.tasks,
                   it_projects.tasks):
        tasks.extend(source(session, calendar, today))
    return tasks


def soonest_first(tasks: Iterable[Task]) -> list[Task]:
    """Overdue and soonest due first; tasks without a due date (paused, unclocked) last."""
    return sorted(tasks, key=lambda t: (t.due is None, t.due or date.max, t.kind, t.id))


def work_for(user: User, tasks: Iterable[Task]) -> list[Task]:
    """What waits for `user`; the Bureau also sees every overdue or flagged task of the zone."""
    mine = [
        t for t in tasks
        if t.assignee.includes(user) or (user.role == Role.BUREAU and (t.overdue or t.flags))
    ]
    return soonest_first(mine)
