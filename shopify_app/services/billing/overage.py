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
from . import credits, spend_cap
from .cycles import current_cycle
from .plans import plan_for
from .shopify_billing import USAGE_RECORD_CREATE, money, mutation
from .subscriptions import usage_line_item
from .usage_cap import usage_cap

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


class UsageCapReached(Exception):
    """The usage line item's capped amount for this cycle cannot take the charge."""

    def __init__(self, *, cap: Decimal, used: Decimal, needed: Decimal) -> None:
        super().__init__("usage cap reached")
        self.figures = {"cap": str(cap), "used": str(used), "needed": str(needed)}


def buy_overage(*, shop: Shop, needed: int, available: int, key: str) -> bool:
    """Buy the `needed` credits the balance lacks through the usage line item, under the cap.

    Raises PaymentRequired with the figures when the plan has no overage or the cap would be
    passed, and `spend_cap_reached` (nothing bought) when the launch would pass the shop's own
    spend cap anyway."""
    plan = plan_for(shop)
    details: dict[str, Any] = {"required": available + needed, "available": available, "plan": plan.key}
    if plan.overage_cap <= 0 or usage_line_item(shop) is None:
        raise PaymentRequired("Not enough credits: buy a credit pack or choose a plan with overage.", details=details)
    credits.lock_shop(shop.id)
    spend_cap.check_launch(shop=shop, amount=available + needed)
    amount = (plan.price_per_extra_credit * needed).quantize(Decimal("0.01"))
    try:
        description = f"{needed:,} SMS credits beyond the plan"
        buy_usage_credits(shop=shop, credits_bought=needed, amount=amount, key=key, description=description)
    except UsageCapReached as exc:
        details["overage"] = exc.figures
        message = "Not enough credits, and this would pass the plan's overage cap."
        raise PaymentRequired(message, details=details) from None
    return True


def buy_usage_credits(*, shop: Shop, credits_bought: int, amount: Decimal, key: str, description: str) -> UsageCharge:
    """Charge `amount` on the usage line item for `credits_bought` and grant them, once per key.

    The charge is recorded (shop row locked, cap checked against every recorded charge) and
    committed *before* Shopify is called, under the idempotency key: a retry after a lost answer
    or a crash replays the same amount with the same key (Shopify returns the same record) and
    grants the same credits once. Raises UsageCapReached (rolled back) past the cycle's cap."""
    line_item = usage_line_item(shop)
    idempotency_key = key[:64]
    credits.lock_shop(shop.id)
    charge = db.session.scalar(
        select(UsageCharge).where(UsageCharge.shop_id == shop.id, UsageCharge.idempotency_key == idempotency_key)
    )
    if charge is None:
        _cycle, start = current_cycle(shop, utcnow())
        used = overage_used(shop, start)
        cap = usage_cap(shop)
        if line_item is None or used + amount > cap:
            db.session.rollback()
            raise UsageCapReached(cap=cap, used=used, needed=amount)
        charge = UsageCharge(
            shop_id=shop.id,
            idempotency_key=idempotency_key,
            subscription_id=shop.subscription_id or "",
            amount=amount,
            credits=credits_bought,
            period_start=start,
        )
        db.session.add(charge)
    db.session.commit()  # recorded before the call: the cap counts it, a retry reuses it
    data = mutation(
        shop,
        USAGE_RECORD_CREATE,
        {
            "subscriptionLineItemId": charge_line_item(shop, line_item),
            "price": money(Decimal(str(charge.amount))),
            "description": description,
            "idempotencyKey": idempotency_key,
        },
        "appUsageRecordCreate",
    )
    charge.usage_record_id = (data.get("appUsageRecord") or {}).get("id")
    credits.grant(shop_id=shop.id, amount=charge.credits, key=f"usage:{idempotency_key}", note=description[:255])
    db.session.commit()
    log.info("usage_credits_bought", shop_id=shop.id, credits=charge.credits)
    return charge


def charge_line_item(shop: Shop, line_item: str | None) -> str:
    if line_item is None:  # a replayed charge of a plan that has ended since
        raise PaymentRequired("The plan has no usage line item to charge.", details={"plan": plan_for(shop).key})
    return line_item
