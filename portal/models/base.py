"""The declarative base and the column types every table module uses: aware UTC times
(`UTCDateTime`) and vocabulary columns (`choice`)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import DateTime, Enum, TypeDecorator
from sqlalchemy.orm import DeclarativeBase


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; pass an aware UTC time")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


def choice(enum: type) -> Enum:
    return Enum(enum, native_enum=False, create_constraint=False, length=32, values_callable=lambda e: [m.value for m in e])


class Base(DeclarativeBase):
    pass
