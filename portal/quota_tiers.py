"""API quota tiers (Art. 23): the numbers the Bureau edits, and which tier a caller is in.

- Tiers: anonymous (per client address), registered, verified (real name), department. Each has
  calls per minute, calls per day, bytes per day and the largest whole-resource export outside
  the bulk tiers (`BULK_TIERS`); `DEFAULTS` hold the numbers until the Bureau saves its own
  (`QuotaTier` rows, `set_tier_limits`, audited as quota:change). 0 means "no limit".
- `tier_of`: departments and the Bureau's roles are "department", a member of the public with an
  approved real-name verification "verified", any other account "registered", nobody "anonymous".
The counting against these numbers is `quotas`. No Flask.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .errors import Invalid
from .models import QuotaTier, User
from .realname import is_verified
from .vocab import DEPARTMENT_ROLES, N_, Role

TIERS = ("anonymous", "registered", "verified", "department")
BULK_TIERS = frozenset({"verified", "department"})  # bulk and continuous services (Art. 23)
TIER_LABELS = {
    "anonymous": N_("匿名访问（按来源地址）"),
    "registered": N_("注册用户"),
    "verified": N_("实名认证用户"),
    "department": N_("部门及区数据资源局"),
}
MB = 1 << 20
GB = 1 << 30


@dataclass(frozen=True)
class Limits:
    """One tier's numbers; 0 means no limit."""

    per_minute: int
    per_day: int
    bytes_per_day: int
    max_export_bytes: int = 0

    @property
    def unlimited(self) -> bool:
        return not (self.per_minute or self.per_day or self.bytes_per_day)


DEFAULTS: dict[str, Limits] = {
    "anonymous": Limits(per_minute=60, per_day=2_000, bytes_per_day=200 * MB, max_export_bytes=50 * MB),
    "registered": Limits(per_minute=120, per_day=10_000, bytes_per_day=1 * GB, max_export_bytes=100 * MB),
    "verified": Limits(per_minute=600, per_day=100_000, bytes_per_day=20 * GB),
    "department": Limits(per_minute=1_200, per_day=1_000_000, bytes_per_day=100 * GB),
}
CEILINGS = {"per_minute": 1_000_000, "per_day": 2_000_000_000, "bytes_per_day": 1 << 50, "max_export_bytes": 1 << 50}


def tier_of(session: Session, user: User | None) -> str:
    if user is None:
        return "anonymous"
    if user.role in DEPARTMENT_ROLES or user.role in (Role.BUREAU, Role.REVIEWER, Role.AUDITOR):
        return "department"
    return "verified" if is_verified(session, user) else "registered"


def tier_limits(session: Session) -> dict[str, Limits]:
    """Every tier's numbers: the Bureau's where saved, else the defaults."""
    limits = dict(DEFAULTS)
    for row in session.scalars(select(QuotaTier)):
        if row.tier in limits:
            limits[row.tier] = Limits(row.per_minute, row.per_day, row.bytes_per_day, row.max_export_bytes)
    return limits


def tier_changes(session: Session) -> dict[str, QuotaTier]:
    """The saved rows by tier (who changed the numbers, when)."""
    return {row.tier: row for row in session.scalars(select(QuotaTier))}


def set_tier_limits(session: Session, tier: str, limits: Limits, *, actor: User | None, now: datetime, actor_name: str = "") -> bool:
    """Save the Bureau's numbers for `tier`; False when nothing changed. Audited as quota:change."""
    if tier not in TIERS:
        raise Invalid({"tier": N_("没有这一配额等级")})
    errors = {
        name: N_("请填写不超过上限的非负整数（0 表示不限）")
        for name, ceiling in CEILINGS.items()
        if not isinstance(getattr(limits, name), int) or not 0 <= getattr(limits, name) <= ceiling
    }
    if errors:
        raise Invalid(errors)
    before = tier_limits(session)[tier]
    if before == limits:
        return False
    row = session.get(QuotaTier, tier) or QuotaTier(tier=tier)
    row.per_minute, row.per_day = limits.per_minute, limits.per_day
    row.bytes_per_day, row.max_export_bytes = limits.bytes_per_day, limits.max_export_bytes
    row.changed_at = now
    row.changed_by = (actor.username if actor else actor_name or "系统")[:100]
    session.add(row)
    audit.record(session, action="quota:change", actor=actor, actor_name=actor_name, now=now, target=tier,
                 details={"before": asdict(before), "after": asdict(limits)})
    session.flush()
    return True
