"""Automations (welcome, abandoned checkout, ...), their runs, and back-in-stock requests.

An automation sends through a hidden carrier campaign of its own (`campaigns.kind` is not
`broadcast`), so every run goes through the one send path: consent, quiet hours, caps, credits,
rate limits and exactly-once. A run is unique per (automation, contact, trigger): a webhook
delivered twice or a tick that runs twice finds the run already there and sends nothing.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .sealed import Sealed
from .types import BigIntFK, BigIntPK, UTCDateTime, str_enum, utcnow


class AutomationKind(enum.StrEnum):
    WELCOME = "welcome"
    ABANDONED_CHECKOUT = "abandoned_checkout"
    ORDER_CONFIRMATION = "order_confirmation"
    SHIPPING_UPDATE = "shipping_update"
    BIRTHDAY = "birthday"
    BACK_IN_STOCK = "back_in_stock"
    WIN_BACK = "win_back"
    INBOX_REPLY = "inbox_reply"  # internal: the merchant's answers from the inbox
    KEYWORD_REPLY = "keyword_reply"  # internal: the answers to STOP, START, HELP, the join keyword
    OPT_IN = "opt_in_confirmation"  # internal: a storefront sign-up's double opt-in text
    FLOW_STEP = "flow_step"  # a send step of a flow (models/flow.py); many per shop
    SHOPIFY_FLOW = "shopify_flow"  # internal: texts a merchant's Shopify Flow workflow sends


SINGLE_KIND = "kind <> 'flow_step'"


class Automation(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "automations"
    # One automation of each kind per shop, except flow steps (a flow has as many as it sends).
    __table_args__ = (
        Index(
            "uq_automations_shop_id_kind",
            "shop_id",
            "kind",
            unique=True,
            postgresql_where=text(SINGLE_KIND),
            sqlite_where=text(SINGLE_KIND),
        ),
        Index("ix_automations_flow_id", "flow_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))
    kind: Mapped[AutomationKind] = mapped_column(str_enum(AutomationKind, 32))
    enabled: Mapped[bool] = mapped_column(default=False)
    body: Mapped[str] = mapped_column(Text)
    template_id: Mapped[int | None] = mapped_column(BigIntFK, ForeignKey("templates.id", ondelete="SET NULL"))
    delay_minutes: Mapped[int] = mapped_column(Integer, default=0)
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    campaign_id: Mapped[int | None] = mapped_column(BigIntFK, ForeignKey("campaigns.id", ondelete="SET NULL"))
    # The shop-local date a daily automation (birthday, win-back) last ran, e.g. "2026-11-27".
    last_daily_run: Mapped[str | None] = mapped_column(String(10))
    # A flow's send step: its flow and step id (no foreign key: flows point here already).
    flow_id: Mapped[int | None] = mapped_column(BigInteger)
    flow_step: Mapped[str | None] = mapped_column(String(32))
    # Set when its flow moved to the step engine: no new runs; the pending ones still send.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RunState(enum.StrEnum):
    PENDING = "pending"  # waiting for its due time
    QUEUED = "queued"  # a message row exists; the send path owns it now
    CANCELLED = "cancelled"  # the reason went away (the order arrived, consent withdrawn)


class AutomationRun(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "automation_runs"
    __table_args__ = (
        UniqueConstraint(
            "automation_id", "contact_id", "trigger_key", name="uq_automation_runs_automation_id_contact_id_trigger_key"
        ),
        Index("ix_automation_runs_state_due_at", "state", "due_at"),
        Index("ix_automation_runs_shop_id_id", "shop_id", "id"),
        Index("ix_automation_runs_contact_id", "contact_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))
    automation_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("automations.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("contacts.id", ondelete="CASCADE"))
    trigger_key: Mapped[str] = mapped_column(String(128))
    state: Mapped[RunState] = mapped_column(str_enum(RunState, 16), default=RunState.PENDING)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Per-run template values (recovery URL, tracking link, a reply's text): sealed JSON.
    context_ciphertext: Mapped[str | None] = mapped_column(Text)
    cancel_reason: Mapped[str | None] = mapped_column(String(64))
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    context = Sealed()


class StockLevel(db.Model):  # type: ignore[name-defined,misc]
    """The last known `available` per inventory item and location (inventory_levels/update)."""

    __tablename__ = "stock_levels"
    __table_args__ = (
        UniqueConstraint(
            "shop_id", "inventory_item_id", "location_id", name="uq_stock_levels_shop_id_inventory_item_id_location_id"
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))
    inventory_item_id: Mapped[int] = mapped_column(BigInteger)
    location_id: Mapped[int] = mapped_column(BigInteger)
    available: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class StockRequestState(enum.StrEnum):
    WAITING = "waiting"
    NOTIFIED = "notified"


class BackInStockRequest(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "back_in_stock_requests"
    __table_args__ = (
        UniqueConstraint("shop_id", "contact_id", "variant_id", name="uq_back_in_stock_requests_shop_contact_variant"),
        Index("ix_back_in_stock_requests_shop_id_variant_id_state", "shop_id", "variant_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("contacts.id", ondelete="CASCADE"))
    variant_id: Mapped[int] = mapped_column(BigInteger)
    product_title: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[StockRequestState] = mapped_column(str_enum(StockRequestState, 16), default=StockRequestState.WAITING)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
