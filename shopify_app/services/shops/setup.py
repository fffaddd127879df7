"""The home screen's setup checklist: what a new shop has done of the steps to its first sale."""

from __future__ import annotations

from sqlalchemy import exists, select

from ...extensions import db
from ...models import (
    Campaign,
    CampaignKind,
    ConsentEvent,
    ConsentSource,
    CreditPurchase,
    PurchaseStatus,
    SenderNumber,
    Shop,
)

ACTIVE_SUBSCRIPTION = "ACTIVE"  # Shopify's AppSubscriptionStatus


def checklist(*, shop: Shop) -> dict[str, bool]:
    """Each step done or not, and whether all are:
    - sender: the operator assigned the shop a number of its own (GET /api/senders lists them);
    - storefront_signup: a shopper ever subscribed through the storefront form (the app proxy):
      the theme block or popup works, whatever happened to that contact since;
    - first_campaign: a campaign was ever launched (sending, paused, completed, even cancelled);
    - billing: a paid plan is active, or a credit pack was bought."""

    def any_row(*conditions: object) -> bool:
        return bool(db.session.scalar(select(exists().where(*conditions))))

    steps = {
        "sender": any_row(SenderNumber.shop_id == shop.id),
        "storefront_signup": any_row(ConsentEvent.shop_id == shop.id, ConsentEvent.source == ConsentSource.PROXY_FORM),
        "first_campaign": any_row(
            Campaign.shop_id == shop.id, Campaign.kind == CampaignKind.BROADCAST, Campaign.launched_at.is_not(None)
        ),
        "billing": (shop.subscription_status or "").upper() == ACTIVE_SUBSCRIPTION
        or any_row(CreditPurchase.shop_id == shop.id, CreditPurchase.status == PurchaseStatus.ACTIVE),
    }
    return {**steps, "complete": all(steps.values())}
