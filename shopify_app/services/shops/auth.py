"""Offline access for a shop: install, token exchange, expiring tokens and their refresh.

Tokens are stored only as AES-GCM ciphertext bound to the shop and column. An expiring access
token is refreshed shortly before it expires under a per-shop Redis lock, so two workers never
spend the same refresh token (Shopify rotates it on every use). A refresh token Shopify refuses
marks the shop as needing re-authorisation; the next session-token request re-runs token
exchange, which is also how the embedded flow reinstalls an uninstalled shop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ...clients.shopify import (
    AdminGraphQL,
    OfflineToken,
    ShopifyError,
    ShopifyOAuth,
    ShopifyRateLimited,
    ShopifyRejected,
    ShopifySettings,
    ShopifyTimeout,
    ShopifyUnauthorized,
    ShopifyUnavailable,
)
from ...config import current_config
from ...extensions import db, redis_ext
from ...models import Shop
from ...models.types import utcnow
from ...security.session_token import SessionToken, invalid_session
from ...tenancy import privileged
from ..billing import credits
from . import storefront_metafields

log = structlog.get_logger(__name__)

REFRESH_MARGIN = timedelta(minutes=5)
REFRESH_LOCK = "sms_blossom:shop-token-refresh:{shop_id}"
# Token exchange runs while a merchant waits: one quick retry (a connection that never opened, a
# gateway error), and a longer Retry-After is passed on to the client instead of slept through.
EXCHANGE_MAX_ATTEMPTS = 2
EXCHANGE_MAX_RETRY_WAIT = 1.0
# What an install (or reinstall) starts besides the shop's own rows: packages that build on
# this one (contacts/shopify_import.py) register here with `on_install`, since this module
# cannot import them without an import cycle.
_install_hooks: dict[str, Callable[..., None]] = {}


class ShopNeedsReauth(Exception):
    """The shop has no usable offline token; a merchant must open the app (token exchange)."""


def on_install(hook: Callable[..., None]) -> Callable[..., None]:
    """Decorator: `hook(shop=...)` runs after each install or reinstall is committed."""
    _install_hooks[f"{hook.__module__}.{hook.__qualname__}"] = hook
    return hook


def shopify_settings() -> ShopifySettings:
    return ShopifySettings.from_config(current_config())


def oauth_client() -> ShopifyOAuth:
    return ShopifyOAuth(shopify_settings())


def _store_token(shop: Shop, token: OfflineToken, *, now: datetime) -> None:
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


def _get_or_create_shop(domain: str) -> Shop:
    shop = db.session.scalar(select(Shop).where(Shop.domain == domain))
    if shop is not None:
        return shop
    try:
        with db.session.begin_nested():
            shop = Shop(domain=domain, settings={})
            db.session.add(shop)
    except IntegrityError:  # a concurrent install created it first
        shop = db.session.scalars(select(Shop).where(Shop.domain == domain)).one()
    return shop


def install_shop(*, domain: str, token: OfflineToken) -> Shop:
    """Upsert the shop with its new offline token; a reinstall replaces tokens and scopes.
    Privileged: creating a tenant (and its trial grant) happens before any shop scope exists."""
    with privileged():
        return _install(domain=domain, token=token)


def _install(*, domain: str, token: OfflineToken) -> Shop:
    now = utcnow()
    shop = _get_or_create_shop(domain)
    _store_token(shop, token, now=now)
    installing = shop.installed_at is None or shop.uninstalled_at is not None  # not a token renewal
    if installing:
        shop.installed_at = now
    shop.uninstalled_at = None
    _refresh_details(shop, token.access_token)
    trial = current_config()["TRIAL_CREDITS"]
    if trial:  # once per shop, ever: the key makes a reinstall a no-op
        credits.grant(shop_id=shop.id, amount=trial, key="grant:trial", note="Trial credits")
    db.session.commit()
    log.info("shop_installed", shop_id=shop.id)
    if installing:
        for hook in _install_hooks.values():
            hook(shop=shop)
    storefront_metafields.schedule_sync(shop)  # the theme blocks' settings and disclosure
    return shop


def _refresh_details(shop: Shop, access_token: str) -> None:
    """Fetch name, email, currency, time zone, country and plan; an outage must not fail install."""
    try:
        details = AdminGraphQL(shopify_settings(), shop.domain, access_token).shop_details()
    except ShopifyUnauthorized:
        raise
    except ShopifyError as exc:
        log.warning("shop_details_unavailable", shop_id=shop.id, error=type(exc).__name__)
        return
    shop.name = details.name
    shop.email = details.email
    shop.currency = details.currency
    shop.timezone = details.timezone
    shop.country_code = details.country_code
    shop.plan = details.plan


def has_usable_offline_token(shop: Shop, *, now: datetime | None = None) -> bool:
    now = now or utcnow()
    if not shop.is_installed or shop.needs_reauth or shop.access_token_ciphertext is None:
        return False
    if shop.access_token_expires_at is None or shop.access_token_expires_at > now + REFRESH_MARGIN:
        return True
    return shop.refresh_token_ciphertext is not None and (
        shop.refresh_token_expires_at is None or shop.refresh_token_expires_at > now
    )


def ensure_offline_access(*, session: SessionToken) -> Shop:
    """The session's shop, running token exchange first when it has no usable offline token."""
    shop = db.session.scalar(select(Shop).where(Shop.domain == session.shop_domain))
    if shop is not None and has_usable_offline_token(shop):
        return shop
    settings = replace(shopify_settings(), max_attempts=EXCHANGE_MAX_ATTEMPTS, max_retry_wait=EXCHANGE_MAX_RETRY_WAIT)
    try:
        token = ShopifyOAuth(settings).exchange_session_token(session.shop_domain, session.raw)
    except ShopifyRejected as exc:  # Shopify answered and said no: this session token is no good
        log.warning("token_exchange_refused", status=exc.status, error=exc.error)
        raise invalid_session("Shopify refused to exchange the session token.") from None
    except (ShopifyUnavailable, ShopifyTimeout, ShopifyRateLimited) as exc:
        # Shopify unreachable, failing or busy: nothing is wrong with the token, so no
        # invalid-session answer (App Bridge would only fetch another); errors.py answers 503
        # shopify_unavailable with a Retry-After.
        log.warning("token_exchange_unavailable", error=type(exc).__name__, status=exc.status)
        raise
    return install_shop(domain=session.shop_domain, token=token)


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
    _store_token(shop, token, now=now)
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


def shop_profile(shop: Shop) -> dict[str, object]:
    return {
        "id": shop.id,
        "domain": shop.domain,
        "name": shop.name,
        "email": shop.email,
        "country_code": shop.country_code,
        "currency": shop.currency,
        "timezone": shop.timezone,
        "plan": shop.plan,
        "scopes": sorted(filter(None, (shop.scopes or "").split(","))),
        "installed_at": shop.installed_at,
    }


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
