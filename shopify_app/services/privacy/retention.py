"""Retention: rows deleted once past their use (delivery reports, texts no shop owns, cancelled
automation runs, a finished import's upload left by a crash), by a periodic job.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy import delete, select

from ...extensions import db
from ...models import (
    AutomationRun,
    ContactTransfer,
    DeliveryEvent,
    InboundMessage,
    RunState,
    TransferChunk,
    TransferKind,
    TransferStatus,
)
from ...models.types import utcnow

log = structlog.get_logger(__name__)


# Kept only as long as they are useful: delivery reports feed counters (applied at once) and
# support questions; a text to a number no shop owns has no one to read it; a cancelled
# automation run only explains itself for a while; a finished import's upload not at all.
RETENTION = {
    "delivery_events": timedelta(days=90),
    "unowned_inbound_messages": timedelta(days=30),
    "cancelled_automation_runs": timedelta(days=90),
}
FINISHED = (TransferStatus.COMPLETED, TransferStatus.FAILED)


def apply_retention(*, now: datetime | None = None) -> dict[str, int]:
    """Periodic: delete rows past their retention period (see RETENTION)."""
    now = now or utcnow()
    statements = {
        "delivery_events": delete(DeliveryEvent).where(
            DeliveryEvent.applied_at.is_not(None), DeliveryEvent.applied_at < now - RETENTION["delivery_events"]
        ),
        "unowned_inbound_messages": delete(InboundMessage).where(
            InboundMessage.shop_id.is_(None),
            InboundMessage.received_at < now - RETENTION["unowned_inbound_messages"],
        ),
        "cancelled_automation_runs": delete(AutomationRun).where(
            AutomationRun.state == RunState.CANCELLED,
            AutomationRun.created_at < now - RETENTION["cancelled_automation_runs"],
        ),
        # A finished import's upload is never read again; its end deletes it, this catches a
        # file left by a crash between the two.
        "import_files": delete(TransferChunk).where(
            TransferChunk.transfer_id.in_(
                select(ContactTransfer.id).where(
                    ContactTransfer.kind == TransferKind.IMPORT, ContactTransfer.status.in_(FINISHED)
                )
            )
        ),
    }
    deleted = {name: int(db.session.execute(statement).rowcount or 0) for name, statement in statements.items()}
    db.session.commit()
    if any(deleted.values()):
        log.info("retention_applied", **deleted)
    return deleted
