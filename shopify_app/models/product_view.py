"""Product pages an identified shopper viewed, as the web pixel reported them
(`extensions/sms-blossom-pixel`, intake in services/pixel/intake.py).

A row exists only for a contact of the shop: the pixel's report named a logged-in customer the
shop's contacts know, or carried the signed browse token our short links add. No address, no
user agent, no query string: the product, the path and the time. `event_id` is the pixel's own
event id, unique per shop, so a report sent twice is stored once. `triggered_at` is when the
browse-abandonment sweep settled the view (a flow started, or the shopper had ordered the
product since): a settled view is never looked at again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigIntFK, BigIntPK, UTCDateTime, utcnow


class ProductView(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "product_views"
    __table_args__ = (
        UniqueConstraint("shop_id", "event_id", name="uq_product_views_shop_id_event_id"),
        # The sweep: a shop's views not yet settled, oldest first.
        Index("ix_product_views_shop_id_triggered_at_viewed_at", "shop_id", "triggered_at", "viewed_at"),
        Index("ix_product_views_contact_id", "contact_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("contacts.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(BigInteger)
    variant_id: Mapped[int | None] = mapped_column(BigInteger)
    product_title: Mapped[str] = mapped_column(String(255))  # the pixel's, unverified: never in a text
    url_path: Mapped[str] = mapped_column(String(512))  # the path alone: a query can carry anything
    event_id: Mapped[str] = mapped_column(String(64))
    viewed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    triggered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
