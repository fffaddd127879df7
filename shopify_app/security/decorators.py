"""One verification decorator per kind of Shopify request, applied to thin views.

Verification runs first, on raw bytes, in constant time; the shop is taken only from what the
signature covers (a signed query, a webhook header whose body is signed, later the session
token's `dest`), and is put on `flask.g`.
"""

from __future__ import annotations

import functools
import hmac
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import current_app, g, request
from sqlalchemy import select

from ..errors import BadRequest, Unauthorized
from ..extensions import db
from ..models import Shop
from ..tenancy import enter_shop
from .hmac import proxy_signature_is_valid, timestamp_is_fresh, webhook_hmac_is_valid
from .shop_domain import normalise_shop_domain

F = TypeVar("F", bound=Callable[..., Any])

WEBHOOK_HEADERS = ("X-Shopify-Topic", "X-Shopify-Shop-Domain", "X-Shopify-Webhook-Id")
_SINGLE_PROXY_PARAMS = ("shop", "timestamp", "signature")


def bearer_matches(expected: str) -> bool:
    """Whether the request's `Authorization: Bearer ...` is `expected` (constant time)."""
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return hmac.compare_digest(given.encode(), expected.encode())


def api_secrets() -> list[str]:
    """The app secret and, during a rotation, the previous one."""
    config = current_app.config
    return [secret for secret in (config["SHOPIFY_API_SECRET"], config.get("SHOPIFY_API_SECRET_PREVIOUS")) if secret]


def webhook_verified(view: F) -> F:
    """Shopify webhook: base64 HMAC-SHA256 of the raw body, checked before anything is parsed."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        body = request.get_data(cache=True)
        if not webhook_hmac_is_valid(body, request.headers.get("X-Shopify-Hmac-Sha256"), secrets=api_secrets()):
            raise Unauthorized("Webhook HMAC verification failed.", code="invalid_hmac")
        missing = [name for name in WEBHOOK_HEADERS if not request.headers.get(name)]
        if missing:
            raise BadRequest("Missing webhook headers.", code="missing_headers", details={"headers": missing})
        g.shop_domain = normalise_shop_domain(request.headers["X-Shopify-Shop-Domain"])
        return view(*args, **kwargs)

    return cast(F, wrapper)


def app_proxy_verified(view: F) -> F:
    """Storefront request through the app proxy: signed query, fresh timestamp, shop from it."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        pairs = list(request.args.items(multi=True))
        counts = Counter(key for key, _ in pairs)
        duplicated = [name for name in _SINGLE_PROXY_PARAMS if counts[name] > 1]
        if duplicated:
            raise BadRequest(
                "Signed parameters must appear once.", code="duplicate_params", details={"params": duplicated}
            )
        if not proxy_signature_is_valid(pairs, secrets=api_secrets()):
            raise Unauthorized("App proxy signature verification failed.", code="invalid_signature")
        max_age = current_app.config["SIGNATURE_MAX_AGE_SECONDS"]
        if not timestamp_is_fresh(request.args.get("timestamp"), max_age_seconds=max_age):
            raise Unauthorized("The signed request has expired.", code="stale_signature")
        g.shop_domain = normalise_shop_domain(request.args.get("shop"))
        g.logged_in_customer_id = request.args.get("logged_in_customer_id") or None
        _enter_shop_by_domain(g.shop_domain)
        return view(*args, **kwargs)

    return cast(F, wrapper)


def _enter_shop_by_domain(domain: str) -> None:
    """Narrow the request's database scope to the signed shop (none when not installed)."""
    enter_shop(db.session.scalar(select(Shop.id).where(Shop.domain == domain)))
