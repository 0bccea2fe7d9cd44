"""The database tables, as SQLAlchemy 2.x typed models.

Times are stored as naive UTC and read back as aware UTC (`UTCDateTime`), the same on SQLite
and PostgreSQL. Vocabulary columns store the stable ASCII value of their `Choice`.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, DateTime, Enum, ForeignKey, Integer, String, Text, TypeDecorator, UniqueConstraint, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .vocab import (
    AccountKind,
    ClassificationKind,
    DataType,
    EntryStatus,
    FormatClass,
    OpenType,
    Role,
    SecurityLevel,
    ShareType,
    UpdateCycle,
)


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; pass an aware UTC time")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


def choice(enum: type) -> Enum:
    return Enum(enum, native_enum=False, create_constraint=False, length=32, values_callable=lambda e: [m.value for m in e])


class Base(DeclarativeBase):
    pass


class Department(Base):
    """A zone department (区属部门); `code` is its unified social credit code."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    code: Mapped[str] = mapped_column(String(18), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    parent: Mapped[Department | None] = relationship(remote_side=[id])


class User(Base):
    """A login: department staff, reviewer, Bureau, auditor, or a registered member of the public."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(choice(Role))
    account_kind: Mapped[AccountKind | None] = mapped_column(choice(AccountKind))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    department: Mapped[Department | None] = relationship()

    # What a login session needs of a user (the Flask-Login protocol), without importing Flask.
    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)


class Entry(Base):
    """A catalog entry (政务数据资源): the metadata of the national catalog guide and the Measures."""

    __tablename__ = "entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    resource_code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[EntryStatus] = mapped_column(choice(EntryStatus), default=EntryStatus.DRAFT)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    classification_kind: Mapped[ClassificationKind] = mapped_column(choice(ClassificationKind))
    classification_path: Mapped[str] = mapped_column(String(200))
    classification_code: Mapped[str] = mapped_column(String(20), index=True)
    abstract: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    format_class: Mapped[FormatClass] = mapped_column(choice(FormatClass))
    format_type: Mapped[str] = mapped_column(String(20), default="")
    share_type: Mapped[ShareType] = mapped_column(choice(ShareType))
    share_condition: Mapped[str] = mapped_column(Text, default="")
    share_method: Mapped[str] = mapped_column(String(200), default="")
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    open_type: Mapped[OpenType] = mapped_column(choice(OpenType))
    open_condition: Mapped[str] = mapped_column(Text, default="")
    update_cycle: Mapped[UpdateCycle] = mapped_column(choice(UpdateCycle))
    publish_date: Mapped[date | None] = mapped_column(Date)
    related_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    usage_requirements: Mapped[str] = mapped_column(Text, default="")
    security_level: Mapped[SecurityLevel] = mapped_column(choice(SecurityLevel))
    personal_information: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=0)
    downloads: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the data itself (a file) last changed: what timeliness checks read against the update cycle.
    data_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    department: Mapped[Department] = relationship()
    items: Mapped[list[DataItem]] = relationship(
        order_by="DataItem.position", cascade="all, delete-orphan", back_populates="entry"
    )
    # Every revision of every resource file, and (read-only) the current ones: a new revision
    # of a file replaces it in `files` and stays in `all_files` with its report.
    all_files: Mapped[list[EntryFile]] = relationship(
        order_by="EntryFile.id", cascade="all, delete-orphan", back_populates="entry"
    )
    files: Mapped[list[EntryFile]] = relationship(
        order_by="EntryFile.id",
        primaryjoin="and_(Entry.id == EntryFile.entry_id, EntryFile.replaced_at.is_(None))",
        viewonly=True,
    )


class DataItem(Base):
    """A data item (信息项) of an entry: one field of its Table Schema."""

    __tablename__ = "data_item"
    __table_args__ = (UniqueConstraint("entry_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(64))
    data_type: Mapped[DataType] = mapped_column(choice(DataType))
    length: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")
    share_type: Mapped[ShareType | None] = mapped_column(choice(ShareType))
    open_type: Mapped[OpenType | None] = mapped_column(choice(OpenType))
    # Table Schema constraints besides the length: required, unique, enum, pattern.
    constraints: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")

    entry: Mapped[Entry] = relationship(back_populates="items")


class EntryFile(Base):
    """One revision of a resource file of an entry, stored by content hash; `name` is only for
    display. A tabular file also has its table normalised to UTF-8 CSV, its Table Schema, the
    validation report, a quality summary and the personal-information findings (`pipeline`)."""

    __tablename__ = "entry_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(String(200), default="")
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    format: Mapped[str] = mapped_column(String(20))
    encoding: Mapped[str | None] = mapped_column(String(20))  # of the original, as detected
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    tabular: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    normalised_sha256: Mapped[str | None] = mapped_column(String(64))  # the table as UTF-8 comma CSV
    row_count: Mapped[int | None] = mapped_column(Integer)
    table_schema: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    quality: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default="[]")
    # How personal information found in it was dealt with before release: masked | consent | public_interest.
    clearance: Mapped[str | None] = mapped_column(String(20))
    clearance_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    cleared_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    derived_from_id: Mapped[int | None] = mapped_column(ForeignKey("entry_file.id"))  # the masked copy's source
    replaced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("entry_file.id"))

    entry: Mapped[Entry] = relationship(back_populates="all_files")

    @property
    def valid(self) -> bool:
        return not self.tabular or bool(self.report and self.report.get("valid"))


class DownloadCount(Base):
    """Downloads of one resource file in one format (original, csv, excel-csv, json, xlsx)."""

    __tablename__ = "download_count"
    __table_args__ = (UniqueConstraint("file_id", "format"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("entry_file.id", ondelete="CASCADE"), index=True)
    format: Mapped[str] = mapped_column(String(20))
    count: Mapped[int] = mapped_column(Integer, default=0)


class EntryVersion(Base):
    """One change of an entry: who changed which fields from what to what, and when."""

    __tablename__ = "entry_version"
    __table_args__ = (UniqueConstraint("entry_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor: Mapped[str] = mapped_column(String(100))  # shown name at the time, e.g. "数据包导入"
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(20))  # create | update | publish | withdraw | file | review
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class SearchOutbox(Base):
    """Entries whose search document must be rewritten: queued in the transaction that changed
    them, removed once the index holds the change (see `search.sync`)."""

    __tablename__ = "search_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(Integer, index=True)  # no foreign key: deletions are queued too
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)


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


class RealNameVerification(Base):
    """A user's real-name verification (Art. 23), decided by the Bureau (`realname`). An
    individual gives a name and an 18-digit ID number, an organisation its name, unified social
    credit code and a contact person. The ID number is stored only encrypted (`id_number_token`,
    key from the environment) and shown only masked (`id_number_masked`)."""

    __tablename__ = "real_name_verification"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    kind: Mapped[AccountKind] = mapped_column(choice(AccountKind))
    name: Mapped[str] = mapped_column(String(200))  # the person's or the organisation's name
    id_number_token: Mapped[str] = mapped_column(Text, default="")  # encrypted; individuals only
    id_number_masked: Mapped[str] = mapped_column(String(20), default="")  # e.g. 110101********1234
    credit_code: Mapped[str] = mapped_column(String(18), default="")  # organisations only
    contact_name: Mapped[str] = mapped_column(String(100), default="")
    contact_phone_masked: Mapped[str] = mapped_column(String(20), default="")
    contact_phone_token: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(20), index=True)  # pending | approved | rejected
    version: Mapped[int] = mapped_column(Integer, default=0)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    reason: Mapped[str] = mapped_column(Text, default="")

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class ApiKey(Base):
    """An API key of a user (`api_keys`): shown once, stored as its sha256; `prefix` (the first
    characters) identifies it in lists. Scopes: read, and write for department keys."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class QuotaTier(Base):
    """The Bureau's numbers for one tier of API use (`quotas`): anonymous (per address),
    registered, verified (real name), department. A tier without a row uses the defaults."""

    __tablename__ = "quota_tier"

    tier: Mapped[str] = mapped_column(String(20), primary_key=True)
    per_minute: Mapped[int] = mapped_column(Integer)
    per_day: Mapped[int] = mapped_column(Integer)
    bytes_per_day: Mapped[int] = mapped_column(BigInteger)
    # The largest whole-resource export one call may take; above it the export is a bulk service,
    # which only the verified and department tiers get (Art. 23). 0 means no limit.
    max_export_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    changed_by: Mapped[str] = mapped_column(String(100), default="")


class UsageCounter(Base):
    """Calls and bytes of one subject (a key, a user or an address) in one window (a minute or
    a day): the database quota store shared by every worker process (`quotas`). The daily rows
    of keys are also the usage shown to their owners and the Bureau."""

    __tablename__ = "usage_counter"
    __table_args__ = (UniqueConstraint("subject", "window"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(80))  # key:12 | user:5 | ip:203.0.113.9
    window: Mapped[str] = mapped_column(String(20), index=True)  # m:202611251031 | d:20261125
    calls: Mapped[int] = mapped_column(Integer, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
