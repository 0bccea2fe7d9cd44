"""Data security incidents (数据安全事件, Art. 21): a department reports a leak, tampering,
illegal use, attack or other incident it cannot deal with alone to the Bureau — saying whether
and when it reported it to the police, with the police's reference — and the Bureau handles it.

    reported --acknowledge (受理)--> acknowledged --close (with the result)--> closed
        note                             note

The department's providers and administrator report for their department, the Bureau for any.
The Bureau acknowledges and closes. While an incident is open, the Bureau and the department's
providers and administrator add follow-up notes; a note of the department may also record that
it has since reported the incident to the police (the date and the police's reference), which
is the only change to a report after it is made. A closed incident is final.

Only the department's staff, the Bureau and the auditor (who only reads) see an incident; to
anyone else, other departments included, it does not exist (NotFound).

Every step is a compare-and-set on (state, version), so a double click or two people acting at
once give one change and a `Conflict` for the other; each writes a timeline event and an audit
row in the same transaction. Audit rows name the incident by number and department only, never
its description, notes or result, which may hold personal data. "Now" is passed in; nothing here
commits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from . import audit
from .data_requests import china_day
from .db import compare_and_set
from .errors import Conflict, Forbidden, Invalid, NotFound
from .models import Department, Entry, SecurityIncident, SecurityIncidentEntry, SecurityIncidentEvent, User
from .vocab import DEPARTMENT_ROLES, N_, Role
from .work import Assignee, Task
from .workdays import Calendar

KINDS = {
    "leak": N_("数据泄露"),
    "tampering": N_("数据篡改"),
    "misuse": N_("数据非法使用"),
    "attack": N_("网络攻击"),
    "other": N_("其他安全事件"),
}
STATES = {"reported": N_("已报告，待受理"), "acknowledged": N_("已受理，处置中"), "closed": N_("已结案")}
OPEN = ("reported", "acknowledged")
EVENTS = {"report": N_("报告事件"), "acknowledge": N_("受理"), "note": N_("处置情况"), "close": N_("结案")}
REPORTERS = frozenset({Role.PROVIDER, Role.DEPT_ADMIN})  # the department staff who report and add notes
FLAG = N_("数据安全事件待处置")
TITLE_LENGTH, REFERENCE_LENGTH, MAX_ENTRIES = 200, 100, 50
DESCRIPTION_LENGTH = (10, 20000)
NOTE_LENGTH = (4, 5000)
RESULT_LENGTH = (4, 20000)
EARLIEST = date(2000, 1, 1)


# -- who may do what -----------------------------------------------------------------------


def may_report(user: User | None, department_id: int | None = None) -> bool:
    """The Bureau for any department; a provider or administrator for their own (for any of
    theirs when `department_id` is None: whether to offer the form at all)."""
    if user is None:
        return False
    if user.role == Role.BUREAU:
        return True
    return user.role in REPORTERS and user.department_id is not None and department_id in (None, user.department_id)


def may_see(user: User | None, incident: SecurityIncident) -> bool:
    """The department's staff, the Bureau and the auditor; nobody else, not other departments."""
    if user is None:
        return False
    if user.role in (Role.BUREAU, Role.AUDITOR):
        return True
    return user.role in DEPARTMENT_ROLES and user.department_id == incident.department_id


def may_handle(user: User | None) -> bool:
    """Acknowledging and closing are the Bureau's."""
    return user is not None and user.role == Role.BUREAU


def may_note(user: User | None, incident: SecurityIncident) -> bool:
    """The Bureau, and the department's providers and administrator (not its editors, who
    compile the catalog, nor the auditor, who only reads)."""
    return may_handle(user) or may_report(user, incident.department_id)


def may_list(user: User | None) -> bool:
    return user is not None and (user.role in (Role.BUREAU, Role.AUDITOR) or (user.role in DEPARTMENT_ROLES and user.department_id is not None))


# -- reporting -----------------------------------------------------------------------------


def split_refs(text: str) -> list[str]:
    """The entry references in `text`: resource codes or slugs separated by blanks, new lines,
    commas or 、；."""
    return [ref for ref in re.split(r"[\s,，、;；]+", text) if ref]


def _affected_entries(session: Session, department: Department, refs: Sequence[str], errors: dict[str, str]) -> list[Entry]:
    """The department's entries named by resource code or slug, in the order given. Another
    department's entry is reported as not found, as an unknown one: the form tells nothing of
    entries the reporter may not see."""
    wanted = list(dict.fromkeys(r.strip() for r in refs if r.strip()))
    if len(wanted) > MAX_ENTRIES:
        errors["entries"] = f"受影响的目录条目最多填写{MAX_ENTRIES}个"
        return []
    if not wanted:
        return []
    rows = session.scalars(select(Entry).where(Entry.department_id == department.id, or_(Entry.resource_code.in_(wanted), Entry.slug.in_(wanted))))
    found = {key: entry for entry in rows for key in (entry.resource_code, entry.slug)}
    if missing := [r for r in wanted if r not in found]:
        errors["entries"] = f"没有找到{department.name}的目录条目：{'、'.join(missing)}"
        return []
    return list({found[r].id: found[r] for r in wanted}.values())


def _police_errors(reported_on: date | None, reference: str, *, discovered_on: date | None, today: date) -> dict[str, str]:
    errors = {}
    if reported_on is None:
        errors["police_reported_on"] = "已报告公安部门的，请填写报告日期"
    elif reported_on > today:
        errors["police_reported_on"] = "报告公安部门的日期不能晚于今天"
    elif discovered_on is not None and reported_on < discovered_on:
        errors["police_reported_on"] = "报告公安部门的日期不能早于发现事件的日期"
    if not reference:
        errors["police_reference"] = "已报告公安部门的，请填写公安部门的受案回执编号或报案记录编号"
    elif len(reference) > REFERENCE_LENGTH:
        errors["police_reference"] = f"公安部门的编号不能超过{REFERENCE_LENGTH}个字"
    return errors


def _length_error(text: str, bounds: tuple[int, int], short: str, long: str) -> str:
    shortest, longest = bounds
    if len(text) < shortest:
        return f"{short}（不少于{shortest}个字）"
    if len(text) > longest:
        return f"{long}不能超过{longest}个字"
    return ""


def _event(incident_id: int, action: str, actor: User, now: datetime, note: str = "") -> SecurityIncidentEvent:
    return SecurityIncidentEvent(incident_id=incident_id, at=now, actor_id=actor.id, actor=actor.display_name or actor.username, action=action, note=note)


def _target(incident: SecurityIncident) -> str:
    return f"数据安全事件 #{incident.id} {incident.department.name}"


def report(
    session: Session, *, department: Department | None, kind: str, title: str, description: str, discovered_at: datetime | None,
    entries: Sequence[str] = (), personal_information: bool = False, police_reported: bool = False,
    police_reported_on: date | None = None, police_reference: str = "", actor: User, now: datetime,
) -> SecurityIncident:
    """Report an incident of `department` to the Bureau. `entries` are the department's affected
    entries, by resource code or slug; the police's date and reference are required when
    `police_reported` (and ignored otherwise). Forbidden unless `actor` may report for the
    department; Invalid with Chinese field errors (department, kind, title, description,
    discovered_at, entries, police_reported_on, police_reference)."""
    if not may_report(actor, department.id if department is not None else None):
        raise Forbidden(N_("只有本部门的数据提供员、部门管理员或区数据资源局可以报告数据安全事件"))
    if department is None:
        raise Invalid({"department": "请选择发生事件的部门"})
    title, description, police_reference = title.strip(), description.strip(), police_reference.strip()
    errors: dict[str, str] = {}
    if kind not in KINDS:
        errors["kind"] = "请选择事件类型：数据泄露、数据篡改、数据非法使用、网络攻击或其他安全事件"
    if not title:
        errors["title"] = "请填写事件名称"
    elif len(title) > TITLE_LENGTH:
        errors["title"] = f"事件名称不能超过{TITLE_LENGTH}个字"
    if why := _length_error(description, DESCRIPTION_LENGTH, "请描述事件经过、影响范围和已采取的措施", "事件描述"):
        errors["description"] = why
    today = china_day(now)
    if discovered_at is None:
        errors["discovered_at"] = "请填写发现事件的时间"
    elif discovered_at > now:
        errors["discovered_at"] = "发现事件的时间不能晚于现在"
    elif china_day(discovered_at) < EARLIEST:
        errors["discovered_at"] = "发现事件的时间有误，请检查年份"
    affected = _affected_entries(session, department, entries, errors)
    if police_reported:
        discovered_on = china_day(discovered_at) if discovered_at is not None else None
        errors |= _police_errors(police_reported_on, police_reference, discovered_on=discovered_on, today=today)
    if errors:
        raise Invalid(errors)
    assert discovered_at is not None
    incident = SecurityIncident(
        department=department, kind=kind, title=title, description=description, discovered_at=discovered_at,
        personal_information=bool(personal_information), police_reported=bool(police_reported),
        police_reported_on=police_reported_on if police_reported else None, police_reference=police_reference if police_reported else "",
        state="reported", version=0, reported_at=now, reported_by_id=actor.id, updated_at=now, result="",
        affected=[SecurityIncidentEntry(entry=e) for e in affected],
    )
    session.add(incident)
    session.flush()
    session.add(_event(incident.id, "report", actor, now))
    audit.record(
        session, action="incident:report", actor=actor, now=now, target=_target(incident),
        details={
            "department": department.id, "kind": kind, "entries": [e.id for e in affected],
            "personal_information": incident.personal_information, "police_reported": incident.police_reported,
        },
    )
    session.flush()
    return incident


# -- handling ------------------------------------------------------------------------------


def _move(session: Session, incident: SecurityIncident, sources: Sequence[str], now: datetime, **values: object) -> None:
    """Compare-and-set `values` on `incident` while it is in one of `sources` and unchanged."""
    if incident.state not in sources:
        raise Conflict(f"该数据安全事件当前为“{STATES[incident.state]}”，本次操作未生效；请刷新页面查看最新状态")
    if not compare_and_set(session, incident, where={"state": incident.state}, values={"updated_at": now, **values}):
        raise Conflict("该数据安全事件刚刚已被他人处理，本次操作未生效；请刷新页面查看最新状态")


def acknowledge(session: Session, incident: SecurityIncident, *, actor: User, now: datetime, note: str = "") -> None:
    """The Bureau acknowledges (受理) a reported incident, with an optional note (who handles
    it, what was asked of the department)."""
    if not may_handle(actor):
        raise Forbidden(N_("只有区数据资源局可以受理数据安全事件"))
    note = note.strip()
    if len(note) > NOTE_LENGTH[1]:
        raise Invalid({"note": f"受理意见不能超过{NOTE_LENGTH[1]}个字"})
    incident_id, target = incident.id, _target(incident)
    _move(session, incident, ("reported",), now, state="acknowledged", acknowledged_at=now, acknowledged_by_id=actor.id)
    session.add(_event(incident_id, "acknowledge", actor, now, note))
    audit.record(session, action="incident:acknowledge", actor=actor, now=now, target=target)
    session.flush()


def add_note(
    session: Session, incident: SecurityIncident, *, note: str, actor: User, now: datetime,
    police_reported: bool = False, police_reported_on: date | None = None, police_reference: str = "",
) -> None:
    """Add a follow-up note to an open incident. With `police_reported`, the note also records
    that the department has since reported the incident to the police, on `police_reported_on`
    with `police_reference` (once: Invalid when it is already recorded)."""
    if not may_note(actor, incident):
        raise Forbidden(N_("只有区数据资源局或本部门的数据提供员、部门管理员可以记录处置情况"))
    note, police_reference = note.strip(), police_reference.strip()
    errors: dict[str, str] = {}
    if why := _length_error(note, NOTE_LENGTH, "请填写处置情况", "处置情况"):
        errors["note"] = why
    values: dict[str, object] = {}
    if police_reported and incident.state in OPEN:
        if incident.police_reported:
            errors["police_reported"] = "已记录该事件报告公安部门的情况，无需再次记录"
        else:
            errors |= _police_errors(police_reported_on, police_reference, discovered_on=china_day(incident.discovered_at), today=china_day(now))
            values = {"police_reported": True, "police_reported_on": police_reported_on, "police_reference": police_reference}
    if errors and incident.state in OPEN:
        raise Invalid(errors)
    incident_id, target = incident.id, _target(incident)
    _move(session, incident, OPEN, now, **values)
    session.add(_event(incident_id, "note", actor, now, note))
    audit.record(session, action="incident:note", actor=actor, now=now, target=target, details={"police_reported": bool(values)})
    session.flush()


def close(session: Session, incident: SecurityIncident, *, result: str, actor: User, now: datetime) -> None:
    """The Bureau closes an acknowledged incident with the handling result; it is final."""
    if not may_handle(actor):
        raise Forbidden(N_("只有区数据资源局可以结案"))
    result = result.strip()
    if incident.state == "acknowledged" and (why := _length_error(result, RESULT_LENGTH, "请写明处置结果", "处置结果")):
        raise Invalid({"result": why})
    incident_id, target = incident.id, _target(incident)
    _move(session, incident, ("acknowledged",), now, state="closed", closed_at=now, closed_by_id=actor.id, result=result)
    session.add(_event(incident_id, "close", actor, now))
    audit.record(session, action="incident:close", actor=actor, now=now, target=target)
    session.flush()


# -- lookups -------------------------------------------------------------------------------


def get_incident(session: Session, incident_id: int, user: User | None) -> SecurityIncident:
    """The incident `incident_id` if `user` may see it; NotFound otherwise."""
    incident = session.get(SecurityIncident, incident_id)
    if incident is None or not may_see(user, incident):
        raise NotFound(N_("没有找到该数据安全事件，或您无权查看"))
    return incident


def visible_incidents(session: Session, user: User | None, *, state: str | None = None) -> list[SecurityIncident]:
    """The incidents `user` may see, newest first: all for the Bureau and the auditor, their
    department's for its staff; Forbidden for anyone else."""
    if user is None or not may_list(user):
        raise Forbidden(N_("您没有查看数据安全事件的权限"))
    query = select(SecurityIncident).options(selectinload(SecurityIncident.department)).order_by(SecurityIncident.id.desc())
    if user.role not in (Role.BUREAU, Role.AUDITOR):
        query = query.where(SecurityIncident.department_id == user.department_id)
    if state in STATES:
        query = query.where(SecurityIncident.state == state)
    return list(session.scalars(query))


# -- my work -------------------------------------------------------------------------------

# What an open incident waits for; always the Bureau. Art. 21 says "及时" and sets no number of
# days, so there is no clock: the flag makes `portal tick` tell every Bureau administrator once.
WAITING = {"reported": N_("受理"), "acknowledged": N_("处置并结案")}


def tasks(session: Session, calendar: Calendar, today: date) -> list[Task]:
    """Every open incident waits for the Bureau: a reported one to be acknowledged, an
    acknowledged one to be handled and closed; each is flagged 数据安全事件待处置. The title names
    the department and the kind only — never the reporter's text — since notices are e-mailed.
    (`calendar` and `today`: the signature every workflow's `tasks` shares.)"""
    found = []
    query = select(SecurityIncident).where(SecurityIncident.state.in_(OPEN)).options(selectinload(SecurityIncident.department))
    for incident in session.scalars(query.order_by(SecurityIncident.id)):
        found.append(Task(
            kind="incident", id=incident.id, title=f"{incident.department.name}：{KINDS[incident.kind]}", state=STATES[incident.state],
            waiting_for=WAITING[incident.state], assignee=Assignee(roles=frozenset({Role.BUREAU})),
            department_id=incident.department_id, flags=(FLAG,),
        ))
    return found
