"""A local-time campaign's cohorts: the recipients whose local send time falls at one instant.

A campaign sent "at 10:00 in each subscriber's time zone" snapshots its whole audience at
launch; the rows of a cohort whose instant is still ahead are written `deferred` until it,
ordered by instant so each cohort's messages are one contiguous id range of the campaign
(services/campaigns/local_time.py). The range is what the cohort's batches and figures read.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigIntFK, BigIntPK, UTCDateTime


class CampaignCohort(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "campaign_cohorts"
    __table_args__ = (Index("ix_campaign_cohorts_campaign_id_starts_at", "campaign_id", "starts_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("campaigns.id", ondelete="CASCADE"))
    # When its messages may go: the local send time in its zones (the launch, for zones whose
    # time had already come).
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    zones: Mapped[str] = mapped_column(Text)  # IANA names, comma-separated, sorted
    recipients: Mapped[int] = mapped_column(default=0)
    first_message_id: Mapped[int | None] = mapped_column(BigIntFK)
    last_message_id: Mapped[int | None] = mapped_column(BigIntFK)
