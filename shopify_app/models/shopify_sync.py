"""The outbox of SMS consent changes on their way to Shopify's customer records.

A row is written in the transaction that changes the contact's consent (services/contacts.py
`apply_consent`), so a change is never lost between our commit and Shopify: a job sends it
after the commit, and a periodic sweep re-sends rows still pending (a restart, a flushed
Redis, an outage). Only a contact's newest row is ever sent; older pending ones are superseded.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigIntFK, BigIntPK, UTCDateTime, str_enum, utcnow


class ShopifySyncState(enum.StrEnum):
    """The contact's `shopify_sync`, as the merchant sees it."""

    PENDING = "pending"  # recorded, not yet in Shopify
    SYNCED = "synced"
    NOT_SYNCED = "not_synced"  # no Shopify customer, and the shop does not add subscribers
    FAILED = "failed"  # Shopify refused it (userErrors, a revoked token)


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    SUPERSEDED = "superseded"  # a newer change of the same contact was recorded before it went
    NOT_SYNCED = "not_synced"
    FAILED = "failed"


class ShopifyConsentSync(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "shopify_consent_syncs"
    __table_args__ = (
        Index("ix_shopify_consent_syncs_contact_id_id", "contact_id", "id"),
        Index("ix_shopify_consent_syncs_status_updated_at", "status", "updated_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("contacts.id", ondelete="CASCADE"))
    marketing_state: Mapped[str] = mapped_column(String(16))  # SUBSCRIBED | UNSUBSCRIBED
    opt_in_level: Mapped[str | None] = mapped_column(String(24))  # SINGLE_OPT_IN | CONFIRMED_OPT_IN
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[OutboxStatus] = mapped_column(str_enum(OutboxStatus, 16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    error: Mapped[str | None] = mapped_column(String(64))  # a code, never Shopify's message
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
