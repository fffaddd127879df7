"""Billing records: one-time credit purchases and usage (overage) charges made through Shopify."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigIntFK, BigIntPK, UTCDateTime, str_enum, utcnow


class PurchaseStatus(enum.StrEnum):
    PENDING = "pending"  # created; the merchant has not approved it yet
    ACTIVE = "active"  # Shopify confirmed it: credits granted
    DECLINED = "declined"
    EXPIRED = "expired"


class CreditPurchase(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "credit_purchases"
    __table_args__ = (UniqueConstraint("charge_id", name="uq_credit_purchases_charge_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    charge_id: Mapped[str] = mapped_column(String(255))  # gid://shopify/AppPurchaseOneTime/...
    pack: Mapped[str] = mapped_column(String(32))
    credits: Mapped[int] = mapped_column(Integer)
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    status: Mapped[PurchaseStatus] = mapped_column(str_enum(PurchaseStatus, 16), default=PurchaseStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    granted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UsageCharge(db.Model):  # type: ignore[name-defined,misc]
    """An overage charge (appUsageRecordCreate) and the credits it bought; unique per key."""

    __tablename__ = "usage_charges"
    __table_args__ = (UniqueConstraint("shop_id", "idempotency_key", name="uq_usage_charges_shop_id_idempotency_key"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    subscription_id: Mapped[str] = mapped_column(String(255))
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    credits: Mapped[int] = mapped_column(Integer)
    usage_record_id: Mapped[str | None] = mapped_column(String(255))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AppSubscription(db.Model):  # type: ignore[name-defined,misc]
    """Every subscription we asked Shopify for: its plan and usage line item, needed when the
    `app_subscriptions/update` webhook activates it (the webhook does not carry line items)."""

    __tablename__ = "app_subscriptions"
    __table_args__ = (UniqueConstraint("subscription_id", name="uq_app_subscriptions_subscription_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    subscription_id: Mapped[str] = mapped_column(String(255))
    plan: Mapped[str] = mapped_column(String(32))
    usage_line_item_id: Mapped[str | None] = mapped_column(String(255))
    # The usage line item's capped amount as Shopify last reported it (`app_subscriptions/update`),
    # raised past the plan's by the merchant's approval (services/billing/usage_cap.py).
    capped_amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    status: Mapped[str] = mapped_column(String(32), default="PENDING")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
