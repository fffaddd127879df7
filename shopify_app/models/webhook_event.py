"""Every Shopify webhook delivery, recorded once by its `X-Shopify-Webhook-Id`."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigIntFK, BigIntPK, UTCDateTime, str_enum, utcnow


class WebhookStatus(enum.StrEnum):
    RECEIVED = "received"
    PROCESSED = "processed"
    FAILED = "failed"


class WebhookEvent(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_status_received_at", "status", "received_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    # Nullable: events for unknown or already redacted shops are still recorded.
    shop_id: Mapped[int | None] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="SET NULL"), index=True)
    shop_domain: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(128))
    webhook_id: Mapped[str] = mapped_column(String(255), unique=True)
    event_id: Mapped[str | None] = mapped_column(String(255))
    api_version: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[WebhookStatus] = mapped_column(
        str_enum(WebhookStatus, 16),
        default=WebhookStatus.RECEIVED,
    )
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    # The raw body, AES-GCM encrypted (payloads carry customer PII); dropped once processed.
    payload_ciphertext: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
