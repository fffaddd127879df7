"""A merchant's test of a campaign: one text to their own phone before the launch.

The text goes through the send path as a message of the shop's hidden `test` carrier campaign
(`campaigns.kind`), with no contact: the number it goes to, and what it says (the campaign's
body at the time of the request and the sample values it is rendered with), are this row's
sealed `context`. The phone's keyed hash finds the row for a customer's erasure.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .sealed import Sealed
from .types import BigIntFK, BigIntPK, UTCDateTime, utcnow


class TestSend(db.Model):  # type: ignore[name-defined,misc]
    __test__ = False  # not a pytest test class, whatever its name says
    __tablename__ = "test_sends"
    __table_args__ = (
        UniqueConstraint("shop_id", "idempotency_key", name="uq_test_sends_shop_id_idempotency_key"),
        UniqueConstraint("message_id", name="uq_test_sends_message_id"),
        Index("ix_test_sends_shop_id_created_at", "shop_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))
    # The campaign tested; the test stays (and counts toward the day's limit) if it is deleted.
    campaign_id: Mapped[int | None] = mapped_column(BigIntFK, ForeignKey("campaigns.id", ondelete="SET NULL"))
    # No foreign key, as messages have none to theirs (migration 0011).
    message_id: Mapped[int] = mapped_column(BigInteger)
    idempotency_key: Mapped[str] = mapped_column(String(100))
    phone_hash: Mapped[str] = mapped_column(String(64))
    # Sealed JSON: {"phone", "country_code", "body", "values"}.
    context_ciphertext: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    context = Sealed()
