"""Webhook follow-up jobs."""

from __future__ import annotations

from shopify_app.services.webhooks import webhook_intake

from . import job


@job("webhooks")
def process_webhook_event(event_id: int) -> str:
    return webhook_intake.process_event(event_id=event_id)
