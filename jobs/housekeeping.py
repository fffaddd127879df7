"""Periodic housekeeping jobs."""

from __future__ import annotations

from shopify_app.services import webhook_events

from . import job


@job
def cleanup_webhook_events() -> dict[str, int]:
    """Delete processed webhook events after 7 days and failed ones after 30."""
    return webhook_events.delete_old_events()
