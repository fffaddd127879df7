"""Requests signed the way Shopify signs them: App Bridge's session tokens, the app proxy's
query and webhook headers.

The development helpers (`flask dev`) and the test suite both sign with these, on top of the
`sign_*` primitives the app verifies with (`security/hmac.py`), so what a developer sends by
hand passes exactly the checks a real Shopify request passes.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import jwt

from ..security.hmac import sign_proxy_query, sign_webhook

ProxyParams = dict[str, str | list[str]]


def session_token_claims(
    shop_domain: str,
    *,
    api_key: str,
    expires_in: int = 60,
    not_before_offset: int = 0,
    issuer_shop: str | None = None,
    user_id: str = "42",
    now: int | None = None,
) -> dict[str, Any]:
    """The claims App Bridge puts in a session token for a staff member of `shop_domain`."""
    issued = int(time.time()) if now is None else now
    return {
        "iss": f"https://{issuer_shop or shop_domain}/admin",
        "dest": f"https://{shop_domain}",
        "aud": api_key,
        "sub": user_id,
        "exp": issued + expires_in,
        "nbf": issued + not_before_offset,
        "iat": issued,
        "jti": str(uuid.uuid4()),
        "sid": uuid.uuid4().hex,
    }


def encode_session_token(claims: Mapping[str, Any], secret: str, *, algorithm: str = "HS256") -> str:
    """Sign `claims` as App Bridge does: HS256 with the app's secret."""
    return jwt.encode(dict(claims), secret, algorithm=algorithm)


def signed_proxy_params(
    *,
    shop_domain: str,
    secret: str,
    path_prefix: str = "/apps/sms",
    timestamp: int | None = None,
    logged_in_customer_id: str = "",
    extra: Mapping[str, str | list[str]] | None = None,
) -> ProxyParams:
    """The query Shopify's app proxy adds to a storefront request, `signature` included."""
    params: ProxyParams = {
        "shop": shop_domain,
        "path_prefix": path_prefix,
        "timestamp": str(int(time.time()) if timestamp is None else timestamp),
        "logged_in_customer_id": logged_in_customer_id,
        **(extra or {}),
    }
    params["signature"] = sign_proxy_query(params, secret)
    return params


def proxy_query_string(params: ProxyParams) -> str:
    return urlencode(params, doseq=True)


def webhook_body(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def webhook_headers(
    *, topic: str, body: bytes, shop_domain: str, secret: str, api_version: str, webhook_id: str | None = None
) -> dict[str, str]:
    """The headers Shopify sends with a webhook delivery, the HMAC over exactly `body`."""
    return {
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": shop_domain,
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Event-Id": str(uuid.uuid4()),
        "X-Shopify-API-Version": api_version,
        "X-Shopify-Hmac-Sha256": sign_webhook(body, secret),
    }
