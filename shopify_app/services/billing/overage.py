"""Capped overage: the credits a launch lacks, bought through the subscription's usage line item
(`appUsageRecordCreate`, one idempotency key per launch), never past the plan's cap.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import func, select

from ...errors import PaymentRequired
from ...extensions import db
from ...models import Shop, UsageCharge
from ...models.types import utcnow
from . import credits
from .plans import plan_for
from .shopify_billing import USAGE_RECORD_CREATE, money, mutation
from .subscriptions import current_cycle, usage_line_item

log = structlog.get_logger(__name__)


def overage_used(shop: Shop, since: datetime) -> Decimal:
    used = db.session.scalar(
        select(func.coalesce(func.sum(UsageCharge.amount), 0)).where(
            UsageCharge.shop_id == shop.id,
            UsageCharge.subscription_id == (shop.subscription_id or ""),
            UsageCharge.created_at >= since,
        )
    )
    return Decimal(str(used or 0))


def buy_overage(*, shop: Shop, needed: int, available: int, key: str) -> bool:
    """Buy the `needed` credits the balance lacks through the usage line item, under the cap.

    The charge is recorded (shop row locked, cap checked against every recorded charge) and
    committed *before* Shopify is called, under an idempotency key per launch: a retry after a
    lost answer or a crash replays the same amount with the same key (Shopify returns the same
    record) and grants the same credits once. Raises PaymentRequired with the figures when the
    plan has no overage or the cap would be passed."""
    plan = plan_for(shop)
    line_item = usage_line_item(shop)
    details: dict[str, Any] = {"required": available + needed, "available": available, "plan": plan.key}
    if plan.overage_cap <= 0 or line_item is None:
        raise PaymentRequired("Not enough credits: buy a credit pack or choose a plan with overage.", details=details)
    idempotency_key = key[:64]
    credits.lock_shop(shop.id)
    charge = db.session.scalar(
        select(UsageCharge).where(UsageCharge.shop_id == shop.id, UsageCharge.idempotency_key == idempotency_key)
    )
    if charge is None:
        amount = (plan.price_per_extra_credit * needed).quantize(Decimal("0.01"))
        _cycle, start = current_cycle(shop, utcnow())
        used = overage_used(shop, start)
        if used + amount > plan.overage_cap:
            details["overage"] = {"cap": str(plan.overage_cap), "used": str(used), "needed": str(amount)}
            raise PaymentRequired("Not enough credits, and this would pass the plan's overage cap.", details=details)
        charge = UsageCharge(
            shop_id=shop.id,
            idempotency_key=idempotency_key,
            subscription_id=shop.subscription_id or "",
            amount=amount,
            credits=needed,
            period_start=start,
        )
        db.session.add(charge)
    db.session.commit()  # recorded before the call: the cap counts it, a retry reuses it
    data = mutation(
        shop,
        USAGE_RECORD_CREATE,
        {
            "subscriptionLineItemId": line_item,
            "price": money(Decimal(str(charge.amount))),
            "description": f"{charge.credits:,} SMS credits beyond the plan",
            "idempotencyKey": idempotency_key,
        },
        "appUsageRecordCreate",
    )
    charge.usage_record_id = (data.get("appUsageRecord") or {}).get("id")
    credits.grant(shop_id=shop.id, amount=charge.credits, key=f"usage:{idempotency_key}", note="overage")
    db.session.commit()
    log.info("overage_bought", shop_id=shop.id, credits=charge.credits)
    return True
