"""Supervision of the departments (Art. 24: "及时维护和更新数据，保障数据的完整性、准确性、时效性"):
one row per department, computed from the catalog and the workflows, never typed in.

- **Completeness**: its published entries, and those of them with no current data file.
- **Timeliness of data**: published entries whose data is older than their declared update
  cycle (`STALE_AFTER`: the data was last updated — or, with no file yet, the entry created —
  more calendar days ago than the cycle allows; 不定期 entries are never stale).
- **Answers on time**: share and open requests and error reports of the year answered, and how
  many of those by their due date (`data_requests.answered_in_time`,
  `error_reports.answered_in_time`); catalog adjustments of the year done, and how many late
  (`adjustments.finished_late`).
- **Overdue now**: the department's open tasks past their due date (`work.all_tasks`).

Who sees what: the Bureau and the auditor every department, department staff their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .errors import Forbidden
from .models import Adjustment, DataRequest, Department, Entry, ErrorReport, User
from .vocab import DEPARTMENT_ROLES, N_, EntryStatus, Role, UpdateCycle
from .workdays import Calendar

CHINA = timezone(timedelta(hours=8))
FIRST_YEAR = 2020  # the earliest year the figures can be asked for
# How many calendar days a cycle allows between two updates of the data.
STALE_AFTER = {
    UpdateCycle.REALTIME: 1, UpdateCycle.DAILY: 1, UpdateCycle.WEEKLY: 7, UpdateCycle.MONTHLY: 31,
    UpdateCycle.QUARTERLY: 92, UpdateCycle.HALF_YEARLY: 183, UpdateCycle.YEARLY: 366,
}


@dataclass(frozen=True)
class Stale:
    entry: Entry
    last_update: date
    days_late: int  # days past what the cycle allows


@dataclass
class Answers:
    """Answers given in the year, and how many of them on time."""

    answered: int = 0
    on_time: int = 0

    def count(self, in_time: bool | None) -> None:
        if in_time is not None:
            self.answered += 1
            self.on_time += bool(in_time)

    @property
    def rate(self) -> int | None:
        """Per cent on time, rounded down; None when nothing was answered."""
        return None if not self.answered else self.on_time * 100 // self.answered


@dataclass
class DepartmentRecord:
    department: Department
    published: int = 0
    without_files: list[Entry] = field(default_factory=list)
    stale: list[Stale] = field(default_factory=list)
    requests: Answers = field(default_factory=Answers)
    reports: Answers = field(default_factory=Answers)
    adjustments: Answers = field(default_factory=Answers)
    overdue_now: int = 0


def may_supervise(user: User | None) -> bool:
    return user is not None and (user.role in (Role.BUREAU, Role.AUDITOR) or (user.role in DEPARTMENT_ROLES and user.department_id is not None))


def _china_day(moment: datetime) -> date:
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(CHINA).date()


def stale_since(entry: Entry, today: date) -> Stale | None:
    """Whether `entry`'s data is older than its update cycle allows, as of `today`."""
    allowed = STALE_AFTER.get(UpdateCycle(entry.update_cycle)) if entry.update_cycle else None
    if allowed is None:
        return None
    last = _china_day(entry.data_updated_at or entry.created_at)
    late = (today - last).days - allowed
    return Stale(entry, last, late) if late > 0 else None


def department_records(session: Session, user: User | None, calendar: Calendar, *, year: int, today: date) -> list[DepartmentRecord]:
    """The rows `user` may see, by department name: the year's answers and today's state."""
    from . import adjustments, data_requests, error_reports, work

    if not may_supervise(user):
        raise Forbidden(N_("只有区数据资源局、审计员和部门工作人员可以查看督查情况"))
    assert user is not None
    query = select(Department).order_by(Department.name)
    if user.role in DEPARTMENT_ROLES:
        query = query.where(Department.id == user.department_id)
    records = {d.id: DepartmentRecord(d) for d in session.scalars(query)}

    entries = select(Entry).where(Entry.status == EntryStatus.PUBLISHED, Entry.department_id.in_(records)).options(selectinload(Entry.files))
    for entry in session.scalars(entries.order_by(Entry.id)):
        record = records[entry.department_id]
        record.published += 1
        if not entry.files:
            record.without_files.append(entry)
        if (stale := stale_since(entry, today)) is not None:
            record.stale.append(stale)

    first, after = date(year, 1, 1), date(year + 1, 1, 1)
    begins, ends = (datetime(d.year, 1, 1, tzinfo=CHINA) for d in (first, after))
    requests = select(DataRequest).join(Entry).where(
        Entry.department_id.in_(records), DataRequest.submitted_at >= begins, DataRequest.submitted_at < ends,
    ).options(selectinload(DataRequest.events), selectinload(DataRequest.entry))
    for request in session.scalars(requests):
        records[request.entry.department_id].requests.count(data_requests.answered_in_time(calendar, request))
    reports = select(ErrorReport).join(Entry).where(
        Entry.department_id.in_(records), ErrorReport.received_on >= first, ErrorReport.received_on < after,
    ).options(selectinload(ErrorReport.entry))
    for report in session.scalars(reports):
        records[report.entry.department_id].reports.count(error_reports.answered_in_time(calendar, report))
    done = select(Adjustment).where(Adjustment.department_id.in_(records), Adjustment.event_on >= first, Adjustment.event_on < after)
    for adjustment in session.scalars(done):
        late = adjustments.finished_late(calendar, adjustment)
        records[adjustment.department_id].adjustments.count(None if late is None else not late)

    for task in work.all_tasks(session, calendar, today):
        if task.overdue and task.department_id in records:
            records[task.department_id].overdue_now += 1
    for record in records.values():
        record.stale.sort(key=lambda s: (-s.days_late, s.entry.id))
    return list(records.values())
