"""Delivery-report jobs."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app

from shopify_app.extensions import redis_ext, sms_backend
from shopify_app.services.contacts import inbound
from shopify_app.services.sending import delivery

from . import job


@job("default", cross_shop=True)
def apply_reports() -> dict[str, int]:
    redis_ext.client().delete(delivery.APPLY_PENDING_KEY)  # reports recorded from now on enqueue again
    totals: dict[str, int] = {}
    while summary := delivery.apply_pending():
        for key, value in summary.items():
            totals[key] = totals.get(key, 0) + value
    return totals


@job("housekeeping", cross_shop=True)
def poll_stale_messages() -> dict[str, int]:
    """Messages still `sent` after DLR_POLL_AFTER_MINUTES: ask Mitto for their status."""
    backend = sms_backend()
    if getattr(backend, "name", None) != "mitto":
        return {}  # console and memory backends have no provider to ask
    minutes = current_app.config["DLR_POLL_AFTER_MINUTES"]
    return delivery.poll_stale(client=backend.client, older_than=timedelta(minutes=minutes))


@job("default")
def process_inbound(inbound_id: int) -> str:
    return inbound.process(inbound_id=inbound_id)
