"""GDPR: Shopify's three mandatory compliance webhooks.

- customers/data_request: a JSON export of everything held about the customer (decrypted),
  kept sealed for the merchant for 30 days and recorded in the audit log.
- customers/redact: the customer's contacts are deleted with their consent history, tags and
  suppression entry; orders and checkouts keep only amounts (aggregates); exports that may
  contain the customer are deleted.
- shop/redact: every row of the shop, in every table with a `shop_id`, then the shop.
Contacts are matched by Shopify customer id, phone (blind index) and email (blind index).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import delete, or_, select, update

from ...errors import Gone, ValidationFailed
from ...extensions import db
from ...jsonable import iso_dates
from ...models import (
    Attribution,
    Automation,
    AutomationRun,
    BackInStockRequest,
    Checkout,
    Click,
    ConsentEvent,
    Contact,
    ContactTag,
    ContactTransfer,
    DeliveryEvent,
    InboundMessage,
    Order,
    PrivacyRequest,
    PrivacyRequestKind,
    RunState,
    Shop,
    ShortLink,
    Suppression,
    TestSend,
    TransferChunk,
    TransferKind,
    TransferStatus,
    WebhookEvent,
)
from ...models.types import utcnow
from ..contacts.contacts import contact_view, detach_messages, parse_phone
from ..contacts.pii import email_hash, phone_hash
from ..ops import audit
from . import leftovers

log = structlog.get_logger(__name__)

EXPORT_RETENTION = timedelta(days=30)


def _customer(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    customer = payload.get("customer")
    return customer if isinstance(customer, Mapping) else {}


def _e164(shop: Shop, raw: object) -> set[str]:
    if not isinstance(raw, str) or not raw.strip():
        return set()
    try:
        return {parse_phone(shop, raw).e164}
    except ValidationFailed:
        return set()


def _phone_digest(shop: Shop, raw: object) -> str | None:
    return next((phone_hash(e164, shop_id=shop.id) for e164 in _e164(shop, raw)), None)


def matching_contacts(*, shop: Shop, customer: Mapping[str, Any]) -> list[Contact]:
    conditions = []
    if isinstance(customer.get("id"), int):
        conditions.append(Contact.shopify_customer_id == customer["id"])
    if digest := _phone_digest(shop, customer.get("phone")):
        conditions.append(Contact.phone_hash == digest)
    if isinstance(customer.get("email"), str) and "@" in customer["email"]:
        conditions.append(Contact.email_hash == email_hash(customer["email"], shop_id=shop.id))
    if not conditions:
        return []
    return list(db.session.scalars(select(Contact).where(Contact.shop_id == shop.id, or_(*conditions))))


def _customer_ids(customer: Mapping[str, Any], contacts: list[Contact]) -> list[int]:
    """The Shopify customer ids: the payload's, and those of the contacts found by phone or
    email (a merchant's lookup names no id, yet the customer's orders carry it)."""
    ids = {contact.shopify_customer_id for contact in contacts if contact.shopify_customer_id is not None}
    if isinstance(customer.get("id"), int):
        ids.add(customer["id"])
    return sorted(ids)


def _orders_of(shop: Shop, customer_ids: list[int], contact_ids: list[int], order_ids: list[int]) -> Any:
    conditions = [
        Order.contact_id.in_(contact_ids),
        Order.shopify_order_id.in_(order_ids),
        Order.shopify_customer_id.in_(customer_ids),
    ]
    return (Order.shop_id == shop.id) & or_(*conditions)


def _checkouts_of(shop: Shop, customer_ids: list[int], contact_ids: list[int]) -> Any:
    conditions = [Checkout.contact_id.in_(contact_ids), Checkout.shopify_customer_id.in_(customer_ids)]
    return (Checkout.shop_id == shop.id) & or_(*conditions)


def _int_list(raw: object) -> list[int]:
    return [value for value in raw if isinstance(value, int)] if isinstance(raw, list) else []


def build_export(*, shop: Shop, payload: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, int]]:
    """Everything held about the customer the payload names, and its counts (no PII)."""
    customer = _customer(payload)
    contacts = matching_contacts(shop=shop, customer=customer)
    contact_ids = [contact.id for contact in contacts]
    customer_ids = _customer_ids(customer, contacts)
    orders = db.session.scalars(
        select(Order).where(_orders_of(shop, customer_ids, contact_ids, _int_list(payload.get("orders_requested"))))
    ).all()
    checkouts = db.session.scalars(select(Checkout).where(_checkouts_of(shop, customer_ids, contact_ids))).all()
    events = db.session.scalars(
        select(ConsentEvent).where(ConsentEvent.contact_id.in_(contact_ids)).order_by(ConsentEvent.id)
    ).all()
    texts = db.session.scalars(
        select(InboundMessage).where(InboundMessage.contact_id.in_(contact_ids)).order_by(InboundMessage.id)
    ).all()
    wishes = db.session.scalars(
        select(BackInStockRequest).where(BackInStockRequest.contact_id.in_(contact_ids)).order_by(BackInStockRequest.id)
    ).all()
    runs = db.session.execute(
        select(Automation.kind, AutomationRun.state, AutomationRun.created_at)
        .join(Automation, Automation.id == AutomationRun.automation_id)
        .where(AutomationRun.contact_id.in_(contact_ids))
        .order_by(AutomationRun.id)
    ).all()
    clicks = db.session.scalars(
        select(Click).where(Click.shop_id == shop.id, Click.contact_id.in_(contact_ids)).order_by(Click.id)
    ).all()
    export = {
        "shop": shop.domain,
        "generated_at": utcnow().isoformat(),
        "shopify_customer_id": customer.get("id"),
        "contacts": [{**contact_view(c), "phone": c.phone} for c in contacts],
        "consent_events": [
            {
                "contact_id": e.contact_id,
                "state": e.state.value,
                "source": e.source.value,
                "consent_text": e.consent_text,
                "ip": e.ip,
                "user_agent": e.user_agent,
                "occurred_at": e.occurred_at.isoformat(),
            }
            for e in events
        ],
        "inbound_texts": [{"text": t.text, "received_at": t.received_at.isoformat()} for t in texts],
        "back_in_stock_requests": [
            {"variant_id": w.variant_id, "state": w.state.value, "requested_at": w.requested_at.isoformat()}
            for w in wishes
        ],
        "link_clicks": [{"clicked_at": c.clicked_at.isoformat(), "user_agent": c.user_agent} for c in clicks],
        "automation_messages": [
            {"automation": kind.value, "state": state.value, "triggered_at": at.isoformat()} for kind, state, at in runs
        ],
        "orders": [
            {"shopify_order_id": o.shopify_order_id, "total_price": str(o.total_price), "currency": o.currency}
            for o in orders
        ],
        "checkouts": [
            {
                "token": c.token,
                "total_price": str(c.total_price),
                "currency": c.currency,
                "completed_at": c.completed_at.isoformat() if c.completed_at else None,
            }
            for c in checkouts
        ],
    }
    summary = {
        "contacts": len(contacts),
        "consent_events": len(events),
        "orders": len(orders),
        "checkouts": len(checkouts),
    }
    return export, summary


def data_request(*, shop: Shop, payload: Mapping[str, Any]) -> PrivacyRequest:
    customer = _customer(payload)
    export, summary = build_export(shop=shop, payload=payload)
    request = PrivacyRequest(
        shop_id=shop.id,
        kind=PrivacyRequestKind.DATA_REQUEST,
        shopify_request_id=str((payload.get("data_request") or {}).get("id") or "") or None,
        shopify_customer_id=customer.get("id") if isinstance(customer.get("id"), int) else None,
        summary=summary,
        expires_at=utcnow() + EXPORT_RETENTION,
    )
    db.session.add(request)
    db.session.flush()
    request.export = json.dumps(export, default=iso_dates)
    audit.record(
        shop_id=shop.id,
        actor="shopify",
        action="customer_data_request",
        target_type="privacy_request",
        target_id=request.id,
        details=request.summary,
    )
    return request


def redact_customer(
    *,
    shop: Shop,
    payload: Mapping[str, Any],
    kind: PrivacyRequestKind = PrivacyRequestKind.CUSTOMER_REDACT,
    actor: str = "shopify",
) -> dict[str, int]:
    """Erase the customer the payload names (customers/redact, or a merchant's erasure)."""
    customer = _customer(payload)
    contacts = matching_contacts(shop=shop, customer=customer)
    contact_ids = [contact.id for contact in contacts]
    customer_ids = _customer_ids(customer, contacts)
    digests = [contact.phone_hash for contact in contacts]
    if digest := _phone_digest(shop, customer.get("phone")):
        digests.append(digest)
    # Read before the rows go: the files and caches to delete are found by these.
    phones = {contact.phone for contact in contacts} | _e164(shop, customer.get("phone"))
    emails = {contact.email for contact in contacts if contact.email}
    if isinstance(customer.get("email"), str):
        emails.add(customer["email"])
    anonymised_orders = db.session.execute(
        update(Order)
        .where(_orders_of(shop, customer_ids, contact_ids, _int_list(payload.get("orders_to_redact"))))
        .values(contact_id=None, shopify_customer_id=None, checkout_token=None)
    ).rowcount
    anonymised_checkouts = db.session.execute(
        update(Checkout)
        .where(_checkouts_of(shop, customer_ids, contact_ids))
        .values(contact_id=None, shopify_customer_id=None, abandoned_checkout_url_ciphertext=None)
    ).rowcount
    db.session.execute(
        delete(InboundMessage).where(
            InboundMessage.shop_id == shop.id,
            or_(InboundMessage.contact_id.in_(contact_ids), InboundMessage.phone_hash.in_(digests)),
        )
    )
    db.session.execute(delete(ConsentEvent).where(ConsentEvent.contact_id.in_(contact_ids)))
    db.session.execute(delete(AutomationRun).where(AutomationRun.contact_id.in_(contact_ids)))
    db.session.execute(delete(Click).where(Click.shop_id == shop.id, Click.contact_id.in_(contact_ids)))
    db.session.execute(delete(ShortLink).where(ShortLink.shop_id == shop.id, ShortLink.contact_id.in_(contact_ids)))
    db.session.execute(
        update(Attribution)
        .where(Attribution.shop_id == shop.id, Attribution.contact_id.in_(contact_ids))
        .values(contact_id=None)
    )
    db.session.execute(delete(BackInStockRequest).where(BackInStockRequest.contact_id.in_(contact_ids)))
    db.session.execute(delete(ContactTag).where(ContactTag.contact_id.in_(contact_ids)))
    detach_messages(shop_id=shop.id, contact_ids=contact_ids)
    db.session.execute(delete(Contact).where(Contact.id.in_(contact_ids)))
    db.session.execute(delete(Suppression).where(Suppression.shop_id == shop.id, Suppression.phone_hash.in_(digests)))
    db.session.execute(delete(TestSend).where(TestSend.shop_id == shop.id, TestSend.phone_hash.in_(digests)))
    files = leftovers.forget_customer(
        shop=shop, contact_ids=contact_ids, customer_ids=customer_ids, phones=phones, emails=emails
    )
    summary = {
        "contacts": len(contact_ids),
        "orders_anonymised": int(anonymised_orders or 0),
        "checkouts_anonymised": int(anonymised_checkouts or 0),
        **files,
    }
    record = PrivacyRequest(shop_id=shop.id, kind=kind, summary=summary)
    db.session.add(record)
    db.session.flush()
    summary["privacy_request_id"] = record.id
    audit.record(shop_id=shop.id, actor=actor, action="customer_redacted", details=summary)
    log.info("customer_redacted", shop_id=shop.id, **summary)
    return summary


def redact_shop(*, shop_id: int, keep_event_id: int | None = None) -> dict[str, int]:
    """Delete every row of the shop in every table with a `shop_id`, children first, then the shop.

    Generated from the metadata, so a table added later cannot be forgotten here.
    """
    deleted: dict[str, int] = {}
    for table in reversed(db.metadata.sorted_tables):
        if "shop_id" not in table.c:
            continue
        statement = delete(table).where(table.c.shop_id == shop_id)
        if table.name == WebhookEvent.__tablename__ and keep_event_id is not None:
            statement = statement.where(table.c.id != keep_event_id)  # the event being processed
        deleted[table.name] = int(db.session.execute(statement).rowcount or 0)
    db.session.execute(update(WebhookEvent).where(WebhookEvent.id == keep_event_id).values(shop_id=None))
    deleted["shops"] = int(db.session.execute(delete(Shop).where(Shop.id == shop_id)).rowcount or 0)
    leftovers.forget_shop(shop_id=shop_id)
    audit.record(
        shop_id=None,
        actor="shopify",
        action="shop_redacted",
        target_type="shop",
        target_id=shop_id,
        details={k: v for k, v in deleted.items() if v},
    )
    log.info("shop_redacted", shop_id=shop_id, rows=sum(deleted.values()))
    return deleted


def delete_expired_exports() -> int:
    result = db.session.execute(
        delete(PrivacyRequest).where(PrivacyRequest.expires_at.is_not(None), PrivacyRequest.expires_at < utcnow())
    )
    db.session.commit()
    return int(result.rowcount or 0)


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


# --- merchant tools --------------------------------------------------------------------------

MERCHANT_EXPORT_RETENTION = timedelta(days=7)


def _lookup_payload(shop: Shop, lookup: Mapping[str, str]) -> dict[str, Any]:
    customer: dict[str, Any] = {}
    if lookup.get("phone"):
        customer["phone"] = parse_phone(shop, lookup["phone"]).e164  # a 422 for a bad number
    if lookup.get("email"):
        customer["email"] = lookup["email"]
    return {"customer": customer}


def request_export(*, shop: Shop, lookup: Mapping[str, str]) -> PrivacyRequest:
    """A merchant asks for a customer's data (the same export as customers/data_request). The
    lookup is kept sealed on the request so the job carries only the request id."""
    payload = _lookup_payload(shop, lookup)
    request = PrivacyRequest(shop_id=shop.id, kind=PrivacyRequestKind.MERCHANT_EXPORT, summary={"status": "pending"})
    db.session.add(request)
    db.session.flush()
    request.export = json.dumps({"lookup": payload})
    db.session.commit()
    return request


def build_merchant_export(*, request_id: int) -> PrivacyRequest | None:
    request = db.session.get(PrivacyRequest, request_id)
    if (
        request is None
        or request.kind != PrivacyRequestKind.MERCHANT_EXPORT
        or request.summary.get("status") != "pending"
    ):
        return None
    shop = db.session.get(Shop, request.shop_id)
    assert shop is not None
    payload = json.loads(request.export or "{}").get("lookup", {})
    export, summary = build_export(shop=shop, payload=payload)
    request.export = json.dumps(export, default=iso_dates)
    request.summary = {**summary, "status": "ready"}
    request.expires_at = utcnow() + MERCHANT_EXPORT_RETENTION
    db.session.commit()
    log.info("merchant_export_ready", shop_id=shop.id, privacy_request_id=request.id)
    return request


def take_merchant_export(request: PrivacyRequest) -> str:
    """The export, once: it is deleted as it is handed over."""
    if request.summary.get("status") != "ready" or request.export is None:
        raise Gone("This export was already downloaded, or has expired.", code="export_gone")
    export = request.export
    request.export_ciphertext = None
    request.summary = {**request.summary, "status": "downloaded"}
    request.expires_at = utcnow()
    db.session.commit()
    return export


def erase(*, shop: Shop, lookup: Mapping[str, str], actor: str) -> PrivacyRequest:
    """A merchant erases a customer: the same erasure as customers/redact, recorded."""
    summary = redact_customer(
        shop=shop, payload=_lookup_payload(shop, lookup), kind=PrivacyRequestKind.MERCHANT_ERASURE, actor=actor
    )
    db.session.commit()
    log.info("merchant_erasure", shop_id=shop.id, privacy_request_id=summary["privacy_request_id"])
    request = db.session.get(PrivacyRequest, summary["privacy_request_id"])
    assert request is not None
    return request
