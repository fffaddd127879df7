"""Billing plans, as data. A shop is on the plan its active Shopify app subscription names, or
on Free without one. (Subscribing through the Billing API is the billing issue's work; what the
rest of the product reads from a plan is here.)"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..models import Shop


@dataclass(frozen=True)
class Plan:
    key: str
    name: str
    monthly_price: Decimal
    included_credits: int
    price_per_extra_credit: Decimal
    trial_days: int
    # Credits back for a message the carrier reports as failed (undelivered, expired, rejected).
    refund_failed_deliveries: bool


PLANS: dict[str, Plan] = {
    plan.key: plan
    for plan in (
        Plan("free", "Free", Decimal("0"), 0, Decimal("0.05"), 0, refund_failed_deliveries=False),
        Plan("starter", "Starter", Decimal("19"), 1_000, Decimal("0.03"), 14, refund_failed_deliveries=True),
        Plan("growth", "Growth", Decimal("79"), 5_000, Decimal("0.025"), 14, refund_failed_deliveries=True),
    )
}
DEFAULT_PLAN = PLANS["free"]


def plan_for(shop: Shop | None) -> Plan:
    if shop is None or (shop.subscription_status or "").upper() != "ACTIVE":
        return DEFAULT_PLAN
    name = (shop.subscription_name or "").strip().casefold()
    return next((plan for plan in PLANS.values() if plan.name.casefold() == name), DEFAULT_PLAN)
