"""API quotas by tier (Art. 23). (Being written: the Bureau's numbers, the database and Redis
stores, usage.)"""

from __future__ import annotations

from sqlalchemy.orm import Session

from .models import User
from .realname import is_verified
from .vocab import DEPARTMENT_ROLES, Role

TIERS = ("anonymous", "registered", "verified", "department")
BULK_TIERS = frozenset({"verified", "department"})  # bulk and continuous services (Art. 23)


def tier_of(session: Session, user: User | None) -> str:
    if user is None:
        return "anonymous"
    if user.role in DEPARTMENT_ROLES or user.role in (Role.BUREAU, Role.REVIEWER, Role.AUDITOR):
        return "department"
    return "verified" if is_verified(session, user) else "registered"
