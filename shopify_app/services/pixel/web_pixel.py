"""The shop's web pixel record: created at install with `webPixelCreate`, so Shopify loads our
pixel extension on the storefront with this shop's settings (where to report, which shop).

A shop has at most one pixel per app. Creating it again answers a userError (code `TAKEN`); we
then read the existing one (`webPixel { id }`) and update its settings with `webPixelUpdate`, so
a reinstall, a retried job or a changed app URL all end in the same state: idempotent.
Throttling and outages raise `WebPixelDeferred` for RQ to retry; anything else is logged (codes
only) and returned as the outcome.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import structlog

from ...clients.shopify import ShopifyError, ShopifyRateLimited, ShopifyTimeout, ShopifyUnavailable
from ...config import current_config
from ...extensions import db, redis_ext
from ...job_names import CONNECT_WEB_PIXEL
from ...models import Shop
from ..shops.tokens import ShopNeedsReauth, admin_query, has_usable_offline_token

log = structlog.get_logger(__name__)

EVENTS_PATH = "/pixel/events"
WEB_PIXEL_CREATE = (
    "mutation WebPixelCreate($webPixel: WebPixelInput!) { webPixelCreate(webPixel: $webPixel) { "
    "userErrors { field message code } webPixel { id settings } } }"
)
WEB_PIXEL_UPDATE = (
    "mutation WebPixelUpdate($id: ID!, $webPixel: WebPixelInput!) { webPixelUpdate(id: $id, webPixel: $webPixel) { "
    "userErrors { field message code } webPixel { id settings } } }"
)
WEB_PIXEL_QUERY = "query WebPixel { webPixel { id settings } }"


class WebPixelDeferred(Exception):
    """Shopify was throttled, unavailable or slow: the job raises so RQ runs it again."""


def pixel_settings(shop: Shop) -> dict[str, str]:
    """The settings the extension declares (shopify.extension.toml): every value a string."""
    endpoint = str(current_config()["SHOPIFY_APP_URL"]).rstrip("/") + EVENTS_PATH
    return {"endpoint": endpoint, "shopDomain": shop.domain}


def schedule_connect(shop: Shop) -> None:
    """Enqueue the connection (at install). Without Redis the queue would run it inside the
    install request: a delay hands it to the scheduler, so the merchant never waits on Shopify."""
    delay = None if redis_ext.queue("default").is_async else timedelta(seconds=1)
    CONNECT_WEB_PIXEL.delay(shop.id, delay=delay, scope=shop.id)


def connect(*, shop_id: int) -> str:
    """Create or update the shop's pixel; returns "created", "updated", or why not."""
    shop = db.session.get(Shop, shop_id)
    if shop is None or not shop.is_installed or not has_usable_offline_token(shop):
        return "skipped"
    try:
        outcome, errors = _create_or_update(shop)
    except (ShopifyRateLimited, ShopifyUnavailable, ShopifyTimeout) as exc:
        log.warning("web_pixel_deferred", shop_id=shop.id, reason=type(exc).__name__)
        raise WebPixelDeferred(type(exc).__name__) from None
    except ShopNeedsReauth:
        return "needs_reauth"
    except ShopifyError as exc:
        log.warning("web_pixel_failed", shop_id=shop.id, error=type(exc).__name__)
        return "failed"
    if errors:
        # Codes only: a message can echo the settings.
        codes = sorted({str(error.get("code") or "user_error") for error in errors})
        log.warning("web_pixel_failed", shop_id=shop.id, error=",".join(codes))
        return "failed"
    log.info("web_pixel_connected", shop_id=shop.id, outcome=outcome)
    return outcome


def _create_or_update(shop: Shop) -> tuple[str, list[dict[str, Any]]]:
    """Create; when the shop has one already (TAKEN), update that one. The outcome and the
    userErrors of the last mutation."""
    variables: dict[str, Any] = {"webPixel": {"settings": json.dumps(pixel_settings(shop))}}
    errors = _payload(admin_query(shop, WEB_PIXEL_CREATE, variables), "webPixelCreate").get("userErrors") or []
    if not any(error.get("code") == "TAKEN" for error in errors):
        return "created", errors
    existing = admin_query(shop, WEB_PIXEL_QUERY).get("webPixel")
    pixel_id = existing.get("id") if isinstance(existing, dict) else None
    if not pixel_id:
        return "updated", [{"code": "no_pixel"}]
    updated = _payload(admin_query(shop, WEB_PIXEL_UPDATE, {"id": pixel_id, **variables}), "webPixelUpdate")
    return "updated", updated.get("userErrors") or []


def _payload(data: dict[str, object], operation: str) -> dict[str, Any]:
    payload = data.get(operation)
    return payload if isinstance(payload, dict) else {"userErrors": [{"code": "no_payload"}]}
