"""What the theme app extension reads, written to Shopify (services/storefront_metafields.py)."""

from __future__ import annotations

from shopify_app.services.shops import storefront_metafields

from . import job


@job("default")
def sync_metafields(shop_id: int) -> str:
    """Write the shop's app-data metafields; throttling and outages raise (RQ retries)."""
    return storefront_metafields.sync(shop_id=shop_id)
