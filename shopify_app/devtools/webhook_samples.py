"""Webhook payloads shaped like the examples in Shopify's webhook reference (2026-10).

`flask dev webhook` sends them and the tests build theirs from them, so a fresh clone can play
every topic the app handles. The shop's own domain is filled in by `sample`.
"""

from __future__ import annotations

import copy
from typing import Any

SHOP_PLACEHOLDER = "{shop}"  # replaced by the signed shop's domain in `sample`

CUSTOMER = {
    "id": 706405506930370084,
    "email": "bob@biller.com",
    "created_at": "2026-11-20T12:00:00-05:00",
    "updated_at": "2026-11-20T12:00:00-05:00",
    "first_name": "Bob",
    "last_name": "Biller",
    "orders_count": 0,
    "state": "disabled",
    "total_spent": "0.00",
    "last_order_id": None,
    "note": "This customer loves ice cream",
    "verified_email": True,
    "multipass_identifier": None,
    "tax_exempt": False,
    "tags": "",
    "last_order_name": None,
    "currency": "USD",
    "phone": "+14155550199",
    "addresses": [],
    "tax_exemptions": [],
    "email_marketing_consent": None,
    "sms_marketing_consent": {
        "state": "subscribed",
        "opt_in_level": "single_opt_in",
        "consent_updated_at": "2026-11-20T12:00:00-05:00",
        "consent_collected_from": "SHOPIFY",
    },
    "admin_graphql_api_id": "gid://shopify/Customer/706405506930370084",
    "default_address": None,
}

MARKETING_CONSENT = {
    "id": 706405506930370084,
    "phone": "+14155550199",
    "sms_marketing_consent": {
        "state": "subscribed",
        "opt_in_level": "unknown",
        "consent_updated_at": "2026-11-21T19:00:00-05:00",
        "consent_collected_from": "OTHER",
    },
}

ORDER = {
    "id": 820982911946154508,
    "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
    "checkout_token": "bd5a8aa1ecd019dd3520ff791ee3a24c",
    "created_at": "2026-11-22T08:00:00-05:00",
    "currency": "USD",
    "email": "bob@biller.com",
    "financial_status": "paid",
    "name": "#9999",
    "phone": None,
    "total_price": "403.00",
    "customer": {"id": 706405506930370084, "email": "bob@biller.com", "phone": "+14155550199"},
    "billing_address": {"first_name": "Steve", "phone": "555-555-5555", "country_code": "US"},
    "discount_codes": [{"code": "TenOff", "amount": "10.00", "type": "fixed_amount"}],
    "line_items": [
        {
            "id": 866550311766439020,
            "product_id": 632910392,
            "price": "199.00",
            "quantity": 1,
            "title": "IPod Nano - 8GB",
        }
    ],
}

CHECKOUT = {
    "id": 981820079255243537,
    "token": "123123123",
    "cart_token": "eeafa272cebfd4b22385bc4b645e762c",
    "email": "bob@biller.com",
    "created_at": "2026-11-22T08:00:00-05:00",
    "updated_at": "2026-11-22T09:00:00-05:00",
    "completed_at": None,
    "phone": None,
    "sms_marketing_phone": "+14155550199",
    "buyer_accepts_sms": True,
    "currency": "USD",
    "total_price": "398.00",
    "abandoned_checkout_url": "https://checkout.local/548380009/checkouts/123123123/recover?key=example-secret-token",
    "customer": {"id": 706405506930370084, "email": "bob@biller.com", "phone": None},
}

SHOP_UPDATE = {
    "id": 548380009,
    "name": "Super Toys",
    "email": "super@supertoys.com",
    "domain": None,
    "country": "US",
    "country_code": "GR",
    "currency": "EUR",
    "customer_email": "hello@supertoys.com",
    "timezone": "(GMT+02:00) Athens",
    "iana_timezone": "Europe/Athens",
    "shop_owner": "John Smith",
    "plan_display_name": "Shopify Plus",
    "myshopify_domain": SHOP_PLACEHOLDER,
}

SCOPES_UPDATE = {
    "id": 548380009,
    "previous": ["read_customers"],
    "current": ["read_customers", "write_customers", "read_orders"],
    "updated_at": "2026-11-22T09:00:00-05:00",
}

APP_SUBSCRIPTION = {
    "app_subscription": {
        "admin_graphql_api_id": "gid://shopify/AppSubscription/1029266947",
        "name": "Growth",
        "status": "ACTIVE",
        "admin_graphql_api_shop_id": "gid://shopify/Shop/548380009",
        "created_at": "2026-11-22T09:00:00-05:00",
        "updated_at": "2026-11-22T09:00:00-05:00",
        "currency": "USD",
        "capped_amount": "20.0",
    }
}

APP_UNINSTALLED = {"id": 548380009, "name": "Super Toys", "domain": None, "myshopify_domain": SHOP_PLACEHOLDER}

DATA_REQUEST = {
    "shop_id": 548380009,
    "shop_domain": SHOP_PLACEHOLDER,
    "orders_requested": [820982911946154508],
    "customer": {"id": 706405506930370084, "email": "bob@biller.com", "phone": "+14155550199"},
    "data_request": {"id": 9999},
}

CUSTOMER_REDACT = {
    "shop_id": 548380009,
    "shop_domain": SHOP_PLACEHOLDER,
    "customer": {"id": 706405506930370084, "email": "bob@biller.com", "phone": "+14155550199"},
    "orders_to_redact": [820982911946154508],
}

SHOP_REDACT = {"shop_id": 548380009, "shop_domain": SHOP_PLACEHOLDER}

FULFILLMENT = {
    "id": 1069019908,
    "order_id": 820982911946154508,
    "status": "success",
    "created_at": "2026-11-23T10:00:00-05:00",
    "service": "manual",
    "updated_at": "2026-11-23T10:00:00-05:00",
    "tracking_company": "UPS",
    "shipment_status": None,
    "location_id": 905684977,
    "origin_address": None,
    "email": "bob@biller.com",
    "destination": {"first_name": "Steve", "phone": "555-555-5555", "country_code": "US"},
    "line_items": [{"id": 866550311766439020, "quantity": 1, "title": "IPod Nano - 8GB"}],
    "tracking_number": "1Z2345",
    "tracking_numbers": ["1Z2345"],
    "tracking_url": "https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums=1Z2345",
    "tracking_urls": ["https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums=1Z2345"],
    "receipt": {},
    "name": "#9999.1",
    "admin_graphql_api_id": "gid://shopify/Fulfillment/1069019908",
}

INVENTORY_LEVEL = {
    "inventory_item_id": 271878346596884015,
    "location_id": 24826418,
    "available": 6,
    "updated_at": "2026-11-23T10:00:00-05:00",
    "admin_graphql_api_id": "gid://shopify/InventoryLevel/24826418?inventory_item_id=271878346596884015",
}

APP_PURCHASE = {
    "app_purchase_one_time": {
        "admin_graphql_api_id": "gid://shopify/AppPurchaseOneTime/1017262346",
        "name": "500 SMS credits",
        "status": "ACTIVE",
        "admin_graphql_api_shop_id": "gid://shopify/Shop/548380009",
        "created_at": "2026-11-23T10:00:00-05:00",
        "updated_at": "2026-11-23T10:00:00-05:00",
    }
}

BY_TOPIC: dict[str, dict[str, Any]] = {
    "app/uninstalled": APP_UNINSTALLED,
    "app/scopes_update": SCOPES_UPDATE,
    "shop/update": SHOP_UPDATE,
    "customers/create": CUSTOMER,
    "customers/update": CUSTOMER,
    "customers_marketing_consent/update": MARKETING_CONSENT,
    "orders/create": ORDER,
    "orders/paid": ORDER,
    "orders/updated": ORDER,
    "fulfillments/create": FULFILLMENT,
    "fulfillments/update": FULFILLMENT,
    "inventory_levels/update": INVENTORY_LEVEL,
    "checkouts/create": CHECKOUT,
    "checkouts/update": CHECKOUT,
    "app_subscriptions/update": APP_SUBSCRIPTION,
    "app_purchases_one_time/update": APP_PURCHASE,
    "customers/data_request": DATA_REQUEST,
    "customers/redact": CUSTOMER_REDACT,
    "shop/redact": SHOP_REDACT,
}


# The payload keys that carry the shop's own domain (compliance topics must match the header).
SHOP_DOMAIN_KEYS = ("myshopify_domain", "shop_domain")


def sample(topic: str, *, shop_domain: str) -> dict[str, Any]:
    """A deep copy of the topic's example, about `shop_domain`; KeyError for an unknown topic."""
    data = copy.deepcopy(BY_TOPIC[topic])
    for key in SHOP_DOMAIN_KEYS:
        if data.get(key) == SHOP_PLACEHOLDER:
            data[key] = shop_domain
    return data
