"""The web pixel: its connection to a shop at install (services/pixel/)."""

from __future__ import annotations

from shopify_app.services.pixel import web_pixel

from . import job


@job("default")
def connect_web_pixel(shop_id: int) -> str:
    """Create or update the shop's pixel; throttling and outages raise (RQ retries)."""
    return web_pixel.connect(shop_id=shop_id)
