"""The web pixel: its connection to a shop at install, and the browse-abandonment sweep
(services/pixel/)."""

from __future__ import annotations

from shopify_app.services.pixel import browse_sweep, web_pixel

from . import job


@job("default")
def connect_web_pixel(shop_id: int) -> str:
    """Create or update the shop's pixel; throttling and outages raise (RQ retries)."""
    return web_pixel.connect(shop_id=shop_id)


@job("automations", cross_shop=True)
def sweep_browse_abandonment() -> dict[str, int]:
    """Periodic: views nobody bought within their flow's window start that flow."""
    return browse_sweep.sweep()
