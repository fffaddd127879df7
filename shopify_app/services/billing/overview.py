"""The billing page: the plan, the current cycle, balance, holds and spend, the overage used,
what can be bought, and the credit ledger a page at a time.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from ...extensions import db
from ...models import CreditLedger, LedgerKind, Shop
from ...models.types import utcnow
from ..ops.pagination import page
from . import credits
from .overage import overage_used
from .plans import PACKS, PLANS, Plan, plan_for
from .shopify_billing import BILLING_CURRENCY
from .subscriptions import current_cycle
from .usage_cap import usage_cap


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
        "overage": {"cap": str(usage_cap(shop)), "used": str(overage_used(shop, start))},
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
