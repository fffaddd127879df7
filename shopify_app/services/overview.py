"""What the home screen shows in one answer: setup steps, balance, the last 30 days, recent
campaigns. One query each, so the home screen's first paint needs one API call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..models import Campaign, CampaignKind, Shop
from . import credits, reports, setup

WINDOW_DAYS = 30
RECENT_CAMPAIGNS = 5


def overview(*, shop: Shop, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    last = now.date()
    first = last - timedelta(days=WINDOW_DAYS - 1)
    summary = reports.summary_report(shop=shop, first=first, last=last)
    recent = db.session.scalars(
        select(Campaign)
        .where(Campaign.shop_id == shop.id, Campaign.kind == CampaignKind.BROADCAST)
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())
        .limit(RECENT_CAMPAIGNS)
    ).all()
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
    }
