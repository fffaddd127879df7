"""The app-data metafields the theme app extension reads (`extensions/sms-blossom-theme`).

A theme block cannot call the app while the storefront renders, so what the blocks show of the
merchant's settings reaches them as metafields owned by the app installation, which Liquid reads
as `app.metafields.sms_blossom.<key>.value`:

- `settings`: the merchant's headline, incentive and button colours, and the countries that may
  sign up (home country first; none means sign-up is unavailable and the blocks show nothing);
- `disclosure`: the consent disclosure of the current join form in every storefront language,
  as pieces (two of them links to the shop's policies), rendered by `join_page.disclosure`.

A block shows `disclosure.languages[<lang>]` and posts `join_form` with that `locale`, so the
server stores the text it renders itself for that form and language: the text shown is the text
stored. The values are written with `metafieldsSet` by a job (`jobs.storefront.sync_metafields`)
whenever the join page's settings change and at install; a request never waits on Shopify.
"""

from __future__ import annotations

import json
from typing import Any

import phonenumbers
import structlog

from ...clients.shopify import ShopifyError, ShopifyRateLimited, ShopifyTimeout, ShopifyUnavailable
from ...errors import AppError
from ...extensions import db
from ...models import Shop
from ...storefront_text import LANGUAGES, say
from ..contacts import join_page
from ..contacts.join_page import allowed_countries
from .settings import default_region, load_settings
from .tokens import ShopNeedsReauth, admin_query, has_usable_offline_token

log = structlog.get_logger(__name__)

NAMESPACE = "sms_blossom"
INSTALLATION_QUERY = "query AppInstallation { currentAppInstallation { id } }"
METAFIELDS_SET = (
    "mutation MetafieldsSet($metafields: [MetafieldsSetInput!]!) { metafieldsSet(metafields: $metafields) { "
    "metafields { namespace key } userErrors { field message code } } }"
)


class MetafieldsDeferred(Exception):
    """Shopify was throttled, unavailable or slow: the job raises so RQ runs it again."""


def _countries(shop: Shop) -> list[dict[str, str]]:
    try:
        allowed = allowed_countries(shop)
    except AppError:  # no country chosen yet: the blocks show nothing rather than a refused form
        return []
    home = (default_region(shop) or "").upper()
    codes = ([home] if home in allowed else []) + sorted(allowed - {home})
    return [{"code": code, "label": f"{code} +{phonenumbers.country_code_for_region(code)}"} for code in codes]


def storefront_values(shop: Shop) -> dict[str, dict[str, Any]]:
    """Key -> the JSON value of each metafield, as the blocks read them."""
    settings = load_settings(shop)
    languages = {}
    for language in LANGUAGES:
        shown = join_page.disclosure(shop=shop, language=language)
        languages[language] = {
            "language": language,
            "default_headline": say("join_headline", language, shop=join_page.shop_name(shop)),
            "text": shown.text,
            "digest": shown.digest,
            "pieces": [{"text": text, "link": link} for text, link in shown.pieces],
        }
    return {
        "settings": {
            "headline": settings["join_headline"],
            "incentive": settings["join_incentive"],
            "button_color": settings["join_button_color"],
            "button_text_color": settings["join_button_text_color"],
            "countries": _countries(shop),
        },
        "disclosure": {"form": join_page.CURRENT_FORM, "default_language": LANGUAGES[0], "languages": languages},
    }


def sync(*, shop_id: int) -> str:
    """Write the metafields for the shop's app installation; returns the outcome."""
    shop = db.session.get(Shop, shop_id)
    if shop is None or not has_usable_offline_token(shop):
        return "skipped"
    values = storefront_values(shop)
    try:
        owner = _installation_id(admin_query(shop, INSTALLATION_QUERY))
        if not owner:
            log.warning("storefront_metafields_failed", shop_id=shop.id, error="no_installation")
            return "failed"
        metafields = [
            {"ownerId": owner, "namespace": NAMESPACE, "key": key, "type": "json", "value": json.dumps(value)}
            for key, value in values.items()
        ]
        result = admin_query(shop, METAFIELDS_SET, {"metafields": metafields}).get("metafieldsSet")
    except (ShopifyRateLimited, ShopifyUnavailable, ShopifyTimeout) as exc:
        log.warning("storefront_metafields_deferred", shop_id=shop.id, reason=type(exc).__name__)
        raise MetafieldsDeferred(type(exc).__name__) from None
    except ShopNeedsReauth:
        return "needs_reauth"
    except ShopifyError as exc:
        log.warning("storefront_metafields_failed", shop_id=shop.id, error=type(exc).__name__)
        return "failed"
    errors = result.get("userErrors") if isinstance(result, dict) else [{"code": "no_payload"}]
    if errors:
        codes = sorted({str(error.get("code") or "user_error") for error in errors})
        log.warning("storefront_metafields_failed", shop_id=shop.id, error=",".join(codes))
        return "failed"
    log.info("storefront_metafields_written", shop_id=shop.id, keys=sorted(values))
    return "written"


def _installation_id(data: dict[str, object]) -> str:
    installation = data.get("currentAppInstallation")
    return str(installation.get("id") or "") if isinstance(installation, dict) else ""
