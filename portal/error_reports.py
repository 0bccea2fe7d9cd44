"""Error reports (数据校核, Art. 10): anyone who may see an entry reports a doubt about it or an
error in its metadata or data; the provider department answers within 5 working days of receipt,
with a correction (a version of the entry recorded after the report was received) or an
explanation. Reports and their answers are public wherever the entry is visible.

    received --answer(corrected, version N)--> corrected
        \\------answer(explained)------------> explained

Receipt starts the clock (the day of receipt not counted), with the counting rule in force that
day. The answer is a compare-and-set on the report's state and version, so a double click or two
providers answering at once give exactly one answer and a `Conflict` (409) for the others.
Submitting and answering each write an audit row in the same transaction; the reporter's contact
is for the provider only: it is never shown publicly nor written to the audit trail.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .authz import Action, can
from .calendars import clock_kind
from .data_requests import china_day
from .db import compare_and_set
from .errors import Conflict, Forbidden, Invalid, NotFound
from .models import Entry, EntryVersion, ErrorReport, User
from .vocab import N_, EntryStatus, Role
from .work import Assignee, Task
from .workdays import CLOCK_KINDS, Calendar, ClockState, describe_clock, due_date, with_rule

SUBJECTS = {"metadata": N_("目录信息"), "data": N_("数据内容")}
STATES = {"received": N_("待答复"), "corrected": N_("已更正"), "explained": N_("已说明")}
OUTCOMES = ("corrected", "explained")
DESCRIPTION_LENGTH = (4, 2000)
ANSWER_LENGTH = (4, 2000)
NAME_LENGTH, CONTACT_LENGTH, LOCATION_LENGTH = 100, 254, 200


def may_see(user: User | None, report: ErrorReport) -> bool:
    """Reports are public wherever their entry is visible."""
    return can(user, Action.VIEW_ENTRY, report.entry)


def may_answer(user: User | None, report: ErrorReport) -> bool:
    """The provider department's providers and administrators, and the Bureau."""
    if user is None:
        return False
    if user.role == Role.BUREAU:
        return True
    return user.role in (Role.PROVIDER, Role.DEPT_ADMIN) and user.department_id == report.entry.department_id


def target(report: ErrorReport) -> str:
    return f"数据校核 #{report.id}"


# -- submitting ----------------------------------------------------------------------------


def submit(
    session: Session, entry: Entry, *, reporter: User | None, subject: str, description: str, now: datetime,
    reporter_name: str = "", contact: str = "", file_id: int | None = None, location: str = "", clock_rule: str | None = None,
) -> ErrorReport:
    """Receive a report on `entry` from `reporter` (None for an anonymous visitor); the clock
    starts on the day of receipt (China time). Raises NotFound when the reporter may not see the
    entry, Invalid with Chinese field errors when the report cannot be received."""
    if not can(reporter, Action.VIEW_ENTRY, entry):
        raise NotFound(N_("没有找到该数据资源，或您无权查看"))
    if entry.status != EntryStatus.PUBLISHED:
        raise Invalid({"": "该数据资源未发布，不能提交校核"})
    description, reporter_name, contact, location = description.strip(), reporter_name.strip(), contact.strip(), location.strip()
    errors: dict[str, str] = {}
    if subject not in SUBJECTS:
        errors["subject"] = "请选择有疑义的是目录信息还是数据内容"
    shortest, longest = DESCRIPTION_LENGTH
    if len(description) < shortest:
        errors["description"] = f"请描述发现的疑义或错误（至少{shortest}个字）"
    elif len(description) > longest:
        errors["description"] = f"描述不能超过{longest}个字"
    if len(reporter_name) > NAME_LENGTH:
        errors["reporter_name"] = f"署名不能超过{NAME_LENGTH}个字"
    if len(contact) > CONTACT_LENGTH:
        errors["contact"] = f"联系方式不能超过{CONTACT_LENGTH}个字"
    if len(location) > LOCATION_LENGTH:
        errors["location"] = f"位置不能超过{LOCATION_LENGTH}个字"
    if file_id is not None and file_id not in {f.id for f in entry.all_files}:
        errors["file_id"] = "所选数据文件不属于该数据资源"
    if errors:
        raise Invalid(errors)
    report = ErrorReport(
        entry=entry, reporter_id=reporter.id if reporter else None, reporter_name=reporter_name, contact=contact,
        subject=subject, file_id=file_id, location=location, description=description, state="received", version=0,
        received_at=now, received_on=china_day(now), answer="",
        clock_rule=clock_rule or clock_kind(session, "error_report").rule,
    )
    session.add(report)
    session.flush()
    audit.record(
        session, action="report:submit", actor=reporter, actor_name="匿名访客", now=now, target=target(report),
        details={"entry": entry.id, "subject": subject},
    )
    return report


# -- answering -----------------------------------------------------------------------------


def correction_versions(session: Session, report: ErrorReport) -> list[EntryVersion]:
    """The versions of the entry recorded after the report was received, newest first: the
    versions an answer "corrected" may name."""
    query = select(EntryVersion).where(EntryVersion.entry_id == report.entry_id, EntryVersion.at > report.received_at)
    return list(session.scalars(query.order_by(EntryVersion.number.desc())))


def corrected_by(session: Session, report: ErrorReport) -> EntryVersion | None:
    """The version named by a "corrected" answer."""
    if report.corrected_version is None:
        return None
    query = select(EntryVersion).where(EntryVersion.entry_id == report.entry_id, EntryVersion.number == report.corrected_version)
    return session.scalars(query).first()


def _correcting_version(session: Session, report: ErrorReport, number: int | None) -> int:
    versions = correction_versions(session, report)
    if not versions:
        raise Invalid({"corrected_version": "收到校核后该数据资源尚无新版本：请先修改目录信息或更新数据文件，再答复已更正"})
    if number is None:
        return versions[0].number
    if number not in {v.number for v in versions}:
        raise Invalid({"corrected_version": f"版本 {number} 不是收到校核后记录的版本，不能作为更正"})
    return number


def answer(
    session: Session, report: ErrorReport, *, actor: User, now: datetime, outcome: str, text: str, corrected_version: int | None = None,
) -> None:
    """Answer a received report: "corrected" names the entry version that corrects it (by default
    the newest one recorded since receipt), "explained" explains why nothing needs correcting.
    The answer's text is required either way."""
    if not may_answer(actor, report):
        raise Forbidden(N_("只有提供部门可以答复数据校核"))
    if report.state != "received":
        raise Conflict(f"该校核已答复（{STATES[report.state]}），不能再次答复；请刷新页面查看最新状态")
    if outcome not in OUTCOMES:
        raise Invalid({"outcome": "请选择已更正或予以说明"})
    text = text.strip()
    shortest, longest = ANSWER_LENGTH
    if len(text) < shortest:
        message = "请说明更正了哪些内容" if outcome == "corrected" else "请写明说明的内容"
        raise Invalid({"answer": f"{message}（至少{shortest}个字）"})
    if len(text) > longest:
        raise Invalid({"answer": f"答复不能超过{longest}个字"})
    version = _correcting_version(session, report, corrected_version) if outcome == "corrected" else None
    values = {"state": outcome, "answer": text, "answered_at": now, "answered_by_id": actor.id, "corrected_version": version}
    if not compare_and_set(session, report, where={"state": "received"}, values=values):
        raise Conflict("该校核刚刚已被他人答复，本次答复未生效；请刷新页面查看最新状态")
    audit.record(
        session, action="report:answer", actor=actor, now=now, target=target(report),
        details={"entry": report.entry_id, "outcome": outcome, "version": version},
    )


# -- clocks --------------------------------------------------------------------------------


def clock(calendar: Calendar, report: ErrorReport, today: date) -> ClockState | None:
    """The answer's clock while the report waits for it; None once answered."""
    if report.state != "received":
        return None
    kind = with_rule(CLOCK_KINDS["error_report"], report.clock_rule)  # type: ignore[arg-type]
    return describe_clock(calendar, kind, report.received_on, today)


def answered_in_time(calendar: Calendar, report: ErrorReport) -> bool | None:
    """Whether the answer came by the due date; None while unanswered."""
    if report.answered_at is None:
        return None
    due = due_date(calendar, report.received_on, CLOCK_KINDS["error_report"].limit_days, report.clock_rule)  # type: ignore[arg-type]
    return due.date is None or china_day(report.answered_at) <= due.date


# -- lookups -------------------------------------------------------------------------------


def get_report(session: Session, report_id: int, user: User | None) -> ErrorReport:
    """A report `user` may see (anyone who may see its entry)."""
    report = session.get(ErrorReport, report_id)
    if report is None or not may_see(user, report):
        raise NotFound(N_("没有找到该校核，或您无权查看"))
    return report


def reports_of_entry(session: Session, entry: Entry) -> list[ErrorReport]:
    """Every report on `entry`, newest first: public wherever the entry is visible."""
    return list(session.scalars(select(ErrorReport).where(ErrorReport.entry_id == entry.id).order_by(ErrorReport.id.desc())))


def tasks(session: Session, calendar: Calendar, today: date) -> list[Task]:
    """The reports waiting for the provider department's answer, each on its 5-working-day clock."""
    found = []
    for report in session.scalars(select(ErrorReport).where(ErrorReport.state == "received").order_by(ErrorReport.id)):
        department = report.entry.department_id
        found.append(Task(
            kind="report", id=report.id, title=report.entry.title, state=STATES[report.state], waiting_for=N_("答复"),
            assignee=Assignee(roles=frozenset({Role.PROVIDER, Role.DEPT_ADMIN}), department_id=department),
            clock=clock(calendar, report, today), entry=report.entry, department_id=department,
        ))
    return found
