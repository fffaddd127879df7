"""Due runs -> message rows of their automation's carrier campaign, enqueued on the campaign
send path, which applies consent, quiet hours, caps, credits, rate limits and exactly-once like
any campaign. A run whose reason went away by then (the order arrived, the automation was
turned off, the shop uninstalled) is cancelled instead.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import and_, or_, select, update

from ...bulk import insert_new
from ...extensions import db
from ...models import (
    Automation,
    AutomationKind,
    AutomationRun,
    Checkout,
    Contact,
    Flow,
    Message,
    MessageState,
    Order,
    RunState,
    Shop,
)
from ...models.types import utcnow
from ..sending.batches import enqueue_batch
from .definitions import carrier_for

log = structlog.get_logger(__name__)


def _cancel_reason(automation: Automation, run: AutomationRun) -> str | None:
    """Why a due run should not send after all (checked when it falls due, not when triggered)."""
    if not automation.enabled:
        return "automation_disabled"
    shop = db.session.get(Shop, automation.shop_id)
    if shop is None or not shop.is_installed:
        return "shop_uninstalled"
    if automation.kind == AutomationKind.ABANDONED_CHECKOUT:
        token = run.trigger_key.removeprefix("checkout:")
        completed = db.session.scalar(
            select(Checkout.id).where(
                Checkout.shop_id == run.shop_id, Checkout.token == token, Checkout.completed_at.is_not(None)
            )
        )
        ordered = db.session.scalar(
            select(Order.id)
            .where(
                Order.shop_id == run.shop_id,
                or_(
                    Order.checkout_token == token,
                    and_(Order.contact_id == run.contact_id, Order.created_at >= run.created_at),
                ),
            )
            .limit(1)
        )
        if completed or ordered:
            return "order_placed"
    # A step the engine queued just before its flow was turned off (the engine reads the switch
    # without a lock): the flow's switch wins at dispatch too.
    if (
        automation.kind == AutomationKind.FLOW_STEP
        and automation.flow_id is not None
        and not db.session.scalar(select(Flow.enabled).where(Flow.id == automation.flow_id))
    ):
        return "flow_disabled"
    if automation.kind == AutomationKind.WIN_BACK:
        last = db.session.scalar(select(Contact.last_order_at).where(Contact.id == run.contact_id))
        if last is not None and last >= run.created_at:
            return "order_placed"
    return None


def dispatch_due(*, now: datetime | None = None, limit: int = 1000, run_ids: list[int] | None = None) -> dict[str, int]:
    """Due pending runs -> message rows of their carrier campaigns, and the batches enqueued.

    Runs are locked (`SKIP LOCKED`) and each message row is unique per run, so two dispatchers
    never create a second message for a run."""
    now = now or utcnow()
    query = select(AutomationRun).where(AutomationRun.state == RunState.PENDING, AutomationRun.due_at <= now)
    if run_ids is not None:
        query = query.where(AutomationRun.id.in_(run_ids))
    runs = list(
        db.session.scalars(
            query.order_by(AutomationRun.due_at, AutomationRun.id).limit(limit).with_for_update(skip_locked=True)
        )
    )
    if not runs:
        db.session.commit()
        return {"queued": 0, "cancelled": 0}
    rows, cancelled = _message_rows(runs, now)
    message_of = _insert_messages(runs, rows)
    db.session.commit()
    spans: dict[int, list[int]] = defaultdict(list)
    for row in rows:
        run_id = row["automation_run_id"]
        if run_id in message_of:
            spans[row["campaign_id"]].append(message_of[run_id])
    shop_of = {row["campaign_id"]: row["shop_id"] for row in rows}
    for campaign_id, ids in spans.items():
        enqueue_batch(campaign_id, min(ids), max(ids) + 1, shop_id=shop_of[campaign_id])
    summary = {"queued": len(message_of), "cancelled": cancelled}
    log.info("automations_dispatched", **summary)
    return summary


def _message_rows(runs: list[AutomationRun], now: datetime) -> tuple[list[dict[str, Any]], int]:
    """The message row of each run still wanted, and how many runs were cancelled instead."""
    automations = {
        a.id: a
        for a in db.session.scalars(select(Automation).where(Automation.id.in_({r.automation_id for r in runs})))
    }
    rows, cancelled = [], 0
    for run in runs:
        automation = automations[run.automation_id]
        reason = _cancel_reason(automation, run)
        if reason:
            run.state, run.cancel_reason = RunState.CANCELLED, reason
            cancelled += 1
            continue
        carrier = carrier_for(automation)
        rows.append(
            {
                "shop_id": run.shop_id,
                "campaign_id": carrier.id,
                "contact_id": run.contact_id,
                "automation_run_id": run.id,
                "state": MessageState.QUEUED.value,
                "attempts": 0,
                "created_at": now,
            }
        )
    return rows, cancelled


def _insert_messages(runs: list[AutomationRun], rows: list[dict[str, Any]]) -> dict[int, int]:
    """Insert the rows (a run that has its message already keeps it) and mark their runs queued;
    the new message id per run id. Not committed."""
    inserted = insert_new(
        Message.__table__,
        rows,
        conflict=("automation_run_id",),
        conflict_where="automation_run_id IS NOT NULL",  # the unique index is partial
        returning=("id", "automation_run_id"),
    )
    message_of = {int(run_id): int(message_id) for message_id, run_id in inserted}
    db.session.execute(
        update(AutomationRun)
        .where(AutomationRun.id.in_([row["automation_run_id"] for row in rows]))
        .values(state=RunState.QUEUED),
        execution_options={"synchronize_session": False},
    )
    for run in runs:
        if run.id in message_of:
            run.message_id = message_of[run.id]
    return message_of
