"""The periodic sweep, the send path's safety net: settle what dead workers left (expired
attempt records and leases), requeue due deferrals, re-enqueue the batches of sending
campaigns (a flushed Redis loses jobs, never messages), complete what is done, launch what is
scheduled, and settle rows left waiting in cancelled campaigns."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import delete, select

from ...bulk import id_in, on_postgresql
from ...extensions import db
from ...models import Campaign, CampaignKind, CampaignState, Message, MessageState, SendAttempt
from ...models.types import utcnow
from ..campaigns import report_cache
from ..campaigns.campaigns import cancel_waiting_rows, enqueue_batches, launch_due_scheduled, waiting
from .completion import finish_if_done
from .state import expire_recorded, reclaim_expired_leases, requeue_deferred

log = structlog.get_logger(__name__)

# A batch's rows can reach a cancelled campaign's `queued` or `deferred` after the cancel: a
# deferral written by a batch that claimed before it, a release racing it. Looked for this long.
SETTLE_CANCELLED_WITHIN = timedelta(days=2)


def sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Safety net, run periodically: reclaim expired leases, requeue due deferrals, re-enqueue
    the batches of sending campaigns (a flushed Redis loses jobs, never messages), complete what
    is done, launch scheduled campaigns."""
    now = now or utcnow()
    lost = _expire_attempts(now)
    exhausted, reclaimed, unknown = reclaim_expired_leases(now)
    requeued = requeue_deferred(Message.defer_until.is_not(None), now)
    enqueued = 0
    for campaign in db.session.scalars(select(Campaign).where(Campaign.state == CampaignState.SENDING)):
        if db.session.scalar(select(Message.id).where(*waiting(campaign.id, MessageState.QUEUED)).limit(1)) is not None:
            enqueued += enqueue_batches(campaign=campaign, only_open=True, unless_waiting=True)
        finish_if_done(campaign_id=campaign.id)
    launched = launch_due_scheduled(now=now)
    cancelled = _settle_cancelled(now)
    summary = {
        "reclaimed": reclaimed,
        "exhausted": exhausted,
        "unknown": unknown + lost,
        "requeued": requeued,
        "batches": enqueued,
        "launched": launched,
        "cancelled": cancelled,
    }
    if any(summary.values()):
        log.info("sweep", **summary)
    return summary


def _expire_attempts(now: datetime) -> int:
    """The record path's lost batches: an attempt record past its lease belongs to a batch that
    died after committing it, maybe after calling. Its rows that are still open become
    `unknown` (never resent; their credits held for an operator) and the record goes, in one
    transaction. A record whose rows are still locked belongs to a batch still running: left
    for that batch to close (or a later sweep). Returns the rows made unknown."""
    if not on_postgresql():
        return 0
    table = SendAttempt.__table__
    lost = 0
    for record in _expired_attempts(now):
        ids = [int(value) for value in record.message_ids.strip("{}").split(",") if value]
        present = select(Message.id).where(id_in(Message.id, ids))
        locked = db.session.scalars(present.with_for_update(skip_locked=True, key_share=True)).all()
        if len(locked) < len(db.session.scalars(present).all()):
            db.session.rollback()
            continue
        lost += expire_recorded(record)
        db.session.execute(delete(table).where(table.c.id == record.id))
        db.session.commit()
        log.warning("send_attempt_lost", campaign_id=record.campaign_id, rows=len(ids))
        report_cache.invalidate(record.shop_id)
    return lost


def _expired_attempts(now: datetime, page: int = 1000) -> Iterator[Any]:
    """Every attempt record past its lease, a page at a time in id order (keyset: a record
    left for its live batch is not read again in this sweep)."""
    table = SendAttempt.__table__
    after = 0
    while True:
        rows = db.session.execute(
            select(table).where(table.c.lease_until < now, table.c.id > after).order_by(table.c.id).limit(page)
        ).all()
        yield from rows
        if len(rows) < page:
            return
        after = rows[-1].id


def _settle_cancelled(now: datetime) -> int:
    """Cancel what waits in recently cancelled campaigns and give back the hold it kept."""
    recent = select(Campaign.id).where(
        Campaign.state == CampaignState.CANCELLED,
        Campaign.kind == CampaignKind.BROADCAST,
        Campaign.completed_at >= now - SETTLE_CANCELLED_WITHIN,
    )
    cancelled = 0
    for campaign_id in db.session.scalars(recent).all():
        count = cancel_waiting_rows(campaign_id)
        db.session.commit()
        if count:
            cancelled += count
            finish_if_done(campaign_id=campaign_id)  # a cancelled campaign: settles its hold
            log.info("cancelled_rows_settled", campaign_id=campaign_id, rows=count)
    return cancelled
