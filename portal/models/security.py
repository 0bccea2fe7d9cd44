"""Data security incidents (数据安全事件, Art. 21): what a department reports to the Bureau
(and whether it reported to the police), the catalog entries affected, and the steps of its
handling — acknowledgement, follow-up notes, closing with the result (`incidents`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime

if TYPE_CHECKING:
    from .catalog import Department, Entry, User


class SecurityIncident(Base):
    """A data security incident of a department that it cannot deal with alone (leak, tampering,
    illegal use, attack, other), reported to the Bureau: `reported` until the Bureau acknowledges
    it (受理), `acknowledged` while it is handled, `closed` with the handling result. The police
    fields say whether and when the department reported it to the police, and the police's
    reference for the report (受案回执编号)."""

    __tablename__ = "security_incident"

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # leak | tampering | misuse | attack | other
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)  # what happened, its reach, what was done so far
    discovered_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when it was found (never in the future)
    personal_information: Mapped[bool] = mapped_column(Boolean, default=False)  # personal information involved
    police_reported: Mapped[bool] = mapped_column(Boolean, default=False)
    police_reported_on: Mapped[date | None] = mapped_column(Date)
    police_reference: Mapped[str] = mapped_column(String(100), default="")
    state: Mapped[str] = mapped_column(String(20), index=True)  # reported | acknowledged | closed
    version: Mapped[int] = mapped_column(Integer, default=0)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    result: Mapped[str] = mapped_column(Text, default="")  # the handling result, given when closed

    department: Mapped[Department] = relationship()
    reported_by: Mapped[User | None] = relationship(foreign_keys=[reported_by_id])
    acknowledged_by: Mapped[User | None] = relationship(foreign_keys=[acknowledged_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    affected: Mapped[list[SecurityIncidentEntry]] = relationship(
        order_by="SecurityIncidentEntry.id", cascade="all, delete-orphan", back_populates="incident",
    )
    events: Mapped[list[SecurityIncidentEvent]] = relationship(
        order_by="SecurityIncidentEvent.id", cascade="all, delete-orphan", back_populates="incident",
    )


class SecurityIncidentEntry(Base):
    """A catalog entry of the incident's department that the incident affects."""

    __tablename__ = "security_incident_entry"
    __table_args__ = (UniqueConstraint("incident_id", "entry_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("security_incident.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id"), index=True)

    incident: Mapped[SecurityIncident] = relationship(back_populates="affected")
    entry: Mapped[Entry] = relationship()


class SecurityIncidentEvent(Base):
    """One step of an incident's handling, for its timeline: the report, the acknowledgement, a
    follow-up note (perhaps recording a later report to the police), the closing."""

    __tablename__ = "security_incident_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("security_incident.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor: Mapped[str] = mapped_column(String(100))  # the actor's display name at the time
    action: Mapped[str] = mapped_column(String(20))  # report | acknowledge | note | close
    note: Mapped[str] = mapped_column(Text, default="")

    incident: Mapped[SecurityIncident] = relationship(back_populates="events")
