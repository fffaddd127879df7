"""The usage line item's capped amount: what overage and auto-recharge may charge per 30-day
cycle, and the merchant's way to raise it (`appSubscriptionLineItemUpdate`, approved on
Shopify's confirmation page; the new amount applies when `app_subscriptions/update` reports it).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import select

from ...errors import ValidationFailed
from ...extensions import db
from ...models import AppSubscription, Shop
from .plans import plan_for
from .shopify_billing import money, mutation
from .subscriptions import usage_line_item

log = structlog.get_logger(__name__)

LINE_ITEM_UPDATE = """
mutation AppSubscriptionLineItemUpdate($id: ID!, $cappedAmount: MoneyInput!) {
  appSubscriptionLineItemUpdate(id: $id, cappedAmount: $cappedAmount) {
    appSubscription { id }
    confirmationUrl
    userErrors { field message }
  }
}
"""


def usage_cap(shop: Shop) -> Decimal:
    """The plan's cap, or the higher one the merchant approved for this subscription."""
    plan = plan_for(shop)
    if plan.overage_cap <= 0:
        return plan.overage_cap
    approved = db.session.scalar(
        select(AppSubscription.capped_amount).where(
            AppSubscription.shop_id == shop.id, AppSubscription.subscription_id == (shop.subscription_id or "")
        )
    )
    return max(plan.overage_cap, Decimal(str(approved or 0)))


def ask_to_raise(*, shop: Shop, capped_amount: Decimal) -> dict[str, Any]:
    """Ask Shopify for a higher cap; returns the confirmation URL the merchant approves it at."""
    line_item = usage_line_item(shop)
    current = usage_cap(shop)
    if current <= 0 or line_item is None:
        message = "Your plan has no usage charges: choose Starter or Growth first."
        raise ValidationFailed(details={"fields": {"capped_amount": [message]}})
    if capped_amount <= current:
        message = f"Choose more than the current cap of {current:.2f} USD."
        raise ValidationFailed(details={"fields": {"capped_amount": [message]}})
    data = mutation(
        shop, LINE_ITEM_UPDATE, {"id": line_item, "cappedAmount": money(capped_amount)}, "appSubscriptionLineItemUpdate"
    )
    log.info("usage_cap_raise_requested", shop_id=shop.id)
    asked = str(capped_amount.quantize(Decimal("0.01")))
    return {"confirmation_url": data.get("confirmationUrl"), "capped_amount": asked}
