"""Retention of recorded webhook deliveries."""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy import delete

from ...extensions import db
from ...models import WebhookEvent, WebhookStatus
from ...models.types import utcnow

log = structlog.get_logger(__name__)

PROCESSED_RETENTION = timedelta(days=7)
FAILED_RETENTION = timedelta(days=30)


def delete_old_events(*, now: datetime | None = None) -> dict[str, int]:
    now = now or utcnow()
    deleted: dict[str, int] = {}
    for status, retention in ((WebhookStatus.PROCESSED, PROCESSED_RETENTION), (WebhookStatus.FAILED, FAILED_RETENTION)):
        result = db.session.execute(
            delete(WebhookEvent).where(WebhookEvent.status == status, WebhookEvent.received_at < now - retention)
        )
        deleted[status.value] = result.rowcount or 0  # type: ignore[attr-defined]
    db.session.commit()
    log.info("webhook_events_cleaned", **deleted)
    return deleted
