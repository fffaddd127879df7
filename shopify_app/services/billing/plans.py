"""Billing plans, as data. A shop is on the plan its active Shopify app subscription names, or
on Free without one. (Subscribing through the Billing API is the billing issue's work; what the
rest of the product reads from a plan is here.)"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func

from ...models import Shop


@dataclass(frozen=True)
class Plan:
    key: str
    name: str
    monthly_price: Decimal
    included_credits: int
    price_per_extra_credit: Decimal
    trial_days: int
    overage_cap: Decimal  # the usage line item's capped amount per 30 days (0: no overage)
    # Credits back for a message the carrier reports as failed (undelivered, expired, rejected).
    refund_failed_deliveries: bool


PLANS: dict[str, Plan] = {
    plan.key: plan
    for plan in (
        Plan("free", "Free", Decimal("0"), 0, Decimal("0"), 0, Decimal("0"), refund_failed_deliveries=False),
        Plan(
            "starter",
            "Starter",
            Decimal("19"),
            1_000,
            Decimal("0.03"),
            14,
            Decimal("100"),
            refund_failed_deliveries=True,
        ),
        Plan(
            "growth",
            "Growth",
            Decimal("79"),
            5_000,
            Decimal("0.025"),
            14,
            Decimal("500"),
            refund_failed_deliveries=True,
        ),
    )
}
DEFAULT_PLAN = PLANS["free"]


def plan_for(shop: Shop | None) -> Plan:
    if shop is None or (shop.subscription_status or "").upper() != "ACTIVE":
        return DEFAULT_PLAN
    name = (shop.subscription_name or "").strip().casefold()
    return next((plan for plan in PLANS.values() if plan.name.casefold() == name), DEFAULT_PLAN)


@dataclass(frozen=True)
class CreditPack:
    key: str
    credits: int
    price: Decimal


PACKS: dict[str, CreditPack] = {
    pack.key: pack
    for pack in (
        CreditPack("500", 500, Decimal("15.00")),
        CreditPack("2500", 2_500, Decimal("65.00")),
        CreditPack("10000", 10_000, Decimal("230.00")),
    )
}

# Credits per SMS segment by destination country (ISO 3166-1 alpha-2): carriers charge per
# country, so a US segment is not a UK or Greek one. Estimates, holds and debits all read this.
CREDITS_PER_SEGMENT: dict[str, int] = {"US": 1, "CA": 1, "PR": 1, "GB": 3, "IE": 3, "GR": 4, "DE": 5, "FR": 5}
DEFAULT_CREDITS_PER_SEGMENT = 5


def credits_per_segment(country_code: str | None) -> int:
    return CREDITS_PER_SEGMENT.get((country_code or "").upper(), DEFAULT_CREDITS_PER_SEGMENT)


def message_credits(segments: int, country_code: str | None) -> int:
    return segments * credits_per_segment(country_code)


# Credits per MMS (one image and its text, priced per message, not per segment) where MMS is
# carried: the US and Canada. Elsewhere an MMS campaign's message is an SMS with a link to the
# image, priced per segment above (services/media/mms.py).
MMS_CREDITS: dict[str, int] = {"US": 3, "CA": 3}


def mms_credits(country_code: str | None) -> int | None:
    """Credits for one MMS to `country_code`; None where MMS is not carried."""
    return MMS_CREDITS.get((country_code or "").upper())


def message_credits_sql(segments: int, country_code: Any, *, mms: bool) -> Any:
    """What one message to a row's country costs, as SQL: `segments` SMS segments, or with `mms`
    the MMS price where MMS is carried (the launch's per-row share, matching the estimate)."""
    prices = {country: segments * price for country, price in CREDITS_PER_SEGMENT.items()}
    if mms:
        prices.update(MMS_CREDITS)
    return case(prices, value=func.upper(country_code), else_=segments * DEFAULT_CREDITS_PER_SEGMENT)
