"""IT projects paid from the fiscal budget (信息化项目, Art. 9) and their pre-compiled data
resource catalogs (`portal.it_projects`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime
from .catalog import Department, Entry


class ItProject(Base):
    """A department's IT project paid from the fiscal budget (Art. 9). Before its approval the
    department pre-compiles the project's data resource catalog — entries of its own, linked
    here — which the Bureau checks as a condition of approval; at acceptance every one of those
    entries must have been published."""

    __tablename__ = "it_project"

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(60), default="")  # the project's number in the approval system, if any
    summary: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(20), index=True)  # registered | approved | accepted
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    approval_reference: Mapped[str] = mapped_column(String(100), default="")  # 立项批复文号
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    acceptance_reference: Mapped[str] = mapped_column(String(100), default="")  # 验收意见文号

    department: Mapped[Department] = relationship()
    links: Mapped[list[ItProjectEntry]] = relationship(order_by="ItProjectEntry.id", cascade="all, delete-orphan", back_populates="project")

    @property
    def entries(self) -> list[Entry]:
        return [link.entry for link in self.links]


class ItProjectEntry(Base):
    """One entry of a project's pre-compiled catalog."""

    __tablename__ = "it_project_entry"
    __table_args__ = (UniqueConstraint("project_id", "entry_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("it_project.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id"), index=True)

    project: Mapped[ItProject] = relationship(back_populates="links")
    entry: Mapped[Entry] = relationship()
