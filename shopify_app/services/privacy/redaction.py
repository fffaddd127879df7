"""Erasure: Shopify's customers/redact and shop/redact, and a merchant's erasure of a customer.

- A customer: their contacts are deleted with their consent history, tags, products bought,
  discount codes used, texts, clicks and suppression entry; orders and checkouts keep only
  amounts (aggregates); the files and caches that may hold them go too (leftovers.py).
- A shop: every row of the shop, in every table with a `shop_id`, then the shop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from sqlalchemy import delete, or_, update

from ...extensions import db
from ...models import (
    Attribution,
    AutomationRun,
    BackInStockRequest,
    Checkout,
    Click,
    ConsentEvent,
    Contact,
    ContactDiscountCode,
    ContactProduct,
    ContactTag,
    InboundMessage,
    Order,
    PrivacyRequest,
    PrivacyRequestKind,
    Shop,
    ShopifyFlowAction,
    ShortLink,
    Suppression,
    TestSend,
    WebhookEvent,
)
from ..contacts.contacts import detach_messages
from ..ops import audit
from . import leftovers
from .matching import (
    checkouts_of,
    int_list,
    lookup_payload,
    matching_contacts,
    named_phones,
    orders_of,
    payload_customer,
    phone_digest,
    shopify_customer_ids,
)

log = structlog.get_logger(__name__)


def redact_customer(
    *,
    shop: Shop,
    payload: Mapping[str, Any],
    kind: PrivacyRequestKind = PrivacyRequestKind.CUSTOMER_REDACT,
    actor: str = "shopify",
) -> dict[str, int]:
    """Erase the customer the payload names (customers/redact, or a merchant's erasure)."""
    customer = payload_customer(payload)
    contacts = matching_contacts(shop=shop, customer=customer)
    contact_ids = [contact.id for contact in contacts]
    customer_ids = shopify_customer_ids(customer, contacts)
    digests = [contact.phone_hash for contact in contacts]
    if digest := phone_digest(shop, customer.get("phone")):
        digests.append(digest)
    # Read before the rows go: the files and caches to delete are found by these.
    phones = {contact.phone for contact in contacts} | named_phones(shop, customer.get("phone"))
    emails = {contact.email for contact in contacts if contact.email}
    if isinstance(customer.get("email"), str):
        emails.add(customer["email"])
    anonymised_orders = db.session.execute(
        update(Order)
        .where(orders_of(shop, customer_ids, contact_ids, int_list(payload.get("orders_to_redact"))))
        .values(contact_id=None, shopify_customer_id=None, checkout_token=None)
    ).rowcount
    anonymised_checkouts = db.session.execute(
        update(Checkout)
        .where(checkouts_of(shop, customer_ids, contact_ids))
        .values(contact_id=None, shopify_customer_id=None, abandoned_checkout_url_ciphertext=None)
    ).rowcount
    _delete_contact_rows(shop, contact_ids, digests)
    db.session.execute(  # Shopify Flow's action runs for the customer (a message, the customer id)
        delete(ShopifyFlowAction).where(
            ShopifyFlowAction.shop_id == shop.id, ShopifyFlowAction.shopify_customer_id.in_(customer_ids)
        )
    )
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


def _delete_contact_rows(shop: Shop, contact_ids: list[int], digests: list[str]) -> None:
    """The contacts and every row about them; their messages stay for the reports, pointing at nobody."""
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
    db.session.execute(delete(ContactProduct).where(ContactProduct.contact_id.in_(contact_ids)))
    db.session.execute(delete(ContactDiscountCode).where(ContactDiscountCode.contact_id.in_(contact_ids)))
    detach_messages(shop_id=shop.id, contact_ids=contact_ids)
    db.session.execute(delete(Contact).where(Contact.id.in_(contact_ids)))
    db.session.execute(delete(Suppression).where(Suppression.shop_id == shop.id, Suppression.phone_hash.in_(digests)))
    db.session.execute(delete(TestSend).where(TestSend.shop_id == shop.id, TestSend.phone_hash.in_(digests)))


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


def erase(*, shop: Shop, lookup: Mapping[str, str], actor: str) -> PrivacyRequest:
    """A merchant erases a customer: the same erasure as customers/redact, recorded."""
    summary = redact_customer(
        shop=shop, payload=lookup_payload(shop, lookup), kind=PrivacyRequestKind.MERCHANT_ERASURE, actor=actor
    )
    db.session.commit()
    log.info("merchant_erasure", shop_id=shop.id, privacy_request_id=summary["privacy_request_id"])
    request = db.session.get(PrivacyRequest, summary["privacy_request_id"])
    assert request is not None
    return request
