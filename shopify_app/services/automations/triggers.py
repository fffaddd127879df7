"""What starts an automation: a trigger records a run, once per (automation, contact, trigger
key), due after the automation's delay; the events that trigger one (a new subscriber, a
checkout, an order, a payment, a fulfillment) or cancel the pending ones (an order placed); and
the dispatch a second after a trigger's run is committed.

The bottom of the package: of the package it imports only definitions.py, and nothing of
campaigns or sending, so whatever tells of events (contacts, commerce, stock) reaches it
without a cycle.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from ...bulk import insert_or_nothing
from ...extensions import db
from ...job_names import AUTOMATIONS_DISPATCH
from ...models import (
    Automation,
    AutomationKind,
    AutomationRun,
    Checkout,
    ConsentSource,
    Contact,
    Message,
    MessageState,
    Order,
    RunState,
    Shop,
)
from ...models.campaign import WAITING_MESSAGE_STATES
from ...models.types import utcnow
from ..contacts.contacts import when_subscribed
from ..flows.runs import start_flows
from .definitions import WELCOMED_SOURCES

log = structlog.get_logger(__name__)

# The automation kinds that are flow triggers too: each trigger of one also starts the shop's
# step-engine flows on it, whether the automation itself is on, off or retired.
FLOW_TRIGGER_KINDS = frozenset(
    {
        AutomationKind.WELCOME,
        AutomationKind.ABANDONED_CHECKOUT,
        AutomationKind.ORDER_CONFIRMATION,
        AutomationKind.SHIPPING_UPDATE,
        AutomationKind.BIRTHDAY,
        AutomationKind.BACK_IN_STOCK,
        AutomationKind.WIN_BACK,
    }
)
# How a subscriber joined, for the "joined" flows: a confirmed double opt-in came by the form.
JOINED_VIA = {
    ConsentSource.KEYWORD: "keyword",
    ConsentSource.PROXY_FORM: "proxy_form",
    ConsentSource.CONFIRMATION_LINK: "proxy_form",
}


def enabled_automation(shop_id: int, kind: AutomationKind) -> Automation | None:
    return db.session.scalar(
        select(Automation).where(
            Automation.shop_id == shop_id, Automation.kind == kind, Automation.enabled, Automation.retired_at.is_(None)
        )
    )


def trigger(
    *,
    shop_id: int,
    kind: AutomationKind,
    contact_id: int,
    key: str,
    context: Mapping[str, Any] | None = None,
    at: datetime | None = None,
    automation: Automation | None = None,
    soon: bool = True,
) -> int | None:
    """Record a run of the shop's `kind` automation for the contact, once per `key`; the new
    run's id, or None when the automation is off or this trigger was seen before. The kind's
    step-engine flows start too (runs/start_flows: once per flow, contact and key)."""
    if kind in FLOW_TRIGGER_KINDS:
        start_flows(shop_id=shop_id, trigger=kind.value, contact_id=contact_id, key=key, context=context, at=at)
    automation = automation or enabled_automation(shop_id, kind)
    if automation is None or not automation.enabled:
        return None
    now = utcnow()
    run_id = insert_or_nothing(
        AutomationRun.__table__,
        {
            "shop_id": shop_id,
            "automation_id": automation.id,
            "contact_id": contact_id,
            "trigger_key": key[:128],
            "state": RunState.PENDING.value,
            "due_at": (at or now) + timedelta(minutes=automation.delay_minutes),
            "context_ciphertext": AutomationRun.context.seal_json(shop_id, context),
            "created_at": now,
        },
        conflict=("automation_id", "contact_id", "trigger_key"),
        returning="id",
    )
    if run_id is not None:
        log.info("automation_triggered", shop_id=shop_id, kind=kind.value, run_id=run_id)
        if soon and automation.delay_minutes == 0:
            db.session.info[DISPATCH_AFTER_COMMIT] = True  # enqueued once the run is committed
    return run_id


DISPATCH_AFTER_COMMIT = "automations_dispatch_after_commit"


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session: Session) -> None:
    """A trigger's run is visible to a dispatcher only once committed: enqueue then (Redis only,
    no SQL, so it is safe in this hook)."""
    if session.info.pop(DISPATCH_AFTER_COMMIT, False):
        dispatch_soon()


@event.listens_for(Session, "after_rollback")
def _forget_dispatch(session: Session) -> None:
    session.info.pop(DISPATCH_AFTER_COMMIT, None)


def dispatch_soon() -> None:
    """A dispatch a second from now; one per second, however many triggers ask. The periodic
    tick is the safety net."""
    second = int(time.time())
    AUTOMATIONS_DISPATCH.delay(delay=timedelta(seconds=1), job_id=f"automations-dispatch-{second}")


def cancel_pending(*, shop_id: int, kinds: tuple[AutomationKind, ...], contact_id: int, reason: str) -> int:
    automation_ids = select(Automation.id).where(Automation.shop_id == shop_id, Automation.kind.in_(kinds))
    # Runs already turned into a message (waiting out quiet hours, or queued) are stopped too.
    dispatched = select(AutomationRun.id).where(
        AutomationRun.automation_id.in_(automation_ids.scalar_subquery()),
        AutomationRun.contact_id == contact_id,
        AutomationRun.state == RunState.QUEUED,
    )
    db.session.execute(
        update(Message)
        .where(
            Message.automation_run_id.in_(dispatched.scalar_subquery()),
            Message.state.in_(WAITING_MESSAGE_STATES),
        )
        .values(state=MessageState.CANCELLED, skip_reason=reason[:32]),
        execution_options={"synchronize_session": False},
    )
    result = db.session.execute(
        update(AutomationRun)
        .where(
            AutomationRun.automation_id.in_(automation_ids.scalar_subquery()),
            AutomationRun.contact_id == contact_id,
            AutomationRun.state == RunState.PENDING,
        )
        .values(state=RunState.CANCELLED, cancel_reason=reason),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount or 0)


@when_subscribed
def on_subscribed(contact: Contact, source: ConsentSource) -> None:
    """The welcome automation: once per contact, ever; and the flows on joining by keyword or form."""
    if source in WELCOMED_SOURCES:
        trigger(shop_id=contact.shop_id, kind=AutomationKind.WELCOME, contact_id=contact.id, key="welcome")
    if source in JOINED_VIA:
        start_flows(
            shop_id=contact.shop_id,
            trigger="joined",
            contact_id=contact.id,
            key="joined",
            context={"source": JOINED_VIA[source]},
        )


def on_checkout(*, shop: Shop, checkout: Checkout) -> None:
    if checkout.contact_id is None:
        return
    if checkout.completed_at is not None:
        cancel_pending(
            shop_id=shop.id,
            kinds=(AutomationKind.ABANDONED_CHECKOUT,),
            contact_id=checkout.contact_id,
            reason="checkout_completed",
        )
        return
    url = checkout.abandoned_checkout_url
    if url:
        trigger(
            shop_id=shop.id,
            kind=AutomationKind.ABANDONED_CHECKOUT,
            contact_id=checkout.contact_id,
            key=f"checkout:{checkout.token}",
            context={"checkout_url": url, "checkout_token": checkout.token},
        )


def on_order(*, shop: Shop, order: Order) -> None:
    """An order cancels the contact's pending cart reminders and win-back."""
    if order.contact_id is not None:
        cancel_pending(
            shop_id=shop.id,
            kinds=(AutomationKind.ABANDONED_CHECKOUT, AutomationKind.WIN_BACK),
            contact_id=order.contact_id,
            reason="order_placed",
        )


def on_order_paid(*, shop: Shop, contact: Contact, order_id: int, order_name: str | None) -> None:
    trigger(
        shop_id=shop.id,
        kind=AutomationKind.ORDER_CONFIRMATION,
        contact_id=contact.id,
        key=f"order:{order_id}",
        context={"order_number": order_name},
    )


def on_fulfillment(
    *, shop: Shop, contact: Contact, fulfillment_id: int, tracking: str, order_name: str | None, url: str | None
) -> None:
    """One text per fulfillment and tracking number: an update that changes nothing sends nothing."""
    trigger(
        shop_id=shop.id,
        kind=AutomationKind.SHIPPING_UPDATE,
        contact_id=contact.id,
        key=f"fulfillment:{fulfillment_id}:{tracking}",
        context={"order_number": order_name, "tracking_url": url},
    )
