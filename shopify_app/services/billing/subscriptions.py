"""Plan subscriptions (`appSubscriptionCreate`: a recurring line item and a usage line item with
a capped amount), their status from `app_subscriptions/update`, and the plan's credits granted
once per 30-day cycle while the subscription is ACTIVE.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import structlog
from sqlalchemy import select

from ...errors import ValidationFailed
from ...extensions import db
from ...models import AppSubscription, Shop
from ...models.types import utcnow
from . import credits
from .cycles import current_cycle
from .plans import DEFAULT_PLAN, PLANS, plan_for
from .shopify_billing import SUBSCRIPTION_CREATE, BillingFailed, charges_are_tests, money, mutation, return_url

log = structlog.get_logger(__name__)


def subscribe(*, shop: Shop, plan_key: str) -> dict[str, Any]:
    plan = PLANS.get(plan_key)
    if plan is None or plan is DEFAULT_PLAN:
        raise ValidationFailed(details={"fields": {"plan": [f"Choose one of {', '.join(_paid_plans())}."]}})
    line_items: list[dict[str, Any]] = [
        {"plan": {"appRecurringPricingDetails": {"price": money(plan.monthly_price), "interval": "EVERY_30_DAYS"}}}
    ]
    if plan.overage_cap > 0:
        terms = f"{plan.price_per_extra_credit} USD per credit beyond the plan's {plan.included_credits}"
        line_items.append(
            {"plan": {"appUsagePricingDetails": {"terms": terms, "cappedAmount": money(plan.overage_cap)}}}
        )
    data = mutation(
        shop,
        SUBSCRIPTION_CREATE,
        {
            "name": plan.name,
            "lineItems": line_items,
            "returnUrl": return_url(shop),
            "test": charges_are_tests(),
            "trialDays": plan.trial_days,
        },
        "appSubscriptionCreate",
    )
    subscription = data.get("appSubscription") or {}
    usage_item = next(
        (
            item["id"]
            for item in subscription.get("lineItems") or []
            if (item.get("plan") or {}).get("pricingDetails", {}).get("__typename") == "AppUsagePricing"
        ),
        None,
    )
    if not subscription.get("id"):
        raise BillingFailed("Shopify did not return the subscription.")
    db.session.add(
        AppSubscription(
            shop_id=shop.id, subscription_id=subscription["id"], plan=plan.key, usage_line_item_id=usage_item
        )
    )
    db.session.commit()
    log.info("subscription_created", shop_id=shop.id, plan=plan.key)
    return {
        "confirmation_url": data.get("confirmationUrl"),
        "subscription_id": subscription.get("id"),
        "plan": plan.key,
        "usage_line_item_id": usage_item,
    }


def _paid_plans() -> list[str]:
    return [key for key, plan in PLANS.items() if plan is not DEFAULT_PLAN]


FINAL_STATUSES = frozenset({"CANCELLED", "DECLINED", "EXPIRED", "FROZEN"})


def subscription_updated(*, shop: Shop, payload: Mapping[str, Any]) -> None:
    """app_subscriptions/update: the current subscription's status; ACTIVE grants cycle one.

    Serialised per shop (row lock, fresh read): an upgrade's "new ACTIVE" and "old CANCELLED"
    can be processed at the same time. An update about a subscription that is no longer the
    shop's changes nothing, and a subscription that ended never becomes ACTIVE again (a late
    or retried ACTIVE after its CANCELLED)."""
    subscription = payload.get("app_subscription")
    if not isinstance(subscription, Mapping):
        return
    gid = str(subscription.get("admin_graphql_api_id") or "")[:255] or None
    status = str(subscription.get("status") or "").upper()[:32] or None
    if gid is None or status is None:
        return
    db.session.execute(
        select(Shop).where(Shop.id == shop.id).with_for_update().execution_options(populate_existing=True)
    )
    record = db.session.scalar(
        select(AppSubscription).where(AppSubscription.shop_id == shop.id, AppSubscription.subscription_id == gid)
    )
    if record is not None and record.status in FINAL_STATUSES and status not in FINAL_STATUSES:
        log.info("subscription_update_after_it_ended", shop_id=shop.id, status=status)
        return
    if record is not None:
        record.status = status
        record.capped_amount = _capped_amount(subscription) or record.capped_amount
    if status != "ACTIVE" and shop.subscription_id not in (None, gid) and shop.subscription_status == "ACTIVE":
        log.info("subscription_update_for_replaced_plan", shop_id=shop.id, status=status)
        return
    if status == "ACTIVE" and (shop.subscription_id != gid or shop.subscription_activated_at is None):
        shop.subscription_activated_at = utcnow()
        shop.subscription_usage_line_item_id = record.usage_line_item_id if record else None
    shop.subscription_id = gid
    shop.subscription_name = str(subscription.get("name") or "")[:255] or None
    shop.subscription_status = status
    if status == "ACTIVE":
        grant_cycle_credits(shop=shop, now=utcnow())


def _capped_amount(subscription: Mapping[str, Any]) -> Decimal | None:
    """The usage cap the update reports (a raise the merchant approved), if it is a sane amount."""
    try:
        amount = Decimal(str(subscription.get("capped_amount")))
    except InvalidOperation:
        return None
    return amount.quantize(Decimal("0.01")) if amount.is_finite() and 0 < amount < 1_000_000 else None


def usage_line_item(shop: Shop) -> str | None:
    return shop.subscription_usage_line_item_id


def grant_cycle_credits(*, shop: Shop, now: datetime) -> bool:
    """The plan's included credits for the current cycle, once (keyed by subscription and cycle)."""
    plan = plan_for(shop)
    cycle, _start = current_cycle(shop, now)
    if cycle == 0 or plan.included_credits <= 0:
        return False
    granted = credits.grant(
        shop_id=shop.id,
        amount=plan.included_credits,
        key=f"plan:{shop.subscription_id}:{cycle}",
        note=f"{plan.name} plan, cycle {cycle}",
    )
    if granted:
        log.info("plan_credits_granted", shop_id=shop.id, cycle=cycle, credits=plan.included_credits)
    return granted


def grant_due_cycle_credits(*, now: datetime | None = None) -> int:
    """Periodic: start each active subscription's new cycle with its credits (idempotent)."""
    now = now or utcnow()
    granted = 0
    for shop in db.session.scalars(
        select(Shop).where(Shop.subscription_status == "ACTIVE", Shop.uninstalled_at.is_(None))
    ):
        granted += int(grant_cycle_credits(shop=shop, now=now))
        db.session.commit()
    return granted
