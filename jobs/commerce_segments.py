"""Commerce segments: the backfill of past orders (services/automations/order_backfill.py), a few
pages a run, and the roll-up of the last text each contact received (campaigns/last_messaged.py)."""

from __future__ import annotations

from shopify_app.services.automations import order_backfill
from shopify_app.services.campaigns import last_messaged

from . import job
from .contacts import last_attempt


@job("default")
def run_backfill(backfill_id: int) -> str:
    """Up to a few pages of orders, each committed with its cursor; the next run is enqueued."""
    return order_backfill.run(backfill_id=backfill_id, last_attempt=last_attempt())


@job("housekeeping", cross_shop=True)
def roll_up_last_messaged() -> dict[str, int]:
    """Move each contact's `last_messaged_at` up to the texts sent in the last hour."""
    return last_messaged.roll_up_last_messaged()
