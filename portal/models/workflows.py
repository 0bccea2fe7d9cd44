"""The audit trail, the working-day calendar, and the statutory workflows: share and open
requests and their grants, error reports, catalog adjustments, open-attribute reviews, clock
rules and notifications."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..vocab import OpenType
from .base import Base, UTCDateTime, choice

if TYPE_CHECKING:
    from .catalog import Department, User, Entry


class AuditEvent(Base):
    """One row of the append-only audit trail (Art. 22, 24): who did what to what, when, from
    where and why. Rows are hash-chained (`audit`): `hash` covers the row and `prev_hash`."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)  # no foreign key: the trail outlives accounts
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(32), default="")
    department_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(40), index=True)
    target: Mapped[str] = mapped_column(String(300), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    purpose: Mapped[str] = mapped_column(Text, default="")
    ip: Mapped[str] = mapped_column(String(45), default="")
    prev_hash: Mapped[str] = mapped_column(String(64), default="")
    hash: Mapped[str] = mapped_column(String(64), default="")


class CalendarYear(Base):
    """A year's official days off and make-up working days, loaded by the Bureau from the State
    Council's notice (`workdays.parse_year_file`); it overrides the `holidays` package."""

    __tablename__ = "calendar_year"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(300))
    days_off: Mapped[list[str]] = mapped_column(JSON)
    workdays: Mapped[list[str]] = mapped_column(JSON)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    loaded_by: Mapped[str] = mapped_column(String(100), default="")


class DataRequest(Base):
    """A share request (有条件共享, Art. 14: a department asks another) or an open request
    (依申请开放, Art. 18: a citizen or organisation asks), on its legal clock (`data_requests`).
    `state` only ever changes by compare-and-set on (`state`, `version`)."""

    __tablename__ = "data_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), index=True)  # share | open
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    requester_department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    items: Mapped[list[str]] = mapped_column(JSON, default=list)  # field names wanted
    purpose: Mapped[str] = mapped_column(Text)
    duty: Mapped[str] = mapped_column(Text, default="")  # the duty a share request serves
    period_from: Mapped[date | None] = mapped_column(Date)
    period_to: Mapped[date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(20), index=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_on: Mapped[date | None] = mapped_column(Date)  # the clock's start day
    pauses: Mapped[list[list[str | None]]] = mapped_column(JSON, default=list)  # [asked, answered] ISO dates
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")
    basis: Mapped[str] = mapped_column(Text, default="")
    clock_rule: Mapped[str] = mapped_column(String(20), default="workdays")

    entry: Mapped[Entry] = relationship()
    requester: Mapped[User] = relationship()
    events: Mapped[list[RequestEvent]] = relationship(order_by="RequestEvent.id", cascade="all, delete-orphan")
    grant: Mapped[Grant | None] = relationship(back_populates="request", uselist=False)


class RequestEvent(Base):
    """One step of a request: who moved it from which state to which, with what note."""

    __tablename__ = "request_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("data_request.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(20))
    from_state: Mapped[str] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")


class Grant(Base):
    """What an approved request allows: the items, scope, purpose and expiry; `code` is printed
    on every file served under it so that a leaked copy can be traced (Art. 22)."""

    __tablename__ = "data_grant"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("data_request.id"), unique=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id"), index=True)
    grantee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  # an open request's applicant
    grantee_department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))  # a share request's department
    items: Mapped[list[str]] = mapped_column(JSON, default=list)
    scope: Mapped[str] = mapped_column(Text, default="")
    purpose: Mapped[str] = mapped_column(Text)
    expires_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    request: Mapped[DataRequest] = relationship(back_populates="grant")


class ErrorReport(Base):
    """A doubt or error reported on an entry or its data (校核, Art. 10), answered by the provider
    within 5 working days of receipt with a correction (a new version of the entry) or an
    explanation; listed publicly on the entry page (`error_reports`). `state` changes only by
    compare-and-set on (`state`, `version`)."""

    __tablename__ = "error_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id"), index=True)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  # None: an anonymous visitor
    reporter_name: Mapped[str] = mapped_column(String(100), default="")  # as shown publicly
    contact: Mapped[str] = mapped_column(String(254), default="")  # for the provider only, never shown
    subject: Mapped[str] = mapped_column(String(20))  # metadata | data
    file_id: Mapped[int | None] = mapped_column(ForeignKey("entry_file.id"))
    location: Mapped[str] = mapped_column(String(200), default="")  # row, column or field concerned
    description: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), index=True)  # received | corrected | explained
    version: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_on: Mapped[date] = mapped_column(Date)  # the clock's start day (China time)
    clock_rule: Mapped[str] = mapped_column(String(20), default="workdays")
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    corrected_version: Mapped[int | None] = mapped_column(Integer)  # the entry version that corrects it

    entry: Mapped[Entry] = relationship()
    reporter: Mapped[User | None] = relationship(foreign_keys=[reporter_id])
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])


class Adjustment(Base):
    """A catalog adjustment task (Art. 10): a law or a department's function changed on
    `event_on`; the entries named must be updated within 10 working days of it. It closes when
    every entry named has a version recorded after it was opened (`adjustments`)."""

    __tablename__ = "catalog_adjustment"

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    cause: Mapped[str] = mapped_column(String(20))  # law | function
    event: Mapped[str] = mapped_column(Text)  # what changed, e.g. the law and its article
    event_on: Mapped[date] = mapped_column(Date)  # the clock's start day
    state: Mapped[str] = mapped_column(String(20), index=True)  # open | done | cancelled
    version: Mapped[int] = mapped_column(Integer, default=0)
    clock_rule: Mapped[str] = mapped_column(String(20), default="workdays")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")

    department: Mapped[Department] = relationship()
    opened_by: Mapped[User | None] = relationship()
    targets: Mapped[list[AdjustmentTarget]] = relationship(order_by="AdjustmentTarget.id", cascade="all, delete-orphan", back_populates="adjustment")


class AdjustmentTarget(Base):
    """One entry an adjustment names, and the entry version that updated it (None until then)."""

    __tablename__ = "adjustment_target"
    __table_args__ = (UniqueConstraint("adjustment_id", "entry_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    adjustment_id: Mapped[int] = mapped_column(ForeignKey("catalog_adjustment.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id"), index=True)
    version_at_open: Mapped[int] = mapped_column(Integer)  # the entry's version when the task was opened
    updated_version: Mapped[int | None] = mapped_column(Integer)

    adjustment: Mapped[Adjustment] = relationship(back_populates="targets")
    entry: Mapped[Entry] = relationship()


class OpenReview(Base):
    """The disclosure office's review of an entry's proposed open type (Art. 16, 23). The entry's
    `open_type` is the type in effect; a proposal to open it takes effect only when a reviewer
    approves, with the open-risk assessment recorded here (`open_review`)."""

    __tablename__ = "open_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)
    proposed: Mapped[OpenType] = mapped_column(choice(OpenType))
    previous: Mapped[OpenType] = mapped_column(choice(OpenType))
    open_condition: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(20), index=True)  # pending | approved | rejected | withdrawn
    version: Mapped[int] = mapped_column(Integer, default=0)
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    proposed_by: Mapped[str] = mapped_column(String(100), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    # The open-risk assessment (Art. 23): each checklist question answered, the personal-information
    # scan of the entry's files at the time, and the reviewer's conclusion.
    checklist: Mapped[dict[str, bool]] = mapped_column(JSON, default=dict)
    scan: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    conclusion: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    reviewer: Mapped[str] = mapped_column(String(100), default="")

    entry: Mapped[Entry] = relationship()


class ClockRule(Base):
    """The Bureau's choice of counting rule for a clock kind whose law says 日 (`calendars`)."""

    __tablename__ = "clock_rule"

    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    rule: Mapped[str] = mapped_column(String(20))  # workdays | calendar_days
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    changed_by: Mapped[str] = mapped_column(String(100), default="")


class Notification(Base):
    """An in-app notice to one user about a clock (`notifications`): due soon or missed. `key`
    makes `portal tick` idempotent: one notice per user, task and occasion."""

    __tablename__ = "notification"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(100))  # e.g. "share:12:due-soon:2026-10-14"
    task_kind: Mapped[str] = mapped_column(String(20))  # share | open | report | adjustment | review
    task_id: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
