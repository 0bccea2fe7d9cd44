"""Access to data services: real-name verification, API keys, quota tiers and usage counters."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..vocab import AccountKind
from .base import Base, UTCDateTime, choice

if TYPE_CHECKING:
    from .catalog import User


class RealNameVerification(Base):
    """A user's real-name verification (Art. 23), decided by the Bureau (`realname`). An
    individual gives a name and an 18-digit ID number, an organisation its name, unified social
    credit code and a contact person. The ID number is stored only encrypted (`id_number_token`,
    key from the environment) and shown only masked (`id_number_masked`); `identity_digest`, a
    keyed hash of the ID number or credit code, lets one number verify only one account ("" on
    applications made before it existed)."""

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
    identity_digest: Mapped[str] = mapped_column(String(64), index=True, default="", server_default="")  # realname_numbers.identity_digest
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
