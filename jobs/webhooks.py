"""Webhook follow-up jobs."""

from __future__ import annotations

from datetime import timedelta

import structlog

from shopify_app.extensions import db
from shopify_app.services.webhooks import webhook_inbox, webhook_intake

from . import job

log = structlog.get_logger(__name__)
RETRY_AFTER = timedelta(seconds=10)  # then the retry job's own backoff (queueing.py)


@job("webhooks")
def process_webhook_event(event_id: int) -> str:
    return webhook_intake.process_event(event_id=event_id)


@job("webhooks", cross_shop=True)
def drain_webhook_inbox(partition: int) -> int:
    """Process a partition's signalled events in arrival order (webhook_inbox.py)."""
    return webhook_inbox.drain(partition, _process_or_retry)


def _process_or_retry(event_id: int) -> None:
    """One event; one that fails for a passing reason (its failure is recorded on the row)
    becomes its own job with the usual retries, so the rest of the inbox is not held up."""
    try:
        webhook_intake.process_event(event_id=event_id)
    except Exception:
        log.warning("webhook_retry_scheduled", webhook_event_id=event_id)
        process_webhook_event.delay(event_id, delay=RETRY_AFTER)
    finally:
        # What a failure left, and the identity map: the next event reads its rows anew.
        db.session.rollback()
