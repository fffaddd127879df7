"""Campaign jobs: one per batch of message ids, and the periodic sweeper."""

from __future__ import annotations

from shopify_app.services.sending import engine as sending

from . import job


@job("campaigns")
def send_batch(campaign_id: int, low: int, high: int) -> dict[str, int]:
    return sending.send_batch(campaign_id=campaign_id, low=low, high=high)


@job("campaigns", cross_shop=True)
def sweep() -> dict[str, int]:
    return sending.sweep()
