"""Numeric senders (phone numbers provisioned at Mitto) and which shop each belongs to.

A number belongs to at most one shop at a time, by the operator's assignment (`flask senders`,
`/ops/senders`), never by a merchant typing it into the settings. The assignment history keeps
every shop that held a number, so a STOP sent to a number no shop holds any more still reaches
each of them (services/inbound.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigIntFK, BigIntPK, UTCDateTime, utcnow


class SenderNumber(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "sender_numbers"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)  # E.164
    # NULL once released: the number stays known (and its history with it), owned by nobody.
    shop_id: Mapped[int | None] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="SET NULL"), index=True)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SenderAssignment(db.Model):  # type: ignore[name-defined,misc]
    """One row per period a shop held a number (released_at NULL: it still does)."""

    __tablename__ = "sender_assignments"
    __table_args__ = (Index("ix_sender_assignments_number_shop_id", "number", "shop_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    number: Mapped[str] = mapped_column(String(16))
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
