"""Our Flow triggers: a subscriber joined, a subscriber opted out, a campaign link was clicked.

The events are heard where they are recorded (contacts' `when_subscribed` / `when_unsubscribed`,
the short links' `when_clicked`), inside their transaction. A shop whose enabled workflows do
not use the trigger (lifecycle.py) costs one indexed read and nothing else; for the others the
trigger is noted on the session and enqueued once the transaction commits, so an event that
is rolled back sends nothing. The job reads the contact and sends `flowTriggerReceive` through
the Admin API client (THROTTLED, 429 and 5xx are retried there, then by RQ).

A payload names the Shopify customer (`customer_id`) and non-personal facts only: the consent
source, the campaign's name, the link's address without its query (and, for an automation's
link, a checkout or tracking URL with a token in its path, only its origin). Never a phone
number, in the payload or the logs. userErrors are logged by field and fail the job, so it
lands in the failed-job registry instead of passing for sent.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import structlog
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.orm import Session

from ...extensions import db, redis_ext
from ...job_names import SHOPIFY_FLOW_TRIGGER
from ...models import Campaign, CampaignKind, Click, ConsentSource, Contact, Shop, ShortLink
from ..contacts.contacts import when_subscribed, when_unsubscribed
from ..sending.links import when_clicked
from ..shops.tokens import admin_query
from .definitions import (
    CAMPAIGN_LINK_CLICKED,
    CAMPAIGN_NAME,
    CUSTOMER_ID,
    LINK_URL,
    SOURCE,
    SUBSCRIBER_JOINED,
    SUBSCRIBER_OPTED_OUT,
    TRIGGERS,
)
from .lifecycle import trigger_enabled

log = structlog.get_logger(__name__)

FLOW_TRIGGER_RECEIVE = (
    "mutation FlowTriggerReceive($handle: String, $payload: JSON) { "
    "flowTriggerReceive(handle: $handle, payload: $payload) { userErrors { field message } } }"
)
_AFTER_COMMIT_KEY = "shopify_flow_triggers_after_commit"


class FlowTriggerRejected(Exception):
    """Flow answered userErrors: nothing was started. The message names fields, never values."""


# --- hearing the events (inside their transaction) ----------------------------------------------


@when_subscribed
def on_subscribed(contact: Contact, source: ConsentSource) -> None:
    _note(contact.shop_id, SUBSCRIBER_JOINED, contact_id=contact.id, source=source.value)


@when_unsubscribed
def on_unsubscribed(contact: Contact, source: ConsentSource) -> None:
    _note(contact.shop_id, SUBSCRIBER_OPTED_OUT, contact_id=contact.id, source=source.value)


@when_clicked
def on_clicked(click: Click, link: ShortLink) -> None:
    if click.contact_id is not None:  # a link of a test send has no contact, so no customer
        _note(click.shop_id, CAMPAIGN_LINK_CLICKED, contact_id=click.contact_id, click_id=click.id)


def _note(
    shop_id: int, handle: str, *, contact_id: int, click_id: int | None = None, source: str | None = None
) -> None:
    if trigger_enabled(shop_id=shop_id, handle=handle):
        db.session.info.setdefault(_AFTER_COMMIT_KEY, []).append((shop_id, handle, contact_id, click_id, source))


@event.listens_for(Session, "after_commit")
def _enqueue_after_commit(session: Session) -> None:
    """The event is real once committed. Redis only here, no SQL."""
    for shop_id, handle, contact_id, click_id, source in session.info.pop(_AFTER_COMMIT_KEY, ()):
        # Without Redis a job runs inside its enqueuer, here inside a commit hook: the scheduled
        # registry takes it instead, as for the consent push (services/contacts/shopify_consent.py).
        delay = None if redis_ext.queue(SHOPIFY_FLOW_TRIGGER.queue).is_async else timedelta(seconds=1)
        try:
            SHOPIFY_FLOW_TRIGGER.delay(shop_id, handle, contact_id, click_id, source, delay=delay, scope=shop_id)
        except RedisError:  # the event itself is committed and must not fail for a notification
            log.warning("shopify_flow_trigger_enqueue_failed", shop_id=shop_id, handle=handle)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT_KEY, None)


# --- sending (the job) ----------------------------------------------------------------------------


def send_trigger(*, shop_id: int, handle: str, contact_id: int, click_id: int | None, source: str | None) -> str:
    """Send one trigger to Flow; the outcome. Throttling and outages raise (RQ retries)."""
    definition = TRIGGERS[handle]
    shop = db.session.get(Shop, shop_id)
    if shop is None or not shop.is_installed:
        return "shop_uninstalled"
    if not trigger_enabled(shop_id=shop_id, handle=handle):
        return "disabled"  # the workflow was turned off since
    contact = db.session.get(Contact, contact_id)
    customer_id = contact.shopify_customer_id if contact is not None else None
    if customer_id is None and definition.needs_customer:
        log.info("shopify_flow_trigger_skipped", shop_id=shop_id, handle=handle, reason="no_customer")
        return "no_customer"
    payload: dict[str, Any] = {CUSTOMER_ID: customer_id} if customer_id is not None else {}
    if SOURCE in definition.fields:
        payload[SOURCE] = source or ""
    if click_id is not None:
        payload.update(_click_facts(click_id))
    data = admin_query(shop, FLOW_TRIGGER_RECEIVE, {"handle": handle, "payload": payload})
    result = data.get("flowTriggerReceive")
    errors = result.get("userErrors") if isinstance(result, dict) else [{"field": None}]
    if errors:
        fields = sorted({".".join(str(part) for part in error.get("field") or ["?"]) for error in errors})
        log.error("shopify_flow_trigger_rejected", shop_id=shop_id, handle=handle, fields=fields, errors=len(errors))
        raise FlowTriggerRejected(f"Flow refused trigger {handle} for shop {shop_id}: fields {', '.join(fields)}")
    log.info("shopify_flow_trigger_sent", shop_id=shop_id, handle=handle, contact_id=contact_id)
    return "sent"


def _click_facts(click_id: int) -> dict[str, str]:
    click = db.session.get(Click, click_id)
    if click is None:
        return {CAMPAIGN_NAME: "", LINK_URL: ""}
    campaign = db.session.get(Campaign, click.campaign_id) if click.campaign_id is not None else None
    link = db.session.get(ShortLink, click.short_link_id)
    broadcast = campaign is not None and campaign.kind == CampaignKind.BROADCAST
    return {
        CAMPAIGN_NAME: campaign.name if campaign is not None else "",
        LINK_URL: public_url(link.url if link is not None else None, keep_path=broadcast),
    }


def public_url(url: str | None, *, keep_path: bool) -> str:
    """`url` without its query and fragment (where tokens and tracking ids live); without its
    path too unless `keep_path` (an automation's checkout or tracking link has one in its path)."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")  # no user:password@
    except ValueError:
        return ""
    return urlunsplit((parts.scheme, host, parts.path if keep_path else "/", "", ""))
