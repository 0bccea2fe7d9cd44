"""Real-name verification (Art. 23). (Being written: submission, the Bureau's decision,
encryption of ID numbers.)"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import RealNameVerification, User


def is_verified(session: Session, user: User | None) -> bool:
    """Whether `user` holds an approved real-name verification."""
    if user is None:
        return False
    return session.scalar(
        select(RealNameVerification.id).where(RealNameVerification.user_id == user.id, RealNameVerification.state == "approved").limit(1)
    ) is not None
