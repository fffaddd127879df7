"""Our Flow actions: "Send SMS" to a customer and "Add subscriber tag".

Flow POSTs an action run to its `runtime_url` and wants a 2xx within 10 seconds; a timeout,
a 429 or a 5xx it retries for 24 hours, any other 4xx fails the step for good. So the request
is recorded once per (shop, `action_run_id`) and committed, answered 200, and the work is a job
(`run_action`). A retry of a recorded run records nothing new; while its job has not finished,
the retry enqueues it again, which is safe: the job is idempotent.

The job finds the contact by the Shopify customer id. "Send SMS" sends only to a subscribed
contact (else the outcome is `not_subscribed` and nothing is recorded for sending), as a run of
the shop's internal `shopify_flow` automation keyed on the action run id, through the campaign
send path (consent, quiet hours, the frequency cap, credits, exactly-once): a job re-run after
a crash finds its run and sends nothing twice. "Add subscriber tag" adds the tag through the
contacts service. The outcome is written on the request row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import select

from ...bulk import insert_or_nothing
from ...errors import ValidationFailed
from ...extensions import db, redis_ext
from ...job_names import SHOPIFY_FLOW_ACTION
from ...models import (
    Automation,
    AutomationKind,
    AutomationRun,
    ConsentState,
    Contact,
    Message,
    MessageState,
    Shop,
    ShopifyFlowAction,
    ShopifyFlowActionState,
)
from ...models.types import utcnow
from ..automations.definitions import carrier_for, create_automation
from ..automations.dispatch import dispatch_due
from ..automations.triggers import trigger
from ..contacts.contacts import add_tags
from ..sending.rendering import MAX_BODY_LENGTH, TemplateError, render, validate_template
from .definitions import ADD_SUBSCRIBER_TAG, CUSTOMER_ID, MESSAGE_VARIABLES, SEND_SMS

log = structlog.get_logger(__name__)

_NOT_SENT = frozenset({MessageState.SKIPPED, MessageState.CANCELLED, MessageState.FAILED})


# --- recording (the request) ----------------------------------------------------------------------


def record_action(*, shop: Shop, handle: str, action_run_id: str, properties: Mapping[str, Any]) -> tuple[int, str]:
    """Record the action run once and commit; (its row id, "accepted" or "duplicate")."""
    sealed = ShopifyFlowAction.properties.seal_json(shop.id, properties)  # never empty: a customer id
    now = utcnow()
    row_id = insert_or_nothing(
        ShopifyFlowAction.__table__,
        {
            "shop_id": shop.id,
            "action_run_id": action_run_id,
            "handle": handle,
            "shopify_customer_id": properties.get(CUSTOMER_ID),
            "properties_ciphertext": sealed,
            "state": ShopifyFlowActionState.RECEIVED.value,
            "attempts": 0,
            "received_at": now,
        },
        conflict=("shop_id", "action_run_id"),
        returning="id",
    )
    status = "accepted"
    if row_id is None:
        status = "duplicate"
        row_id = db.session.scalar(
            select(ShopifyFlowAction.id).where(
                ShopifyFlowAction.shop_id == shop.id, ShopifyFlowAction.action_run_id == action_run_id
            )
        )
    db.session.commit()
    log.info("shopify_flow_action_received", shop_id=shop.id, handle=handle, action_id=row_id, status=status)
    return int(row_id), status


def needs_run(action_id: int) -> bool:
    return db.session.scalar(select(ShopifyFlowAction.state).where(ShopifyFlowAction.id == action_id)) != (
        ShopifyFlowActionState.DONE
    )


def enqueue(*, shop_id: int, action_id: int) -> None:
    """Hand the recorded run to its job (RedisError leaves: the caller answers 503, Flow retries)."""
    # Without Redis the job would run inside the request Flow waits on: scheduled instead.
    delay = None if redis_ext.queue(SHOPIFY_FLOW_ACTION.queue).is_async else timedelta(seconds=1)
    SHOPIFY_FLOW_ACTION.delay(action_id, delay=delay, scope=shop_id)


# --- doing the work (the job) ---------------------------------------------------------------------


def run_action(*, action_id: int) -> str:
    """Do the recorded action once; its outcome (the recorded one when already done)."""
    row = db.session.get(ShopifyFlowAction, action_id)
    if row is None:
        return "gone"
    if row.state == ShopifyFlowActionState.DONE:
        return str(row.outcome)
    shop = db.session.get(Shop, row.shop_id)
    assert shop is not None  # the row cascades with its shop
    row.attempts += 1
    db.session.commit()
    properties = json.loads(row.properties or "{}")
    outcome = _HANDLERS[row.handle](shop, properties, row)
    row.state, row.outcome, row.completed_at = ShopifyFlowActionState.DONE, outcome, utcnow()
    db.session.commit()
    log.info("shopify_flow_action_done", shop_id=shop.id, action_id=action_id, handle=row.handle, outcome=outcome)
    return outcome


def _contact(shop: Shop, properties: Mapping[str, Any]) -> Contact | None:
    customer_id = properties.get(CUSTOMER_ID)
    if not isinstance(customer_id, int):
        return None
    return db.session.scalar(
        select(Contact)
        .where(Contact.shop_id == shop.id, Contact.shopify_customer_id == customer_id)
        .order_by(Contact.id)
        .limit(1)
    )


def render_message(body: str, *, shop: Shop, contact: Contact) -> str:
    """The merchant's text with our variables filled in; TemplateError if it cannot be sent."""
    validate_template(body, MESSAGE_VARIABLES)
    text = render(body, {"first_name": contact.first_name, "last_name": contact.last_name, "shop_name": shop.name})
    if not text.strip() or len(text) > MAX_BODY_LENGTH:
        raise TemplateError("The message is empty or too long once filled in.")
    return text


def _send_sms(shop: Shop, properties: Mapping[str, Any], row: ShopifyFlowAction) -> str:
    contact = _contact(shop, properties)
    if contact is None:
        return "no_contact"
    if contact.consent_state != ConsentState.SUBSCRIBED:
        return "not_subscribed"
    try:
        text = render_message(str(properties.get("message") or ""), shop=shop, contact=contact)
    except TemplateError:
        return "invalid_message"
    automation = flow_automation(shop)
    key = f"flow:{row.action_run_id}"
    run_id = trigger(
        shop_id=shop.id,
        kind=AutomationKind.SHOPIFY_FLOW,
        contact_id=contact.id,
        key=key,
        context={"text": text},
        automation=automation,
        soon=False,
    )
    db.session.commit()
    if run_id is not None:  # a re-run finds the first run (dispatched, or due for the periodic dispatch)
        dispatch_due(run_ids=[run_id])
    db.session.expire_all()
    run = db.session.scalar(
        select(AutomationRun).where(
            AutomationRun.automation_id == automation.id,
            AutomationRun.contact_id == contact.id,
            AutomationRun.trigger_key == key[:128],
        )
    )
    message = db.session.scalar(select(Message).where(Message.automation_run_id == run.id)) if run else None
    if message is None:
        return "not_queued"
    return "not_sent" if message.state in _NOT_SENT else "queued"


def flow_automation(shop: Shop) -> Automation:
    """The shop's internal `shopify_flow` automation (always on) and its carrier, made on first use."""
    create_automation(shop, AutomationKind.SHOPIFY_FLOW, enabled=True)
    automation = db.session.scalar(
        select(Automation).where(Automation.shop_id == shop.id, Automation.kind == AutomationKind.SHOPIFY_FLOW)
    )
    assert automation is not None
    automation.enabled = True  # an uninstall turns automations off; a reinstalled shop's Flow sends again
    carrier_for(automation)
    return automation


def _add_tag(shop: Shop, properties: Mapping[str, Any], row: ShopifyFlowAction) -> str:
    contact = _contact(shop, properties)
    if contact is None:
        return "no_contact"
    tag = str(properties.get("tag") or "")
    if tag in contact.tag_names:
        return "already_tagged"
    try:
        add_tags(shop=shop, contact_id=contact.id, tags=[tag])
    except ValidationFailed:
        db.session.rollback()
        return "too_many_tags"
    return "tagged"


_HANDLERS: dict[str, Callable[[Shop, Mapping[str, Any], ShopifyFlowAction], str]] = {
    SEND_SMS: _send_sms,
    ADD_SUBSCRIBER_TAG: _add_tag,
}
