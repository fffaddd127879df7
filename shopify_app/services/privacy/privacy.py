"""GDPR: Shopify's three mandatory compliance webhooks, a merchant's privacy tools, retention.
The names webhooks, blueprints/api/privacy and jobs call, gathered from the modules that own
them, so a caller need not know the split:

- data_requests.py: customers/data_request, and a merchant's export of a customer's data;
- redaction.py: customers/redact, shop/redact, and a merchant's erasure;
- retention.py: rows deleted once past their use;
- matching.py: whom a request names (by Shopify id, phone and email blind indexes).
"""

from __future__ import annotations

from .data_requests import (
    build_merchant_export,
    data_request,
    delete_expired_exports,
    request_export,
    take_merchant_export,
)
from .redaction import erase, redact_customer, redact_shop
from .retention import apply_retention

__all__ = [
    "apply_retention",
    "build_merchant_export",
    "data_request",
    "delete_expired_exports",
    "erase",
    "redact_customer",
    "redact_shop",
    "request_export",
    "take_merchant_export",
]
