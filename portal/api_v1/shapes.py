"""The JSON shape of what `/api/v1` answers with: requests (summary and detail), grants,
reports, tasks, clocks, key usage, due dates and the clock kinds, as the component schemas of
`openapi` declare them. Who may see what (a report's contact) is the domain's decision.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from .. import api_keys, usage
from .. import data_requests as dr
from .. import error_reports as er
from ..calendars import clock_kinds
from ..errors import Invalid
from ..models import DataRequest, Department, Entry, ErrorReport, Grant, User
from ..supervision import Answers, DepartmentRecord
from ..vocab import UpdateCycle
from ..work import TASK_KINDS, Task
from ..workdays import RULES, Calendar, ClockState, due_date


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def entry_ref(entry: Entry) -> dict[str, Any]:
    return {"slug": entry.slug, "title": entry.title, "department": entry.department.name}


def clock_json(state: ClockState | None, start: date) -> dict[str, Any] | None:
    if state is None:
        return None
    kind = state.kind
    return {
        "kind": kind.key, "label": kind.label, "article": kind.article, "limit_days": kind.limit_days, "rule": kind.rule,
        "start": start.isoformat(), "due": _iso(state.due.date), "days_left": state.days_left, "paused": state.paused,
        "overdue": state.overdue, "provisional": state.provisional, "summary": state.summary,
    }


def request_clock(calendar: Calendar, item: DataRequest, today: date) -> dict[str, Any] | None:
    state = dr.clock(calendar, item, today)
    if state is None:
        return None
    start = item.accepted_on if state.kind.key != "acceptance" and item.accepted_on else dr.china_day(item.submitted_at)
    return clock_json(state, start)


def request_summary(session: Session, item: DataRequest, calendar: Calendar, today: date) -> dict[str, Any]:
    clock = request_clock(calendar, item, today)
    department = session.get(Department, item.requester_department_id) if item.requester_department_id else None
    return {
        "id": item.id, "kind": item.kind, "kind_label": dr.KINDS[item.kind], "state": item.state, "state_label": dr.STATES[item.state],
        "entry": entry_ref(item.entry), "requester": item.requester.display_name,
        "requester_department": department.name if department else None, "submitted_at": _iso(item.submitted_at),
        "due": clock["due"] if clock else None, "overdue": bool(clock and clock["overdue"]),
    }


def request_detail(session: Session, item: DataRequest, viewer: User, calendar: Calendar, today: date) -> dict[str, Any]:
    return {
        **request_summary(session, item, calendar, today),
        "items": list(item.items), "purpose": item.purpose, "duty": item.duty, "period_from": _iso(item.period_from),
        "period_to": _iso(item.period_to), "accepted_on": _iso(item.accepted_on), "decided_at": _iso(item.decided_at),
        "reason": item.reason, "basis": item.basis, "clock_rule": item.clock_rule, "version": item.version,
        "clock": request_clock(calendar, item, today), "actions": dr.available(viewer, item),
        "events": [
            {"at": _iso(e.at), "actor": e.actor, "action": e.action, "from_state": e.from_state, "to_state": e.to_state, "note": e.note}
            for e in item.events
        ],
        "grant": grant_json(session, item.grant, today) if item.grant else None,
    }


def grant_json(session: Session, grant: Grant, today: date) -> dict[str, Any]:
    request = grant.request
    if grant.grantee_department_id is not None:
        department = session.get(Department, grant.grantee_department_id)
        grantee = department.name if department else ""
    else:
        grantee = request.requester.display_name
    return {
        "code": grant.code, "request_id": grant.request_id, "kind": request.kind, "entry": entry_ref(request.entry),
        "grantee": grantee, "items": list(grant.items), "scope": grant.scope, "purpose": grant.purpose,
        "expires_on": grant.expires_on.isoformat(), "created_at": _iso(grant.created_at),
        "active": request.state == "approved" and grant.expires_on >= today,
    }


def report_json(report: ErrorReport, viewer: User | None, calendar: Calendar, today: date) -> dict[str, Any]:
    """A report as the public sees it; the contact and the answerer's name only for those who
    answer it (the provider department and the Bureau)."""
    record = next((f for f in report.entry.all_files if f.id == report.file_id), None) if report.file_id else None
    found: dict[str, Any] = {
        "id": report.id, "entry": entry_ref(report.entry), "subject": report.subject, "subject_label": er.SUBJECTS[report.subject],
        "state": report.state, "state_label": er.STATES[report.state], "reporter_name": report.reporter_name,
        "file": {"id": record.id, "name": record.title or record.name} if record else None, "location": report.location,
        "description": report.description, "received_at": _iso(report.received_at), "received_on": report.received_on.isoformat(),
        "clock": clock_json(er.clock(calendar, report, today), report.received_on), "answer": report.answer,
        "answered_at": _iso(report.answered_at), "answered_in_time": er.answered_in_time(calendar, report),
        "answering_department": report.entry.department.name, "corrected_version": report.corrected_version,
    }
    if er.may_answer(viewer, report):
        found["contact"] = report.contact
        found["answered_by"] = report.answered_by.display_name if report.answered_by else None
    return found


def task_json(task: Task, *, url: str, api_url: str | None) -> dict[str, Any]:
    clock = task.clock
    return {
        "kind": task.kind, "kind_label": TASK_KINDS[task.kind], "id": task.id, "title": task.title, "state": task.state,
        "waiting_for": task.waiting_for, "entry": task.entry.slug if task.entry else None, "due": _iso(task.due),
        "days_left": clock.days_left if clock else None, "overdue": task.overdue, "paused": bool(clock and clock.paused),
        "provisional": bool(clock and clock.provisional), "flags": list(task.flags), "url": url, "api_url": api_url,
    }


def usage_json(session: Session, user: User, *, today: date, days: int) -> dict[str, Any]:
    """The daily usage of each of `user`'s keys (revoked ones too), the last `days` China days."""
    items = []
    for key in api_keys.keys_of(session, user):
        daily = usage.key_usage(session, key, today=today, days=days)
        items.append({
            "key_id": key.id, "name": key.name, "prefix": key.prefix, "scopes": list(key.scopes), "revoked": key.revoked_at is not None,
            "calls": sum(d.calls for d in daily), "bytes": sum(d.bytes for d in daily),
            "daily": [{"date": d.day.isoformat(), "calls": d.calls, "bytes": d.bytes} for d in daily],
        })
    return {"days": days, "items": items}


def due_json(calendar: Calendar, start: date, days: int, calendar_days: bool) -> dict[str, Any]:
    rule = "calendar_days" if calendar_days else "workdays"
    try:
        due = due_date(calendar, start, days, rule)
    except OverflowError:
        raise Invalid({"start": "到期日超出可计算的日期范围"}) from None
    assert due.date is not None  # no pauses: always a date
    return {"start": start.isoformat(), "days": days, "rule": rule, "rule_label": RULES[rule], "due": due.date.isoformat(),
            "provisional": due.provisional}


def clock_kinds_json(session: Session) -> dict[str, Any]:
    return {"items": [
        {"key": k.key, "label": k.label, "limit_days": k.limit_days, "rule": k.rule, "limit_label": k.limit_label,
         "article": k.article, "starts": k.starts, "basis_text": k.basis_text}
        for k in clock_kinds(session).values()
    ]}


def _answers(answers: Answers) -> dict[str, Any]:
    return {"answered": answers.answered, "on_time": answers.on_time, "rate": answers.rate}


def supervision_json(record: DepartmentRecord) -> dict[str, Any]:
    return {
        "department": record.department.name, "department_code": record.department.code, "published": record.published,
        "without_files": [entry_ref(e) for e in record.without_files],
        "stale": [
            {"entry": entry_ref(s.entry), "update_cycle": UpdateCycle(s.entry.update_cycle).label, "last_update": s.last_update.isoformat(),
             "days_late": s.days_late}
            for s in record.stale
        ],
        "requests": _answers(record.requests), "reports": _answers(record.reports), "adjustments": _answers(record.adjustments),
        "overdue_now": record.overdue_now,
    }
