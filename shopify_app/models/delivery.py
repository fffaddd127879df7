"""Delivery reports from Mitto, recorded as they arrive (append-only), applied by a job."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigIntFK, BigIntPK, UTCDateTime, str_enum, utcnow


class DeliveryOutcome(enum.StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"
    PENDING = "pending"  # Pending, Sent, Buffered: no change
    OTHER = "other"  # recorded and ignored


class DeliveryEvent(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "delivery_events"
    __table_args__ = (
        Index("ix_delivery_events_provider_message_id", "provider_message_id"),
        Index("ix_delivery_events_applied_at_id", "applied_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int | None] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int | None] = mapped_column(BigIntFK, ForeignKey("messages.id", ondelete="SET NULL"))
    provider_message_id: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str | None] = mapped_column(String(64))  # ours (the message id) as the report carries it
    status: Mapped[str] = mapped_column(String(32))  # as Mitto spelt it, truncated
    outcome: Mapped[DeliveryOutcome] = mapped_column(str_enum(DeliveryOutcome))
    error_code: Mapped[str | None] = mapped_column(String(64))
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[str | None] = mapped_column(String(32))  # what applying it did
