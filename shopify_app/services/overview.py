"""What the home screen shows in one answer: setup steps, balance, the last 30 days, recent
campaigns. One query each, so the home screen's first paint needs one API call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import distinct, exists, func, select

from ..extensions import db
from ..models import Campaign, CampaignKind, CampaignState, ConsentEvent, ConsentSource, ConsentState, Shop
from ..models.billing import CreditPurchase, PurchaseStatus
from . import credits, reports
from .senders import owned_numbers

WINDOW_DAYS = 30
RECENT_CAMPAIGNS = 5


def setup_steps(shop: Shop) -> dict[str, bool]:
    """The home checklist: a number to send from, a sign-up from the storefront form, a campaign
    launched, and a plan or a credit pack bought."""
    storefront = db.session.scalar(
        select(exists().where(ConsentEvent.shop_id == shop.id, ConsentEvent.source == ConsentSource.PROXY_FORM))
    )
    launched = db.session.scalar(
        select(
            exists().where(
                Campaign.shop_id == shop.id,
                Campaign.kind == CampaignKind.BROADCAST,
                Campaign.state.not_in((CampaignState.DRAFT, CampaignState.SCHEDULED)),
            )
        )
    )
    bought = db.session.scalar(
        select(exists().where(CreditPurchase.shop_id == shop.id, CreditPurchase.status == PurchaseStatus.ACTIVE))
    )
    return {
        "sender": bool(owned_numbers(shop_id=shop.id)),
        "storefront_signup": bool(storefront),
        "first_campaign": bool(launched),
        "billing": bool(bought) or shop.subscription_status == "ACTIVE",
    }


def subscribers_gained(*, shop: Shop, since: datetime) -> int:
    """Contacts who became subscribed since `since` (each counted once)."""
    return int(
        db.session.scalar(
            select(func.count(distinct(ConsentEvent.contact_id))).where(
                ConsentEvent.shop_id == shop.id,
                ConsentEvent.state == ConsentState.SUBSCRIBED,
                ConsentEvent.occurred_at >= since,
            )
        )
        or 0
    )


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
        "setup": setup_steps(shop),
        "balance": credits.balance(shop_id=shop.id),
        "last_30_days": {
            "from_": first,
            "to": last,
            "subscribers_gained": subscribers_gained(
                shop=shop, since=datetime.combine(first, datetime.min.time(), tzinfo=UTC)
            ),
            "revenue": summary["revenue"],
            "orders": summary["orders"],
            "delivered": summary["delivered"],
            "clicks": summary["clicks"],
            "opt_outs": summary["opt_outs"],
        },
        "recent_campaigns": recent,
    }
