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
            "X-Shopify-API-Version": "2026-10",
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


def session_token(
    shop: str = "alpha.myshopify.com",
    *,
    secret: str = TEST_API_SECRET,
    audience: str | None = None,
    expires_in: int = 60,
    not_before_offset: int = 0,
    issuer_shop: str | None = None,
    algorithm: str = "HS256",
    drop: tuple[str, ...] = (),
    **claims: Any,
) -> str:
    """A session token like App Bridge's: HS256 with the app secret, `dest` the shop."""
    import jwt

    from .conftest import TEST_API_KEY

    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": f"https://{issuer_shop or shop}/admin",
        "dest": f"https://{shop}",
        "aud": audience or TEST_API_KEY,
        "sub": "42",
        "exp": now + expires_in,
        "nbf": now + not_before_offset,
        "iat": now,
        "jti": str(uuid.uuid4()),
        "sid": uuid.uuid4().hex,
        **claims,
    }
    for name in drop:
        payload.pop(name, None)
    return jwt.encode(payload, secret, algorithm=algorithm)


def bearer(shop: str = "alpha.myshopify.com", **kwargs: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {session_token(shop, **kwargs)}"}


def oauth_callback_query(
    *, shop: str, code: str, state: str, secret: str = TEST_API_SECRET, timestamp: int | None = None
) -> str:
    from shopify_app.security.hmac import oauth_sign_query

    params = {
        "code": code,
        "host": "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvYWxwaGE",
        "shop": shop,
        "state": state,
        "timestamp": str(int(time.time()) if timestamp is None else timestamp),
    }
    params["hmac"] = oauth_sign_query(params, secret)
    return urlencode(params)
