"""A/B tests of broadcast campaigns: the other bodies a campaign tries, and the test itself.

Variant A is always the campaign's own `body`; `campaign_variants` holds B, C and D. At launch
a share of the audience is split evenly among the variants (`messages.variant` records each
recipient's), the rest wait `deferred` with no `defer_until` (nothing sends them) until the
test is decided, once (`ab_tests.decided_at`), and then get the winner's body.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigIntFK, BigIntPK, UTCDateTime, str_enum, utcnow

VARIANT_LABELS = ("A", "B", "C", "D")


class AbMetric(enum.StrEnum):
    CLICKS = "clicks"  # recipients who clicked a link, per recipient sent
    ORDERS = "orders"  # recipients with an attributed order, per recipient sent
    REVENUE = "revenue"  # attributed revenue per recipient sent


class AbDecision(enum.StrEnum):
    AUTO = "auto"  # the periodic job sends the leader to the rest when the wait ends
    MANUAL = "manual"  # the rest wait until the merchant picks


class CampaignVariant(db.Model):  # type: ignore[name-defined,misc]
    """One of the other bodies (B, C, D) of an A/B-tested campaign."""

    __tablename__ = "campaign_variants"
    __table_args__ = (UniqueConstraint("campaign_id", "label", name="uq_campaign_variants_campaign_id_label"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("campaigns.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(1))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AbTest(db.Model):  # type: ignore[name-defined,misc]
    """A campaign's test: its settings, and once decided, the winner and the figures it was
    decided on (`results`, frozen then: afterwards the winner's label also marks the rest)."""

    __tablename__ = "ab_tests"
    __table_args__ = (
        UniqueConstraint("campaign_id", name="uq_ab_tests_campaign_id"),
        Index("ix_ab_tests_decided_at_decide_at", "decided_at", "decide_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("campaigns.id", ondelete="CASCADE"))
    test_share: Mapped[int] = mapped_column(SmallInteger)  # percent of the audience in the test
    metric: Mapped[AbMetric] = mapped_column(str_enum(AbMetric))
    wait_hours: Mapped[int] = mapped_column(SmallInteger)
    decision: Mapped[AbDecision] = mapped_column(str_enum(AbDecision, 8), default=AbDecision.AUTO)
    # Set at launch: launched_at + wait_hours (the automatic decision's time).
    decide_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    test_recipients: Mapped[int | None] = mapped_column()  # the launch's split
    held_recipients: Mapped[int | None] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    winner: Mapped[str | None] = mapped_column(String(1))
    decided_by: Mapped[str | None] = mapped_column(String(64))  # "auto" or "user:<id>"
    results: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
