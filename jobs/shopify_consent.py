"""SMS consent changes on their way to Shopify's customer records (services/shopify_consent.py)."""

from __future__ import annotations

from shopify_app.services.contacts import shopify_consent

from . import job


@job("default")
def push(contact_id: int) -> str:
    """Send the contact's newest pending consent change; throttling and outages raise (RQ retries)."""
    return shopify_consent.push(contact_id=contact_id)


@job("housekeeping", cross_shop=True)
def sweep() -> int:
    """Periodic: changes still pending after 5 minutes (a restart, a flushed Redis) go again."""
    return shopify_consent.sweep()
