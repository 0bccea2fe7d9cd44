"""Harvest sources, their organization mapping, the GUID → entry table, jobs and items."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime

if TYPE_CHECKING:
    from .catalog import Department, Entry


class HarvestSource(Base):
    """Another catalog harvested into the zone catalog (`harvest`): a CKAN Action API, a DCAT
    catalog or a Frictionless data package, managed by the Bureau. `settings` is the source's
    declared mapping (defaults for the catalog's fields, whether to download resources, whether
    its open types are trusted); `allow_private` lets it be fetched from loopback or private
    addresses, which is otherwise refused."""

    __tablename__ = "harvest_source"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)  # [a-z0-9-], as the command line names it
    title: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(20))  # ckan | dcat | datapackage (`harvest.KINDS`)
    url: Mapped[str] = mapped_column(Text)
    allow_private: Mapped[bool] = mapped_column(Boolean, default=False)
    schedule: Mapped[str] = mapped_column(String(10), default="manual")  # manual | daily | weekly | monthly
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HarvestOrgMapping(Base):
    """One remote organization of a source and the zone department its records belong to;
    edited by the Bureau."""

    __tablename__ = "harvest_org_mapping"
    __table_args__ = (UniqueConstraint("source_id", "remote_org"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("harvest_source.id", ondelete="CASCADE"), index=True)
    remote_org: Mapped[str] = mapped_column(String(200))  # the remote organization's name (or id)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))

    department: Mapped[Department] = relationship()


class HarvestRecord(Base):
    """The GUID → entry table: one remote record of a source, by its stable remote identifier
    (never its title or slug), the entry it became and the hash of its content when last
    harvested. A record no longer at the source is `missing_since` until the grace period
    ends, then its entry is withdrawn (`archived_at`)."""

    __tablename__ = "harvest_record"
    __table_args__ = (UniqueConstraint("source_id", "guid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("harvest_source.id", ondelete="CASCADE"), index=True)
    guid: Mapped[str] = mapped_column(String(500))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entry.id", ondelete="SET NULL"), index=True)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    missing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    entry: Mapped[Entry | None] = relationship()


class HarvestJob(Base):
    """One run of a source: its state, its counts by item status and, for an incremental run,
    the time it asked for changes since."""

    __tablename__ = "harvest_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("harvest_source.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(20), index=True)  # running | finished | failed | timed-out
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    since: Mapped[datetime | None] = mapped_column(UTCDateTime)  # incremental: changes since (overlap included)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_by: Mapped[str] = mapped_column(String(100), default="")
    added: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    archived: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")  # why the job itself failed or stopped

    source: Mapped[HarvestSource] = relationship()


class HarvestItem(Base):
    """What one job did with one record: added, updated, unchanged, archived or failed (with
    the stage it failed at and the error). In a dry run, what would have been done."""

    __tablename__ = "harvest_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("harvest_job.id", ondelete="CASCADE"), index=True)
    guid: Mapped[str] = mapped_column(String(500))
    title: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(20), index=True)  # added | updated | unchanged | archived | failed
    stage: Mapped[str] = mapped_column(String(20), default="")  # fetch | parse | map | validate | write | resource | archive
    error: Mapped[str] = mapped_column(Text, default="")
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entry.id", ondelete="SET NULL"))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # e.g. the fields a dry run would change
