"""Build requests signed exactly as Shopify signs them."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from shopify_app.security.hmac import sign_proxy_query, sign_webhook

from .conftest import TEST_API_SECRET


def webhook_request(
    topic: str,
    payload: Any,
    *,
    shop: str = "alpha.myshopify.com",
    secret: str = TEST_API_SECRET,
    webhook_id: str | None = None,
    body: bytes | None = None,
) -> dict[str, Any]:
    """kwargs for `client.post("/webhooks/shopify", **...)`."""
    raw = body if body is not None else json.dumps(payload).encode()
    return {
        "data": raw,
        "content_type": "application/json",
        "headers": {
            "X-Shopify-Topic": topic,
            "X-Shopify-Shop-Domain": shop,
            "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
            "X-Shopify-Event-Id": str(uuid.uuid4()),
            "X-Shopify-API-Version": "2025-10",
            "X-Shopify-Hmac-Sha256": sign_webhook(raw, secret),
        },
    }


def proxy_query(
    *, shop: str = "alpha.myshopify.com", secret: str = TEST_API_SECRET, timestamp: int | None = None, **extra: Any
) -> str:
    """A signed app-proxy query string, as Shopify appends it to the proxied URL."""
    params: dict[str, Any] = {
        "shop": shop,
        "path_prefix": "/apps/sms",
        "timestamp": str(int(time.time()) if timestamp is None else timestamp),
        "logged_in_customer_id": "",
        **extra,
    }
    params["signature"] = sign_proxy_query(params, secret)
    return urlencode(params, doseq=True)
