"""Periodic housekeeping jobs."""

from __future__ import annotations

from datetime import timedelta

from shopify_app.services.billing import billing
from shopify_app.services.campaigns import reports
from shopify_app.services.contacts import contact_transfers
from shopify_app.services.ops import alerts
from shopify_app.services.privacy import privacy
from shopify_app.services.shops import auth
from shopify_app.services.webhooks import webhook_events
from shopify_app.services.webhooks.webhook_intake import unprocessed_event_ids

from . import job
from .webhooks import process_webhook_event


@job("housekeeping", cross_shop=True)
def cleanup_webhook_events() -> dict[str, int]:
    """Delete processed webhook events after 7 days and failed ones after 30."""
    return webhook_events.delete_old_events()


@job("webhooks", cross_shop=True)
def requeue_unprocessed_webhook_events() -> int:
    """Re-enqueue events recorded but not processed: a crash or Redis outage loses nothing."""
    event_ids = unprocessed_event_ids(older_than=timedelta(minutes=10))
    for event_id in event_ids:
        process_webhook_event.delay(event_id)
    return len(event_ids)


@job("housekeeping", cross_shop=True)
def delete_expired_files() -> dict[str, int]:
    """Contact export files after 7 days, GDPR data-request exports after 30."""
    return {
        "export_chunks": contact_transfers.delete_expired_files(),
        "privacy_exports": privacy.delete_expired_exports(),
    }


@job("housekeeping", cross_shop=True)
def fail_stalled_transfers() -> int:
    """Imports and exports whose job died (worker crash, flushed Redis) end `failed`, `stalled`."""
    return contact_transfers.fail_stalled_transfers()


@job("housekeeping", cross_shop=True)
def refresh_expiring_tokens() -> dict[str, int]:
    return auth.refresh_expiring_tokens()


@job("housekeeping", cross_shop=True)
def apply_retention() -> dict[str, int]:
    """GDPR storage limitation: delivery reports, unowned inbound texts, cancelled runs, the
    uploaded files of finished imports."""
    return privacy.apply_retention()


@job("housekeeping", cross_shop=True)
def grant_plan_credits() -> int:
    """Each active subscription's included credits at the start of every 30-day cycle."""
    return billing.grant_due_cycle_credits()


@job("housekeeping", cross_shop=True)
def compact_message_stats() -> int:
    """Fold the report counters' deltas together (PostgreSQL; nothing to do on SQLite)."""
    return reports.compact_stats()


@job("housekeeping", cross_shop=True)
def check_failed_jobs() -> dict[str, int]:
    """Alert (once per cool-down) when a queue's parked failures pass the threshold."""
    return alerts.check_failed_jobs()
