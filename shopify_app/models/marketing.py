"""Discount codes, short links with their clicks, and order attribution."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .sealed import Sealed
from .types import BigIntFK, BigIntPK, UTCDateTime, str_enum, utcnow


class DiscountKind(enum.StrEnum):
    SHARED = "shared"  # one code for everyone
    UNIQUE = "unique"  # one code per recipient, added to the Shopify discount at launch


class DiscountValueType(enum.StrEnum):
    PERCENTAGE = "percentage"
    FIXED_AMOUNT = "fixed_amount"


class Discount(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "discounts"
    __table_args__ = (
        UniqueConstraint("shop_id", "title", name="uq_discounts_shop_id_title"),
        Index("ix_discounts_shop_id_id", "shop_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(120))
    kind: Mapped[DiscountKind] = mapped_column(str_enum(DiscountKind, 16))
    code: Mapped[str] = mapped_column(String(32))  # the shared code, or the unique codes' prefix
    value_type: Mapped[DiscountValueType] = mapped_column(str_enum(DiscountValueType, 16))
    value: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shopify_id: Mapped[str | None] = mapped_column(String(255))  # gid://shopify/DiscountCodeNode/...
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ShortLink(db.Model):  # type: ignore[name-defined,misc]
    """`SHOPIFY_APP_URL/r/<code>` for one URL of one message; the target is sealed (a cart
    recovery URL is a key to the shopper's cart)."""

    __tablename__ = "short_links"
    __table_args__ = (
        UniqueConstraint("code", name="uq_short_links_code"),
        Index("ix_short_links_message_id", "message_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    code: Mapped[str] = mapped_column(String(16))
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))
    campaign_id: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    contact_id: Mapped[int | None] = mapped_column(BigInteger)
    url_ciphertext: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    url = Sealed()


class Click(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "clicks"
    __table_args__ = (
        Index("ix_clicks_shop_id_contact_id_clicked_at", "shop_id", "contact_id", "clicked_at"),
        Index("ix_clicks_campaign_id", "campaign_id"),
        Index("ix_clicks_shop_id_clicked_at", "shop_id", "clicked_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))
    short_link_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("short_links.id", ondelete="CASCADE"))
    campaign_id: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    contact_id: Mapped[int | None] = mapped_column(BigInteger)
    clicked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_agent: Mapped[str | None] = mapped_column(String(255))
    ip_hash: Mapped[str | None] = mapped_column(String(64))  # keyed hash, never the address


class AttributionKind(enum.StrEnum):
    CLICK = "click"
    VIEW = "view"  # view-through: a message received shortly before the order


class Attribution(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "attributions"
    __table_args__ = (
        UniqueConstraint("order_id", name="uq_attributions_order_id"),
        Index("ix_attributions_campaign_id", "campaign_id"),
        Index("ix_attributions_shop_id_attributed_at", "shop_id", "attributed_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("orders.id", ondelete="CASCADE"))
    campaign_id: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    contact_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[AttributionKind] = mapped_column(str_enum(AttributionKind, 16))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    attributed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
