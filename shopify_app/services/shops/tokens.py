"""Admin API access with a shop's offline token: the token while it is valid, its refresh
shortly before it expires, and the shop marked for re-authorisation when Shopify refuses it.

Tokens are stored only as AES-GCM ciphertext bound to the shop and column. An expiring access
token is refreshed under a per-shop Redis lock, so two workers never spend the same refresh
token (Shopify rotates it on every use). Installing (auth.py) builds on this module, and so does
every service that calls the Admin API (`admin_query`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy import select

from ...clients.shopify import (
    AdminGraphQL,
    OfflineToken,
    ShopifyError,
    ShopifyOAuth,
    ShopifyRejected,
    ShopifySettings,
    ShopifyUnauthorized,
)
from ...config import current_config
from ...extensions import db, redis_ext
from ...models import Shop
from ...models.types import utcnow

log = structlog.get_logger(__name__)

REFRESH_MARGIN = timedelta(minutes=5)
REFRESH_LOCK = "sms_blossom:shop-token-refresh:{shop_id}"


class ShopNeedsReauth(Exception):
    """The shop has no usable offline token; a merchant must open the app (token exchange)."""


def shopify_settings() -> ShopifySettings:
    return ShopifySettings.from_config(current_config())


def oauth_client() -> ShopifyOAuth:
    return ShopifyOAuth(shopify_settings())


def store_token(shop: Shop, token: OfflineToken, *, now: datetime) -> None:
    shop.access_token = token.access_token
    shop.access_token_expires_at = now + timedelta(seconds=token.expires_in) if token.expires_in else None
    shop.refresh_token = token.refresh_token
    shop.refresh_token_expires_at = (
        now + timedelta(seconds=token.refresh_token_expires_in) if token.refresh_token_expires_in else None
    )
    shop.scopes = token.scope
    shop.needs_reauth = False


def _clear_tokens(shop: Shop) -> None:
    shop.access_token_ciphertext = None
    shop.access_token_expires_at = None
    shop.refresh_token_ciphertext = None
    shop.refresh_token_expires_at = None


def has_usable_offline_token(shop: Shop, *, now: datetime | None = None) -> bool:
    now = now or utcnow()
    if not shop.is_installed or shop.needs_reauth or shop.access_token_ciphertext is None:
        return False
    if shop.access_token_expires_at is None or shop.access_token_expires_at > now + REFRESH_MARGIN:
        return True
    return shop.refresh_token_ciphertext is not None and (
        shop.refresh_token_expires_at is None or shop.refresh_token_expires_at > now
    )


def access_token_for(shop: Shop, *, margin: timedelta = REFRESH_MARGIN) -> str:
    """A valid offline access token for `shop`, refreshed first when it expires within `margin`."""
    if _fresh_enough(shop, margin):
        return _decrypt_access_token(shop)
    lock = redis_ext.client().lock(REFRESH_LOCK.format(shop_id=shop.id), timeout=30, blocking_timeout=15)
    with lock:
        db.session.refresh(shop)  # another worker may have refreshed while we waited
        if _fresh_enough(shop, margin):
            return _decrypt_access_token(shop)
        return _refresh(shop)


def _fresh_enough(shop: Shop, margin: timedelta = REFRESH_MARGIN) -> bool:
    if shop.needs_reauth or shop.access_token_ciphertext is None or not shop.is_installed:
        raise ShopNeedsReauth(f"shop {shop.id} has no usable offline token")
    return shop.access_token_expires_at is None or shop.access_token_expires_at > utcnow() + margin


def _decrypt_access_token(shop: Shop) -> str:
    token = shop.access_token
    assert token is not None  # checked by _fresh_enough
    return str(token)


def _refresh(shop: Shop) -> str:
    now = utcnow()
    refresh_token = shop.refresh_token
    if refresh_token is None or (shop.refresh_token_expires_at and shop.refresh_token_expires_at <= now):
        mark_needs_reauth(shop, reason="refresh_token_expired")
        raise ShopNeedsReauth(f"shop {shop.id}: refresh token missing or expired")
    try:
        token = oauth_client().refresh(shop.domain, refresh_token)
    except ShopifyRejected as exc:
        mark_needs_reauth(shop, reason=exc.error or "refresh_rejected")
        raise ShopNeedsReauth(f"shop {shop.id}: Shopify refused the refresh token") from None
    # The old refresh token is dead the moment Shopify answers: store the new pair at once.
    store_token(shop, token, now=now)
    db.session.commit()
    log.info("shop_token_refreshed", shop_id=shop.id)
    return token.access_token


def admin_query(shop: Shop, query: str, variables: dict[str, object] | None = None) -> dict[str, object]:
    """Run an Admin GraphQL query for `shop`; a revoked token marks the shop for re-auth."""
    client = AdminGraphQL(shopify_settings(), shop.domain, access_token_for(shop))
    try:
        return client.execute(query, variables)
    except ShopifyUnauthorized:
        mark_needs_reauth(shop, reason="admin_api_unauthorized")
        raise ShopNeedsReauth(f"shop {shop.id}: Shopify no longer accepts its token") from None


def mark_needs_reauth(shop: Shop, *, reason: str) -> None:
    shop.needs_reauth = True
    _clear_tokens(shop)
    db.session.commit()
    log.warning("shop_needs_reauth", shop_id=shop.id, reason=reason)


def refresh_expiring_tokens(*, within: timedelta = timedelta(hours=1), limit: int = 200) -> dict[str, int]:
    """Periodic: refresh offline tokens that expire soon, so requests and jobs never wait on it.

    Each refresh runs under the per-shop lock `access_token_for` takes; a shop whose refresh
    token Shopify refuses is marked for re-auth there, and the others carry on.
    """
    soon = utcnow() + within
    shops = db.session.scalars(
        select(Shop)
        .where(Shop.uninstalled_at.is_(None), Shop.needs_reauth.is_(False), Shop.access_token_expires_at < soon)
        .order_by(Shop.access_token_expires_at)
        .limit(limit)
    ).all()
    counts = {"refreshed": 0, "needs_reauth": 0, "failed": 0}
    for shop in shops:
        expires_before = shop.access_token_expires_at
        try:
            access_token_for(shop, margin=within)
        except ShopNeedsReauth:
            counts["needs_reauth"] += 1
        except ShopifyError as exc:  # an outage: the next tick tries again
            db.session.rollback()
            log.warning("token_refresh_failed", shop_id=shop.id, error=type(exc).__name__)
            counts["failed"] += 1
        else:
            counts["refreshed"] += int(shop.access_token_expires_at != expires_before)
    return counts
