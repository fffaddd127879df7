"""Offline access for a shop: install and token exchange.

The token itself (stored sealed, refreshed before it expires, refused tokens marking the shop for
re-authorisation) is tokens.py's; its names are re-exported here. A shop marked for
re-authorisation re-runs token exchange on the next session-token request, which is also how
the embedded flow reinstalls an uninstalled shop.
"""

from __future__ import annotations

from dataclasses import replace

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
    ShopifyTimeout,
    ShopifyUnauthorized,
    ShopifyUnavailable,
)
from ...config import current_config
from ...extensions import db
from ...models import Shop
from ...models.types import utcnow
from ...security.session_token import SessionToken, invalid_session
from ...tenancy import privileged
from ..billing import credits
from ..contacts.shopify_import import start_at_install
from ..pixel import web_pixel
from . import storefront_sync
from .tokens import (
    REFRESH_LOCK,
    REFRESH_MARGIN,
    ShopNeedsReauth,
    access_token_for,
    admin_query,
    has_usable_offline_token,
    mark_needs_reauth,
    oauth_client,
    refresh_expiring_tokens,
    shopify_settings,
    store_token,
)

__all__ = [  # the token's names, for the callers that import them from here (tokens.py)
    "REFRESH_LOCK",
    "REFRESH_MARGIN",
    "ShopNeedsReauth",
    "access_token_for",
    "admin_query",
    "ensure_offline_access",
    "has_usable_offline_token",
    "install_shop",
    "mark_needs_reauth",
    "oauth_client",
    "refresh_expiring_tokens",
    "shop_profile",
    "shopify_settings",
]

log = structlog.get_logger(__name__)

# Token exchange runs while a merchant waits: one quick retry (a connection that never opened, a
# gateway error), and a longer Retry-After is passed on to the client instead of slept through.
EXCHANGE_MAX_ATTEMPTS = 2
EXCHANGE_MAX_RETRY_WAIT = 1.0


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
    store_token(shop, token, now=now)
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
        start_at_install(shop=shop)
    storefront_sync.schedule_sync(shop)  # the theme blocks' settings and disclosure
    web_pixel.schedule_connect(shop)  # the storefront pixel that reports product views
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
        # invalid-session answer (App Bridge would only fetch another); blueprints/errors.py answers 503
        # shopify_unavailable with a Retry-After.
        log.warning("token_exchange_unavailable", error=type(exc).__name__, status=exc.status)
        raise
    return install_shop(domain=session.shop_domain, token=token)


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
