"""Periodic housekeeping jobs."""

from __future__ import annotations

from datetime import timedelta

from shopify_app.queueing import enqueue
from shopify_app.services.webhooks import webhook_events
from shopify_app.services.webhooks.webhook_intake import unprocessed_event_ids

from . import job


@job(cross_shop=True)
def cleanup_webhook_events() -> dict[str, int]:
    """Delete processed webhook events after 7 days and failed ones after 30."""
    return webhook_events.delete_old_events()


@job(cross_shop=True)
def requeue_unprocessed_webhook_events() -> int:
    """Re-enqueue events recorded but not processed: a crash or Redis outage loses nothing."""
    event_ids = unprocessed_event_ids(older_than=timedelta(minutes=10))
    for event_id in event_ids:
        enqueue("webhooks", "jobs.webhooks.process_webhook_event", event_id)
    return len(event_ids)


@job(cross_shop=True)
def delete_expired_files() -> dict[str, int]:
    """Contact export files after 7 days, GDPR data-request exports after 30."""
    from shopify_app.services.contacts import contact_transfers
    from shopify_app.services.privacy import privacy

    return {
        "export_chunks": contact_transfers.delete_expired_files(),
        "privacy_exports": privacy.delete_expired_exports(),
    }


@job(cross_shop=True)
def fail_stalled_transfers() -> int:
    """Imports and exports whose job died (worker crash, flushed Redis) end `failed`, `stalled`."""
    from shopify_app.services.contacts import contact_transfers

    return contact_transfers.fail_stalled_transfers()


@job(cross_shop=True)
def refresh_expiring_tokens() -> dict[str, int]:
    from shopify_app.services.shops.auth import refresh_expiring_tokens as refresh

    return refresh()


@job(cross_shop=True)
def apply_retention() -> dict[str, int]:
    """GDPR storage limitation: delivery reports, unowned inbound texts, cancelled runs, the
    uploaded files of finished imports."""
    from shopify_app.services.privacy import privacy

    return privacy.apply_retention()


@job(cross_shop=True)
def grant_plan_credits() -> int:
    """Each active subscription's included credits at the start of every 30-day cycle."""
    from shopify_app.services.billing import billing

    return billing.grant_due_cycle_credits()


@job(cross_shop=True)
def compact_message_stats() -> int:
    """Fold the report counters' deltas together (PostgreSQL; nothing to do on SQLite)."""
    from shopify_app.services.campaigns import reports

    return reports.compact_stats()


@job(cross_shop=True)
def check_failed_jobs() -> dict[str, int]:
    """Alert (once per cool-down) when a queue's parked failures pass the threshold."""
    from shopify_app.services.ops import alerts

    return alerts.check_failed_jobs()
