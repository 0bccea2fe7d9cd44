"""(being written)"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from .work import Task
from .workdays import Calendar


def tasks(session: Session, calendar: Calendar, today: date) -> list[Task]:
    return []
