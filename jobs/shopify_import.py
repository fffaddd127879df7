"""The import of Shopify's SMS subscribers (services/shopify_import.py): start, then poll."""

from __future__ import annotations

from shopify_app.services.contacts import shopify_import

from . import job
from .contacts import last_attempt


@job("default")
def begin(transfer_id: int) -> str:
    """Start the bulk operation; throttling and outages raise (RQ retries, the last one ends it)."""
    return shopify_import.begin(transfer_id=transfer_id, last_attempt=last_attempt())


@job("default")
def poll(transfer_id: int, attempt: int) -> str:
    """One look at the bulk operation: the next poll is enqueued while it runs; never sleeps."""
    return shopify_import.poll(transfer_id=transfer_id, attempt=attempt, last_attempt=last_attempt())
