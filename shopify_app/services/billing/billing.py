"""Shopify Billing: plan subscriptions, one-time credit packs and capped overage.

Nothing here takes money outside Shopify. A subscription (`appSubscriptionCreate`: a recurring
line item and a usage line item with a capped amount) grants the plan's credits per 30-day cycle
once Shopify reports it ACTIVE (`app_subscriptions/update`); a credit pack
(`appPurchaseOneTimeCreate`) grants its credits once Shopify confirms it
(`app_purchases_one_time/update`), once per charge id; overage buys the credits a launch lacks
with `appUsageRecordCreate` (idempotency key per launch), never past the plan's cap.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog
from flask import current_app
from sqlalchemy import func, select

from ...errors import AppError, PaymentRequired, ValidationFailed
from ...extensions import db
from ...models import AppSubscription, CreditLedger, CreditPurchase, LedgerKind, PurchaseStatus, Shop, UsageCharge
from ...models.types import utcnow
from ..ops.pagination import page
from ..shops.tokens import admin_query
from . import credits
from .plans import DEFAULT_PLAN, PACKS, PLANS, Plan, plan_for

log = structlog.get_logger(__name__)

CYCLE = timedelta(days=30)

SUBSCRIPTION_CREATE = """
mutation AppSubscriptionCreate($name: String!, $lineItems: [AppSubscriptionLineItemInput!]!, $returnUrl: URL!,
                               $test: Boolean, $trialDays: Int) {
  appSubscriptionCreate(name: $name, lineItems: $lineItems, returnUrl: $returnUrl, test: $test, trialDays: $trialDays) {
    appSubscription { id status lineItems { id plan { pricingDetails { __typename } } } }
    confirmationUrl
    userErrors { field message }
  }
}
"""

PURCHASE_CREATE = """
mutation AppPurchaseOneTimeCreate($name: String!, $price: MoneyInput!, $returnUrl: URL!, $test: Boolean) {
  appPurchaseOneTimeCreate(name: $name, price: $price, returnUrl: $returnUrl, test: $test) {
    appPurchaseOneTime { id status }
    confirmationUrl
    userErrors { field message }
  }
}
"""

USAGE_RECORD_CREATE = """
mutation AppUsageRecordCreate($subscriptionLineItemId: ID!, $price: MoneyInput!, $description: String!,
                              $idempotencyKey: String) {
  appUsageRecordCreate(subscriptionLineItemId: $subscriptionLineItemId, price: $price, description: $description,
                       idempotencyKey: $idempotencyKey) {
    appUsageRecord { id }
    userErrors { field message }
  }
}
"""


class BillingFailed(AppError):
    status = 502
    code = "billing_failed"


BILLING_CURRENCY = "USD"  # Shopify bills apps in USD, whatever the shop's own currency


def _money(amount: Decimal) -> dict[str, str]:
    return {"amount": str(amount.quantize(Decimal("0.01"))), "currencyCode": BILLING_CURRENCY}


def _return_url(shop: Shop) -> str:
    handle = shop.domain.removesuffix(".myshopify.com")
    return f"https://admin.shopify.com/store/{handle}/apps/{current_app.config['SHOPIFY_API_KEY']}"


def _test_charges() -> bool:
    return current_app.config["APP_ENV"] != "production"


def _mutation(shop: Shop, document: str, variables: dict[str, Any], operation: str) -> dict[str, Any]:
    data = admin_query(shop, document, variables).get(operation) or {}
    errors = data.get("userErrors") or []
    if errors:
        # Messages from Shopify name fields and limits, never the shopper; safe to pass on.
        raise BillingFailed(
            "Shopify refused the billing request.",
            details={"errors": [{"field": e.get("field"), "message": e.get("message")} for e in errors]},
        )
    return data


# --- subscriptions -----------------------------------------------------------------------------


def subscribe(*, shop: Shop, plan_key: str) -> dict[str, Any]:
    plan = PLANS.get(plan_key)
    if plan is None or plan is DEFAULT_PLAN:
        raise ValidationFailed(details={"fields": {"plan": [f"Choose one of {', '.join(_paid_plans())}."]}})
    line_items: list[dict[str, Any]] = [
        {"plan": {"appRecurringPricingDetails": {"price": _money(plan.monthly_price), "interval": "EVERY_30_DAYS"}}}
    ]
    if plan.overage_cap > 0:
        terms = f"{plan.price_per_extra_credit} USD per credit beyond the plan's {plan.included_credits}"
        line_items.append(
            {"plan": {"appUsagePricingDetails": {"terms": terms, "cappedAmount": _money(plan.overage_cap)}}}
        )
    data = _mutation(
        shop,
        SUBSCRIPTION_CREATE,
        {
            "name": plan.name,
            "lineItems": line_items,
            "returnUrl": _return_url(shop),
            "test": _test_charges(),
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


def usage_line_item(shop: Shop) -> str | None:
    return shop.subscription_usage_line_item_id


def current_cycle(shop: Shop, now: datetime) -> tuple[int, datetime]:
    """(cycle number from 1, its start) of the active subscription; calendar month otherwise."""
    start = shop.subscription_activated_at
    if start is None or plan_for(shop) is DEFAULT_PLAN:
        return 0, now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    number = int((now - start) / CYCLE)
    return number + 1, start + number * CYCLE


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


# --- credit packs ------------------------------------------------------------------------------


def buy_pack(*, shop: Shop, pack_key: str) -> dict[str, Any]:
    pack = PACKS.get(pack_key)
    if pack is None:
        raise ValidationFailed(details={"fields": {"pack": [f"Choose one of {', '.join(PACKS)}."]}})
    data = _mutation(
        shop,
        PURCHASE_CREATE,
        {
            "name": f"{pack.credits:,} SMS credits",
            "price": _money(pack.price),
            "returnUrl": _return_url(shop),
            "test": _test_charges(),
        },
        "appPurchaseOneTimeCreate",
    )
    charge_id = str((data.get("appPurchaseOneTime") or {}).get("id") or "")
    if not charge_id:
        raise BillingFailed("Shopify did not return the purchase.")
    db.session.add(
        CreditPurchase(shop_id=shop.id, charge_id=charge_id, pack=pack.key, credits=pack.credits, price=pack.price)
    )
    db.session.commit()
    log.info("credit_pack_created", shop_id=shop.id, pack=pack.key)
    return {"confirmation_url": data.get("confirmationUrl"), "charge_id": charge_id, "pack": pack.key}


PURCHASE_STATUSES = {
    "ACTIVE": PurchaseStatus.ACTIVE,
    "DECLINED": PurchaseStatus.DECLINED,
    "EXPIRED": PurchaseStatus.EXPIRED,
}


def purchase_updated(*, shop: Shop, payload: Mapping[str, Any]) -> bool:
    """app_purchases_one_time/update: ACTIVE grants the pack's credits, once per charge id.
    True when credits were granted now."""
    purchase = payload.get("app_purchase_one_time")
    if not isinstance(purchase, Mapping):
        return False
    charge_id = str(purchase.get("admin_graphql_api_id") or "")
    record = db.session.scalar(
        select(CreditPurchase).where(CreditPurchase.shop_id == shop.id, CreditPurchase.charge_id == charge_id)
    )
    if record is None:
        log.warning("credit_purchase_unknown", shop_id=shop.id)
        return False
    status = PURCHASE_STATUSES.get(str(purchase.get("status") or "").upper())
    if status is None:
        return False
    if status != PurchaseStatus.ACTIVE:
        if record.status == PurchaseStatus.PENDING:
            record.status = status
        return False
    granted = credits.grant(
        shop_id=shop.id, amount=record.credits, key=f"purchase:{charge_id}", note=f"credit pack {record.pack}"
    )
    record.status = PurchaseStatus.ACTIVE
    record.granted_at = record.granted_at or utcnow()
    if granted:
        log.info("credit_pack_granted", shop_id=shop.id, credits=record.credits)
    return granted


# --- overage -------------------------------------------------------------------------------------


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
    data = _mutation(
        shop,
        USAGE_RECORD_CREATE,
        {
            "subscriptionLineItemId": line_item,
            "price": _money(Decimal(str(charge.amount))),
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


# --- the billing page ------------------------------------------------------------------------------


def overview(*, shop: Shop, limit: int, cursor: str | None) -> dict[str, Any]:
    plan = plan_for(shop)
    now = utcnow()
    cycle, start = current_cycle(shop, now)
    sums = dict(
        db.session.execute(
            select(CreditLedger.kind, func.coalesce(func.sum(CreditLedger.amount), 0))
            .where(CreditLedger.shop_id == shop.id)
            .group_by(CreditLedger.kind)
        ).all()
    )
    held = -sum(int(sums.get(kind, 0)) for kind in (LedgerKind.RESERVE, LedgerKind.RESERVE_RELEASE, LedgerKind.RELEASE))
    spent = db.session.scalar(
        select(func.coalesce(func.sum(CreditLedger.amount), 0)).where(
            CreditLedger.shop_id == shop.id,
            CreditLedger.kind.in_([LedgerKind.DEBIT, LedgerKind.REFUND]),
            CreditLedger.created_at >= start,
        )
    )
    query = select(CreditLedger).where(CreditLedger.shop_id == shop.id)
    rows, next_cursor = page(query, CreditLedger.id, limit=limit, cursor=cursor)
    return {
        "plan": _plan_view(plan),
        "currency": BILLING_CURRENCY,
        "subscription": {
            "id": shop.subscription_id,
            "status": shop.subscription_status,
            "activated_at": shop.subscription_activated_at,
            "cycle": cycle,
            "cycle_started_at": start,
        },
        "balance": credits.balance(shop_id=shop.id),
        "reserved": held,
        "spent_this_cycle": -int(spent or 0),
        "overage": {"cap": str(plan.overage_cap), "used": str(overage_used(shop, start))},
        "plans": [_plan_view(p) for p in PLANS.values()],
        "packs": [{"pack": p.key, "credits": p.credits, "price": str(p.price)} for p in PACKS.values()],
        "ledger": {"items": [_entry(row) for row in rows], "next_cursor": next_cursor},
    }


def _plan_view(plan: Plan) -> dict[str, Any]:
    return {
        "plan": plan.key,
        "name": plan.name,
        "monthly_price": str(plan.monthly_price),
        "included_credits": plan.included_credits,
        "price_per_extra_credit": str(plan.price_per_extra_credit),
        "overage_cap": str(plan.overage_cap),
        "trial_days": plan.trial_days,
        "refund_failed_deliveries": plan.refund_failed_deliveries,
    }


def ledger(*, shop: Shop, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """The shop's credit ledger, newest first, a page at a time (GET /api/billing/ledger)."""
    query = select(CreditLedger).where(CreditLedger.shop_id == shop.id)
    rows, next_cursor = page(query, CreditLedger.id, limit=limit, cursor=cursor)
    return [_entry(row) for row in rows], next_cursor


def _entry(row: CreditLedger) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind.value,
        "amount": row.amount,
        "campaign_id": row.campaign_id,
        "message_id": row.message_id,
        "note": row.note,
        "created_at": row.created_at,
    }
