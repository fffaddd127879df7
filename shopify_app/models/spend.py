"""Spend controls: a shop's low-balance threshold, auto-recharge and per-cycle spend cap, the
state of its two alarms, and the alerts they raised.

Each alarm is armed until the balance falls below its line, then fired until the balance is
back at or above it: one alert (and one email, one auto-recharge) per crossing, never one per
check. `low_balance_crossings` and `recharge_crossings` number the crossings, and the alert
rows and the auto-recharge's usage charge are unique per crossing, so a check that runs twice
records and buys nothing twice.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigIntFK, BigIntPK, UTCDateTime, str_enum, utcnow


class SpendControl(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "spend_controls"
    __table_args__ = (UniqueConstraint("shop_id", name="uq_spend_controls_shop_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))
    # Read and written only through SpendSettingsSchema (services/billing/spend.py).
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    low_balance_fired: Mapped[bool] = mapped_column(default=False)
    low_balance_crossings: Mapped[int] = mapped_column(Integer, default=0)
    recharge_fired: Mapped[bool] = mapped_column(default=False)
    recharge_crossings: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SpendAlertKind(enum.StrEnum):
    LOW_BALANCE = "low_balance"  # the balance fell below the merchant's threshold
    RECHARGE_PAUSED = "recharge_paused"  # an auto-recharge would pass the usage cap: not bought


class SpendAlert(db.Model):  # type: ignore[name-defined,misc]
    """One per alarm crossing; open (the banner shows it) until the balance is back above."""

    __tablename__ = "spend_alerts"
    __table_args__ = (
        UniqueConstraint("shop_id", "kind", "crossing", name="uq_spend_alerts_shop_id_kind_crossing"),
        Index("ix_spend_alerts_shop_id_id", "shop_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))
    kind: Mapped[SpendAlertKind] = mapped_column(str_enum(SpendAlertKind, 32))
    crossing: Mapped[int] = mapped_column(Integer)
    balance: Mapped[int] = mapped_column(Integer)
    threshold: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why no email went (no SMTP configured, no contact address); NULL while one may still go.
    email_skipped: Mapped[str | None] = mapped_column(String(32))
