"""Billing cycles: 30 days from the subscription's activation, calendar months without a plan.
(Apart from subscriptions.py so the ledger's spend cap can read it without a module cycle.)"""

from __future__ import annotations

from datetime import datetime, timedelta

from ...models import Shop
from .plans import DEFAULT_PLAN, plan_for

CYCLE = timedelta(days=30)


def current_cycle(shop: Shop, now: datetime) -> tuple[int, datetime]:
    """(cycle number from 1, its start) of the active subscription; calendar month otherwise."""
    start = shop.subscription_activated_at
    if start is None or plan_for(shop) is DEFAULT_PLAN:
        return 0, now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    number = int((now - start) / CYCLE)
    return number + 1, start + number * CYCLE
