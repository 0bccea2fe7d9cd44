"""Open-data plans and their items (Art. 17), data application competitions with their
datasets, judges, entries and scores, and showcases of what was built on the open data
(Art. 19)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..vocab import OpenType
from .base import Base, UTCDateTime, choice

if TYPE_CHECKING:
    from .catalog import Department, Entry, User


class Plan(Base):
    """A department's open-data plan for a year (Art. 17): an annual work plan (`annual`) or an
    open-data action plan (`action`). Drafted by the department, approved and published by the
    Bureau (`plans`); its progress is computed from the catalog, never typed in."""

    __tablename__ = "plan"
    __table_args__ = (UniqueConstraint("department_id", "year", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10), default="annual")  # annual | action
    title: Mapped[str] = mapped_column(String(200))
    goals: Mapped[str] = mapped_column(Text, default="")  # Markdown
    state: Mapped[str] = mapped_column(String(20), index=True)  # draft | submitted | returned | approved | published
    version: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(Text, default="")  # why the Bureau returned it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    department: Mapped[Department] = relationship()
    items: Mapped[list[PlanItem]] = relationship(order_by="PlanItem.position", cascade="all, delete-orphan", back_populates="plan")


class PlanItem(Base):
    """One item of a plan: a catalog entry (existing, or to be created: then `planned_title`
    until an entry is linked), the open type it is to reach and by when. Done when the entry is
    released to the open catalog with that open type (`plans.progress`)."""

    __tablename__ = "plan_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entry.id", ondelete="SET NULL"), index=True)
    planned_title: Mapped[str] = mapped_column(String(200), default="")
    target_open_type: Mapped[OpenType] = mapped_column(choice(OpenType))
    target_date: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")

    plan: Mapped[Plan] = relationship(back_populates="items")
    entry: Mapped[Entry | None] = relationship()


class Competition(Base):
    """A data application competition run by the Bureau (Art. 19): theme, period, rules, the
    datasets offered, prizes, judges; entries are scored and the results published."""

    __tablename__ = "competition"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    theme: Mapped[str] = mapped_column(Text, default="")
    rules: Mapped[str] = mapped_column(Text, default="")  # Markdown
    prizes: Mapped[str] = mapped_column(Text, default="")  # Markdown
    opens_on: Mapped[date] = mapped_column(Date)  # entries accepted from
    closes_on: Mapped[date] = mapped_column(Date)  # entries accepted until (inclusive)
    state: Mapped[str] = mapped_column(String(20), index=True)  # draft | published | judging | results
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    results_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    datasets: Mapped[list[CompetitionDataset]] = relationship(cascade="all, delete-orphan", order_by="CompetitionDataset.id")
    judges: Mapped[list[CompetitionJudge]] = relationship(cascade="all, delete-orphan", order_by="CompetitionJudge.id")


class CompetitionDataset(Base):
    """A catalog entry a competition offers to its entrants."""

    __tablename__ = "competition_dataset"
    __table_args__ = (UniqueConstraint("competition_id", "entry_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competition.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)

    entry: Mapped[Entry] = relationship()


class CompetitionJudge(Base):
    """A user who scores a competition's entries."""

    __tablename__ = "competition_judge"
    __table_args__ = (UniqueConstraint("competition_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competition.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)

    user: Mapped[User] = relationship()


class CompetitionEntry(Base):
    """A registered user's or a team's entry (参赛作品) to a competition, linking the catalog
    entries it uses; `award` and `rank` are set when the results are published."""

    __tablename__ = "competition_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competition.id", ondelete="CASCADE"), index=True)
    leader_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    team_name: Mapped[str] = mapped_column(String(100), default="")
    members: Mapped[str] = mapped_column(Text, default="")  # the team's other members, as they give them
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")  # Markdown
    url: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(20), default="submitted")  # submitted | withdrawn
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rank: Mapped[int | None] = mapped_column(Integer)
    award: Mapped[str] = mapped_column(String(100), default="")

    leader: Mapped[User] = relationship()
    entries: Mapped[list[Entry]] = relationship(secondary="competition_entry_dataset", order_by="Entry.id", viewonly=True)


class CompetitionEntryDataset(Base):
    """A catalog entry that a competition entry uses."""

    __tablename__ = "competition_entry_dataset"
    __table_args__ = (UniqueConstraint("competition_entry_id", "entry_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_entry_id: Mapped[int] = mapped_column(ForeignKey("competition_entry.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)


class CompetitionScore(Base):
    """One judge's score (0–100) of one competition entry; a judge scores an entry once and may
    change it until the results are published."""

    __tablename__ = "competition_score"
    __table_args__ = (UniqueConstraint("competition_entry_id", "judge_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_entry_id: Mapped[int] = mapped_column(ForeignKey("competition_entry.id", ondelete="CASCADE"), index=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Showcase(Base):
    """成果展示: an app, analysis or visualisation built on the open data, submitted by a
    registered user, linking the entries it uses, moderated by the Bureau (`showcases`)."""

    __tablename__ = "showcase"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # app | analysis | visualisation
    description: Mapped[str] = mapped_column(Text, default="")  # Markdown
    url: Mapped[str] = mapped_column(Text, default="")
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    state: Mapped[str] = mapped_column(String(20), index=True)  # pending | approved | rejected | withdrawn
    version: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    submitted_by: Mapped[User] = relationship(foreign_keys=[submitted_by_id])
    entries: Mapped[list[Entry]] = relationship(secondary="showcase_entry", order_by="Entry.id", viewonly=True)


class ShowcaseEntry(Base):
    """A catalog entry that a showcase uses."""

    __tablename__ = "showcase_entry"
    __table_args__ = (UniqueConstraint("showcase_id", "entry_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    showcase_id: Mapped[int] = mapped_column(ForeignKey("showcase.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)
