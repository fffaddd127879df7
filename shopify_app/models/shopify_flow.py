"""Shopify Flow: which of our triggers each shop's enabled workflows use, and the action
requests Flow sent us.

`shopify_flow_triggers` is what Flow's lifecycle callback told us, one row per (shop, trigger
handle): a trigger is sent only to shops with an enabled workflow that starts with it.
`callback_at` is the callback's own timestamp, so an older callback arriving late never
overwrites a newer one.

`shopify_flow_actions` is one row per action run (`action_run_id` is Flow's id for one
execution of one action step, the same on every retry), unique per shop: a retried request
finds its row and records nothing new. The properties carry a Shopify customer id and the
message text, so they are sealed (the customer id is kept in the clear too, for
customers/redact to find and delete them); `outcome` says what the job made of the request.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .sealed import Sealed
from .types import BigIntFK, BigIntPK, UTCDateTime, str_enum, utcnow


class ShopifyFlowTrigger(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "shopify_flow_triggers"
    __table_args__ = (UniqueConstraint("shop_id", "handle", name="uq_shopify_flow_triggers_shop_id_handle"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))
    handle: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(default=False)
    callback_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ShopifyFlowActionState(enum.StrEnum):
    RECEIVED = "received"  # recorded and answered 200; the job has not finished it
    DONE = "done"  # the job finished it; `outcome` says how


class ShopifyFlowAction(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "shopify_flow_actions"
    __table_args__ = (
        UniqueConstraint("shop_id", "action_run_id", name="uq_shopify_flow_actions_shop_id_action_run_id"),
        Index("ix_shopify_flow_actions_shop_id_id", "shop_id", "id"),
        Index("ix_shopify_flow_actions_shop_id_shopify_customer_id", "shop_id", "shopify_customer_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))
    action_run_id: Mapped[str] = mapped_column(String(255))
    handle: Mapped[str] = mapped_column(String(64))
    # In the clear beside the sealed properties so customers/redact finds the customer's rows.
    shopify_customer_id: Mapped[int | None] = mapped_column(BigInteger)
    properties_ciphertext: Mapped[str] = mapped_column(Text)
    state: Mapped[ShopifyFlowActionState] = mapped_column(
        str_enum(ShopifyFlowActionState, 16), default=ShopifyFlowActionState.RECEIVED
    )
    outcome: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    properties = Sealed()  # the request's `properties`, as JSON text
