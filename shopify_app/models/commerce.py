"""Orders and checkouts from Shopify webhooks: what automations and attribution need."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .sealed import Sealed
from .types import BigIntFK, BigIntPK, UTCDateTime, utcnow


class Order(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("shop_id", "shopify_order_id", name="uq_orders_shop_id_shopify_order_id"),
        Index("ix_orders_shop_id_contact_id", "shop_id", "contact_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))
    shopify_order_id: Mapped[int] = mapped_column(BigInteger)
    contact_id: Mapped[int | None] = mapped_column(BigIntFK, ForeignKey("contacts.id", ondelete="SET NULL"))
    shopify_customer_id: Mapped[int | None] = mapped_column(BigInteger)
    checkout_token: Mapped[str | None] = mapped_column(String(255))
    total_price: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    currency: Mapped[str | None] = mapped_column(String(3))
    ordered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Checkout(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "checkouts"
    __table_args__ = (
        UniqueConstraint("shop_id", "token", name="uq_checkouts_shop_id_token"),
        Index("ix_checkouts_shop_id_completed_at", "shop_id", "completed_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(255))
    shopify_checkout_id: Mapped[int | None] = mapped_column(BigInteger)
    contact_id: Mapped[int | None] = mapped_column(BigIntFK, ForeignKey("contacts.id", ondelete="SET NULL"))
    shopify_customer_id: Mapped[int | None] = mapped_column(BigInteger)
    # The recovery URL carries a secret key to the shopper's cart: sealed like PII.
    abandoned_checkout_url_ciphertext: Mapped[str | None] = mapped_column(Text)
    total_price: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    currency: Mapped[str | None] = mapped_column(String(3))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checkout_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    abandoned_checkout_url = Sealed()
