"""The Shopify Billing API calls every charge goes through: the GraphQL documents, the money and
return URL they take, test charges outside production, and BillingFailed when Shopify refuses.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import current_app

from ...errors import AppError
from ...models import Shop
from ..shops.tokens import admin_query

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


def money(amount: Decimal) -> dict[str, str]:
    return {"amount": str(amount.quantize(Decimal("0.01"))), "currencyCode": BILLING_CURRENCY}


def return_url(shop: Shop) -> str:
    handle = shop.domain.removesuffix(".myshopify.com")
    return f"https://admin.shopify.com/store/{handle}/apps/{current_app.config['SHOPIFY_API_KEY']}"


def charges_are_tests() -> bool:
    return current_app.config["APP_ENV"] != "production"


def mutation(shop: Shop, document: str, variables: dict[str, Any], operation: str) -> dict[str, Any]:
    data = admin_query(shop, document, variables).get(operation) or {}
    errors = data.get("userErrors") or []
    if errors:
        # Messages from Shopify name fields and limits, never the shopper; safe to pass on.
        raise BillingFailed(
            "Shopify refused the billing request.",
            details={"errors": [{"field": e.get("field"), "message": e.get("message")} for e in errors]},
        )
    return data
