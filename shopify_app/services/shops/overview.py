"""What the home screen shows in one answer: setup steps, balance, the last 30 days, recent
campaigns. One query each, so the home screen's first paint needs one API call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ...models import Shop
from ..billing import credits, spend
from ..campaigns import campaigns, reports
from . import setup

RECENT_CAMPAIGNS = 5


def overview(*, shop: Shop, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    last = now.date()
    first = last - timedelta(days=reports.SUMMARY_DAYS - 1)  # the period summary's default
    summary = reports.summary_report(shop=shop, first=first, last=last)
    recent, _next = campaigns.list_campaigns(shop=shop, limit=RECENT_CAMPAIGNS, cursor=None)  # the list's order
    return {
        "setup": setup.checklist(shop=shop),
        "balance": credits.balance(shop_id=shop.id),
        "last_30_days": {
            "from_": first,
            "to": last,
            "subscribers_gained": summary["subscribers_gained"],
            "revenue": summary["revenue"],
            "orders": summary["orders"],
            "delivered": summary["delivered"],
            "clicks": summary["clicks"],
            "opt_outs": summary["opt_outs"],
        },
        "recent_campaigns": recent,
        "spend": spend.notices(shop=shop),  # the low-balance banner
    }
