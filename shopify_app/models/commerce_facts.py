"""What contacts bought, for segments: products and discount codes per contact, the products the
shop's orders named (the segment editor's picker), and the backfill of past orders.

A contact's order count, total spent and first/last order live on `contacts` (segment counts
read them from the covering index); these small tables hold the many-valued facts, shaped like
`contact_tags`: one row per (contact, value), read by `(shop_id, value, contact_id)`.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigIntFK, BigIntPK, UTCDateTime, str_enum, utcnow


class ContactProduct(db.Model):  # type: ignore[name-defined,misc]
    """The contact bought the product (at least once, in an order we saw)."""

    __tablename__ = "contact_products"
    __table_args__ = (
        Index("ix_contact_products_shop_id_product_id_contact_id", "shop_id", "product_id", "contact_id"),
    )

    contact_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    product_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))


class ContactDiscountCode(db.Model):  # type: ignore[name-defined,misc]
    """The contact used the discount code (upper-cased: Shopify's codes are case-insensitive)."""

    __tablename__ = "contact_discount_codes"
    __table_args__ = (Index("ix_contact_discount_codes_shop_id_code_contact_id", "shop_id", "code", "contact_id"),)

    contact_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(String(255), primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))


class SeenProduct(db.Model):  # type: ignore[name-defined,misc]
    """A product some order of the shop named, with its latest title: what the picker searches.
    Catalogue data, not a person's: it stays when a customer is erased."""

    __tablename__ = "seen_products"

    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True)
    product_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class BackfillStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


# One backfill at a time per shop: a second start finds the first (the index settles a race).
ONE_ORDER_BACKFILL = "status IN ('queued', 'running')"


class OrderBackfill(db.Model):  # type: ignore[name-defined,misc]
    """Past orders pulled from the Admin API page by page; `cursor` is where the next page starts,
    so a job that dies resumes there, and orders met twice are recorded once."""

    __tablename__ = "order_backfills"
    __table_args__ = (
        Index(
            "uq_order_backfills_shop_id_running",
            "shop_id",
            unique=True,
            postgresql_where=text(ONE_ORDER_BACKFILL),
            sqlite_where=text(ONE_ORDER_BACKFILL),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    status: Mapped[BackfillStatus] = mapped_column(str_enum(BackfillStatus, 16), default=BackfillStatus.QUEUED)
    created_from: Mapped[datetime] = mapped_column(UTCDateTime)  # orders created at or after this
    created_to: Mapped[datetime] = mapped_column(UTCDateTime)  # and before this (newer: webhooks')
    cursor: Mapped[str | None] = mapped_column(Text)
    pages: Mapped[int] = mapped_column(default=0)
    orders_seen: Mapped[int] = mapped_column(default=0)
    orders_added: Mapped[int] = mapped_column(default=0)
    failures: Mapped[int] = mapped_column(default=0)  # transient failures in a row
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


MAX_CODE_LENGTH = 255


def normalise_code(raw: object) -> str | None:
    """A discount code as stored and as filtered on: trimmed, upper-cased (Shopify's codes are
    case-insensitive); None when there is none."""
    if not isinstance(raw, str):
        return None
    return raw.strip().upper()[:MAX_CODE_LENGTH] or None
