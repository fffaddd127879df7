"""Shopify Billing: plan subscriptions, one-time credit packs and capped overage.

Nothing here takes money outside Shopify. A subscription (`appSubscriptionCreate`: a recurring
line item and a usage line item with a capped amount) grants the plan's credits per 30-day cycle
once Shopify reports it ACTIVE (`app_subscriptions/update`); a credit pack
(`appPurchaseOneTimeCreate`) grants its credits once Shopify confirms it
(`app_purchases_one_time/update`), once per charge id; overage buys the credits a launch lacks
with `appUsageRecordCreate` (idempotency key per launch), never past the plan's cap.

This module holds no code: it is the package's front door for callers outside it (blueprints,
webhooks, jobs, campaigns' launch), the names in `__all__` imported from the modules that own
them. Modules inside the package import those modules directly, never this one.
"""

from __future__ import annotations

from .overage import buy_overage
from .overview import ledger, overview
from .packs import buy_pack, purchase_updated
from .shopify_billing import BillingFailed
from .spend import automation_skips, notices, shops_to_check, spend_controls, update_spend_controls
from .spend import check_shop as check_spend
from .spend_email import email_alert as email_spend_alert
from .subscriptions import grant_due_cycle_credits, subscribe, subscription_updated
from .usage_cap import ask_to_raise as ask_to_raise_usage_cap

__all__ = [
    "BillingFailed",
    "ask_to_raise_usage_cap",
    "automation_skips",
    "buy_overage",
    "buy_pack",
    "check_spend",
    "email_spend_alert",
    "grant_due_cycle_credits",
    "ledger",
    "notices",
    "overview",
    "purchase_updated",
    "shops_to_check",
    "spend_controls",
    "subscribe",
    "subscription_updated",
    "update_spend_controls",
]
