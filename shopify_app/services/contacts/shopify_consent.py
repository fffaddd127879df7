"""Our SMS consent changes, kept in step with the Shopify customer: recorded first, sent after.

`record` runs inside `apply_consent` (the one place consent changes), in the change's own
transaction: it writes an outbox row (models/shopify_sync.py) and, once the transaction
commits, a job sends it (`push`). A change that came from Shopify is not recorded (no echo);
neither is a pending double opt-in (nothing to tell Shopify yet) nor an erasure (it deletes the
contact and its rows, and Shopify's record of an erased customer is not ours to change).

`push` sends only the contact's newest pending row and marks older ones superseded, under a
per-contact lock, so a stale SUBSCRIBED never lands after a newer UNSUBSCRIBED. Throttling,
5xx and timeouts leave the row pending and raise, so RQ retries; `sweep` re-enqueues rows still
pending after a while (a restart, a flushed Redis, an outage that outlasted RQ's retries).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from ...config import current_config
from ...extensions import db, redis_ext
from ...job_names import PUSH_CONSENT
from ...models import ConsentSource, ConsentState, Contact, OutboxStatus, Shop, ShopifyConsentSync, ShopifySyncState
from ...models.types import utcnow

log = structlog.get_logger(__name__)

LOCK_KEY = "shopify-consent-sync:{contact_id}"
LOCK_SECONDS = 120
_AFTER_COMMIT_KEY = "shopify_consent_after_commit"
CONFIRMED_OPT_IN = "CONFIRMED_OPT_IN"
SINGLE_OPT_IN = "SINGLE_OPT_IN"

CUSTOMER_BY_PHONE = "query CustomerByPhone($query: String!) { customers(first: 1, query: $query) { nodes { id } } }"
CONSENT_UPDATE = (
    "mutation ConsentUpdate($input: CustomerSmsMarketingConsentUpdateInput!) { "
    "customerSmsMarketingConsentUpdate(input: $input) { "
    "customer { id smsMarketingConsent { marketingState marketingOptInLevel consentUpdatedAt } } "
    "userErrors { field message code } } }"
)
CUSTOMER_CREATE = (
    "mutation CustomerCreate($input: CustomerInput!) { customerCreate(input: $input) { "
    "customer { id } userErrors { field message } } }"
)


# --- recording (inside the consent change's transaction) -----------------------------------------


def record(contact: Contact, *, previous: ConsentState, source: ConsentSource, at: datetime) -> None:
    """Write the outbox row for a consent change `apply_consent` just made to `contact`."""
    if not current_config()["SHOPIFY_CONSENT_SYNC"] or source == ConsentSource.SHOPIFY:
        return
    if contact.consent_state == ConsentState.SUBSCRIBED:
        state = "SUBSCRIBED"
        level = CONFIRMED_OPT_IN if previous == ConsentState.PENDING else SINGLE_OPT_IN
    elif contact.consent_state == ConsentState.UNSUBSCRIBED:
        state, level = "UNSUBSCRIBED", None
    else:
        return  # pending: the shopper has not confirmed anything Shopify should know
    db.session.add(
        ShopifyConsentSync(
            shop_id=contact.shop_id, contact_id=contact.id, marketing_state=state, opt_in_level=level, consent_at=at
        )
    )
    contact.shopify_sync = ShopifySyncState.PENDING.value
    db.session.info.setdefault(_AFTER_COMMIT_KEY, set()).add(contact.id)


@event.listens_for(Session, "after_commit")
def _push_after_commit(session: Session) -> None:
    """The row is visible to a worker only once committed. Redis only here, no SQL."""
    for contact_id in sorted(session.info.pop(_AFTER_COMMIT_KEY, ())):
        _enqueue_push(contact_id)


@event.listens_for(Session, "after_rollback")
def _forget_push(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT_KEY, None)


def _enqueue_push(contact_id: int, *, delay: timedelta | None = None) -> None:
    # Without Redis the queue runs a job inside the enqueuing request: a delay sends it to the
    # scheduled registry instead, so the shopper never waits on Shopify.
    if delay is None and not redis_ext.queue("default").is_async:
        delay = timedelta(seconds=1)
    PUSH_CONSENT.delay(contact_id, delay=delay)


# --- sending (the job) ---------------------------------------------------------------------------


class SyncDeferred(Exception):
    """Shopify was throttled, unavailable or slow: the row stays pending and the job retries."""


def push(*, contact_id: int) -> str:
    """Send the contact's newest pending change to Shopify. Idempotent; returns the outcome."""
    lock = redis_ext.client().lock(LOCK_KEY.format(contact_id=contact_id), timeout=LOCK_SECONDS)
    if not lock.acquire(blocking=False):
        _enqueue_push(contact_id, delay=timedelta(seconds=10))  # after the push in flight
        return "busy"
    try:
        return _push_locked(contact_id)
    finally:
        lock.release()


def _push_locked(contact_id: int) -> str:
    rows = list(
        db.session.scalars(
            select(ShopifyConsentSync)
            .where(ShopifyConsentSync.contact_id == contact_id, ShopifyConsentSync.status == OutboxStatus.PENDING)
            .order_by(ShopifyConsentSync.id)
        )
    )
    if not rows:
        return "nothing_pending"
    *older, row = rows
    for stale in older:
        stale.status = OutboxStatus.SUPERSEDED
    contact = db.session.get(Contact, contact_id)
    shop = db.session.get(Shop, row.shop_id)
    assert contact is not None  # the row cascades with its contact
    assert shop is not None
    db.session.commit()
    try:
        outcome = _send(shop, contact, row)
    except SyncDeferred as deferred:
        row.attempts += 1
        row.error = str(deferred)[:64]
        db.session.commit()
        log.warning("shopify_consent_deferred", shop_id=shop.id, contact_id=contact_id, reason=row.error)
        raise
    row.status = outcome
    row.attempts += 1
    contact.shopify_sync = {
        OutboxStatus.SENT: ShopifySyncState.SYNCED,
        OutboxStatus.NOT_SYNCED: ShopifySyncState.NOT_SYNCED,
        OutboxStatus.FAILED: ShopifySyncState.FAILED,
    }[outcome].value
    db.session.commit()
    log.info("shopify_consent_pushed", shop_id=shop.id, contact_id=contact_id, outcome=outcome.value, error=row.error)
    return outcome.value


def _send(shop: Shop, contact: Contact, row: ShopifyConsentSync) -> OutboxStatus:
    from ...clients.shopify import ShopifyError, ShopifyRateLimited, ShopifyTimeout, ShopifyUnavailable
    from ..shops.auth import ShopNeedsReauth, admin_query

    consent: dict[str, Any] = {"marketingState": row.marketing_state, "consentUpdatedAt": row.consent_at.isoformat()}
    if row.opt_in_level:
        consent["marketingOptInLevel"] = row.opt_in_level
    try:
        customer_id = contact.shopify_customer_id or _customer_by_phone(shop, contact, admin_query)
        if customer_id is None:
            if row.marketing_state != "SUBSCRIBED" or not _adds_subscribers(shop):
                return OutboxStatus.NOT_SYNCED
            operation, created = "customerCreate", True
            data = admin_query(
                shop, CUSTOMER_CREATE, {"input": {"phone": _phone(contact), "smsMarketingConsent": consent}}
            )
        else:
            operation, created = "customerSmsMarketingConsentUpdate", False
            variables = {"input": {"customerId": _gid(customer_id), "smsMarketingConsent": consent}}
            data = admin_query(shop, CONSENT_UPDATE, variables)
        result = _payload(data, operation)
    except (ShopifyRateLimited, ShopifyUnavailable, ShopifyTimeout) as exc:
        raise SyncDeferred(type(exc).__name__) from None
    except ShopNeedsReauth:
        row.error = "needs_reauth"
        return OutboxStatus.FAILED
    except ShopifyError as exc:
        row.error = type(exc).__name__
        return OutboxStatus.FAILED
    if result.get("userErrors"):
        codes = sorted({str(error.get("code") or "user_error") for error in result["userErrors"]})
        row.error = ",".join(codes)[:64]
        return OutboxStatus.FAILED
    customer_gid = str((result.get("customer") or {}).get("id") or "")
    if created and customer_gid:
        contact.shopify_customer_id = int(customer_gid.rsplit("/", 1)[-1])
    row.error = None
    return OutboxStatus.SENT


def _customer_by_phone(shop: Shop, contact: Contact, admin_query: Any) -> int | None:
    data = admin_query(shop, CUSTOMER_BY_PHONE, {"query": f"phone:{_phone(contact)}"})
    nodes = ((data.get("customers") or {}).get("nodes")) or []
    if not nodes:
        return None
    customer_id = int(str(nodes[0]["id"]).rsplit("/", 1)[-1])
    contact.shopify_customer_id = customer_id  # linked from now on: later changes skip the lookup
    return customer_id


def _payload(data: dict[str, Any], operation: str) -> dict[str, Any]:
    payload = data.get(operation)
    return payload if isinstance(payload, dict) else {"userErrors": [{"code": "no_payload"}]}


def _adds_subscribers(shop: Shop) -> bool:
    from ..shops.settings import load_settings

    return bool(load_settings(shop)["add_subscribers_to_shopify"])


def _phone(contact: Contact) -> str:
    return str(contact.phone)


def _gid(customer_id: int) -> str:
    return f"gid://shopify/Customer/{customer_id}"


# --- the safety net ------------------------------------------------------------------------------


def sweep(*, older_than: timedelta = timedelta(minutes=5), limit: int = 500) -> int:
    """Re-enqueue contacts whose changes are still pending after `older_than` (cross-shop)."""
    cutoff = utcnow() - older_than
    contact_ids = list(
        db.session.scalars(
            select(ShopifyConsentSync.contact_id)
            .where(ShopifyConsentSync.status == OutboxStatus.PENDING, ShopifyConsentSync.updated_at <= cutoff)
            .group_by(ShopifyConsentSync.contact_id)
            .limit(limit)
        )
    )
    # Touched, so the next sweep waits again instead of piling up jobs behind a long outage.
    db.session.execute(
        update(ShopifyConsentSync)
        .where(ShopifyConsentSync.contact_id.in_(contact_ids), ShopifyConsentSync.status == OutboxStatus.PENDING)
        .values(updated_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()
    for contact_id in contact_ids:
        PUSH_CONSENT.delay(contact_id)
    return len(contact_ids)
