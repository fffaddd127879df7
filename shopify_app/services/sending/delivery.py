"""Delivery reports: record every report, then move messages forward only.

sent -> delivered | failed; a late Pending never undoes a final state, a Failed never
overwrites Delivered. Unknown message ids are recorded and ignored (a 404 would make the
provider retry forever). Counters are derived from message states, so they are always exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

import structlog
from marshmallow import ValidationError
from sqlalchemy import bindparam, select, update

from ...bulk import bulk_insert
from ...clients.mitto import MittoError
from ...extensions import db
from ...models import DeliveryEvent, DeliveryOutcome, Message, MessageState, Shop
from ...models.types import utcnow
from ...schemas.mitto import DeliveryReportSchema
from ..billing import credits
from ..billing.plans import plan_for
from ..campaigns import report_cache

log = structlog.get_logger(__name__)

STATUS_OUTCOMES = {
    "delivered": DeliveryOutcome.DELIVERED,
    "failure": DeliveryOutcome.FAILED,
    "failed": DeliveryOutcome.FAILED,
    "undelivered": DeliveryOutcome.FAILED,
    "undeliverable": DeliveryOutcome.FAILED,
    "expired": DeliveryOutcome.FAILED,
    "rejected": DeliveryOutcome.FAILED,
    "pending": DeliveryOutcome.PENDING,
    "sent": DeliveryOutcome.PENDING,
    "buffered": DeliveryOutcome.PENDING,
    "accepted": DeliveryOutcome.PENDING,
    "enroute": DeliveryOutcome.PENDING,
}
# Only messages still waiting for their fate move; final states never change.
ADVANCEABLE = (MessageState.SENT,)


def outcome_of(status: str) -> DeliveryOutcome:
    return STATUS_OUTCOMES.get(status.strip().lower().replace(" ", "").replace("_", ""), DeliveryOutcome.OTHER)


def record_reports(reports: Iterable[Mapping[str, Any]]) -> int:
    """Store validated reports as delivery events (bulk), unapplied; returns how many."""
    now = utcnow()
    rows = [
        {
            "shop_id": None,
            "message_id": None,
            "provider_message_id": report["message_id"],
            "status": (report.get("status") or "")[:32],
            "outcome": outcome_of(report.get("status") or ""),
            "error_code": report.get("error_code"),
            "reported_at": report.get("reported_at"),
            "received_at": now,
            "applied_at": None,
            "result": None,
        }
        for report in reports
    ]
    bulk_insert(DeliveryEvent.__table__, rows)
    db.session.commit()
    return len(rows)


APPLY_PENDING_KEY = "sms_blossom:dlr:apply-enqueued"


def request_apply() -> bool:
    """Enqueue the apply job unless one is already waiting: one job drains every report, so a
    job per request (thousands a minute) would mostly find nothing to do."""
    from ...extensions import redis_ext
    from ...job_names import APPLY_REPORTS

    if not redis_ext.client().set(APPLY_PENDING_KEY, 1, nx=True, ex=300):
        return False
    APPLY_REPORTS.delay()
    return True


def apply_pending(*, limit: int = 2000) -> dict[str, int]:
    """Apply unapplied events, oldest first; safe to run concurrently and twice."""
    events = db.session.execute(
        select(
            DeliveryEvent.id,
            DeliveryEvent.provider_message_id,
            DeliveryEvent.outcome,
            DeliveryEvent.error_code,
            DeliveryEvent.reported_at,
        )
        .where(DeliveryEvent.applied_at.is_(None))
        .order_by(DeliveryEvent.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not events:
        db.session.commit()
        return {}
    messages = dict(
        db.session.execute(
            select(Message.provider_message_id, Message.id).where(
                Message.provider_message_id.in_({event.provider_message_id for event in events})
            )
        ).all()
    )
    shops = dict(db.session.execute(select(Message.id, Message.shop_id).where(Message.id.in_(messages.values()))).all())
    summary: dict[str, int] = {}
    now = utcnow()
    updates = []
    for event in events:
        message_id = messages.get(event.provider_message_id)
        result = _apply(event, message_id, now)
        updates.append({"eid": event.id, "mid": message_id, "sid": shops.get(message_id), "result": result})
        summary[result] = summary.get(result, 0) + 1
    table = DeliveryEvent.__table__
    db.session.execute(
        update(table)
        .where(table.c.id == bindparam("eid"))
        .values(applied_at=now, result=bindparam("result"), message_id=bindparam("mid"), shop_id=bindparam("sid")),
        updates,
    )
    failed = [row["mid"] for row in updates if row["result"] == MessageState.FAILED.value]
    if failed:
        summary["refunded"] = refund_failed(failed)
    db.session.commit()
    for shop_id in {row["sid"] for row in updates if row["sid"] is not None}:
        report_cache.invalidate(shop_id)
    log.info("delivery_reports_applied", **summary)
    return summary


def refund_failed(message_ids: list[int]) -> int:
    """Credits back for charged messages the carrier failed, where the shop's plan says so.
    Keyed per message, so a duplicated or replayed failure report refunds once."""
    rows = db.session.execute(
        select(Message.id, Message.shop_id, Message.campaign_id, Message.credits).where(
            Message.id.in_(message_ids), Message.credits > 0
        )
    ).all()
    plans: dict[int, bool] = {}
    refunds = 0
    for message_id, shop_id, campaign_id, amount in rows:
        if shop_id not in plans:
            plans[shop_id] = plan_for(db.session.get(Shop, shop_id)).refund_failed_deliveries
        if plans[shop_id]:
            refunds += credits.refund_message(
                shop_id=shop_id, campaign_id=campaign_id, message_id=message_id, amount=amount
            )
    return refunds


def _apply(event: Any, message_id: int | None, now: Any) -> str:
    if message_id is None:
        return "unknown_message"
    if event.outcome not in (DeliveryOutcome.DELIVERED, DeliveryOutcome.FAILED):
        return "no_change"
    target = MessageState.DELIVERED if event.outcome == DeliveryOutcome.DELIVERED else MessageState.FAILED
    values: dict[str, Any] = {"state": target}
    if target == MessageState.DELIVERED:
        values["delivered_at"] = event.reported_at or now
    else:
        values["failed_at"], values["error_code"] = event.reported_at or now, (event.error_code or "dlr_failed")[:64]
    # Forward only, decided in the UPDATE itself, so racing appliers cannot move a message back.
    moved = db.session.execute(
        update(Message).where(Message.id == message_id, Message.state.in_(ADVANCEABLE)).values(**values),
        execution_options={"synchronize_session": False},
    ).rowcount
    return target.value if moved else "stale"


def poll_stale(*, client: Any, older_than: timedelta, limit: int = 500) -> dict[str, int]:
    """Ask Mitto (`GET /Messages/{id}`) about messages sent long ago without a final report, and
    apply the answers exactly like pushed reports. `client` is a MittoClient."""
    cutoff = utcnow() - older_than
    stale = db.session.scalars(
        select(Message.provider_message_id)
        .where(Message.state == MessageState.SENT, Message.sent_at < cutoff)
        .where(Message.provider_message_id.is_not(None))
        .order_by(Message.id)
        .limit(limit)
    ).all()
    reports = []
    for provider_id in stale:
        try:
            answer = client.status(provider_id)
        except MittoError as exc:  # one unanswerable id must not stop the rest
            log.info("dlr_poll_failed", error=type(exc).__name__)
            continue
        try:
            reports.append(DeliveryReportSchema().load({"messageId": provider_id, **answer}))
        except ValidationError:
            continue
    record_reports(reports)
    return apply_pending()
