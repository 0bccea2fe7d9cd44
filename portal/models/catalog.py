"""Departments, users, catalog entries with their data items, files, download counts and
versions, and the search outbox."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..vocab import AccountKind, ClassificationKind, DataType, EntryStatus, FormatClass, OpenType, Role, SecurityLevel, ShareType, UpdateCycle
from .base import Base, UTCDateTime, choice


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
