"""Column types shared by every model."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect, Enum, Integer
from sqlalchemy.types import TypeDecorator

# BIGINT on PostgreSQL; SQLite only auto-increments a column declared exactly INTEGER.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")
# Foreign keys to those ids use the same type on each backend.
BigIntFK = BigIntPK


def str_enum(cls: type[enum.StrEnum], length: int = 16) -> Enum:
    """A Python StrEnum stored as its string values in a VARCHAR (no native DB enum to migrate)."""
    return Enum(cls, native_enum=False, length=length, values_callable=lambda members: [m.value for m in members])


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
