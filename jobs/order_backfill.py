"""The backfill of past orders (services/automations/order_backfill.py): a page run at a time."""

from __future__ import annotations

from shopify_app.services.automations import order_backfill

from . import job
from .contacts import last_attempt


@job("default")
def run(backfill_id: int) -> str:
    """Up to a few pages of orders, each committed with its cursor; the next run is enqueued."""
    return order_backfill.run(backfill_id=backfill_id, last_attempt=last_attempt())
