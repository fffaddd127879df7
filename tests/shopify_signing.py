"""Build requests signed exactly as Shopify signs them (the app's own development signing, with
the test suite's credentials)."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from shopify_app.devtools.signing import (
    encode_session_token,
    proxy_query_string,
    session_token_claims,
    signed_proxy_params,
    webhook_body,
    webhook_headers,
)

from .conftest import TEST_API_KEY, TEST_API_SECRET


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
    raw = body if body is not None else webhook_body(payload)
    headers = webhook_headers(
        topic=topic, body=raw, shop_domain=shop, secret=secret, api_version="2026-10", webhook_id=webhook_id
    )
    return {"data": raw, "content_type": "application/json", "headers": headers}


def proxy_query(
    *, shop: str = "alpha.myshopify.com", secret: str = TEST_API_SECRET, timestamp: int | None = None, **extra: Any
) -> str:
    """A signed app-proxy query string, as Shopify appends it to the proxied URL."""
    return proxy_query_string(signed_proxy_params(shop_domain=shop, secret=secret, timestamp=timestamp, extra=extra))


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
    payload = session_token_claims(
        shop,
        api_key=audience or TEST_API_KEY,
        expires_in=expires_in,
        not_before_offset=not_before_offset,
        issuer_shop=issuer_shop,
    )
    payload.update(claims)
    for name in drop:
        payload.pop(name, None)
    return encode_session_token(payload, secret, algorithm=algorithm)


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
