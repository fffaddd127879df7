"""A customer's data, exported: Shopify's customers/data_request and a merchant's request.

Everything held about the customer the request names (matching.py), decrypted, as one JSON
document kept sealed on its `PrivacyRequest`: 30 days for Shopify's, recorded in the audit
log; a merchant's is built by a job, handed over once, and deleted as it is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import delete, select

from ...errors import Gone
from ...extensions import db
from ...jsonable import iso_dates
from ...models import (
    Automation,
    AutomationRun,
    BackInStockRequest,
    Checkout,
    Click,
    ConsentEvent,
    ContactDiscountCode,
    ContactProduct,
    InboundMessage,
    Order,
    PrivacyRequest,
    PrivacyRequestKind,
    ProductView,
    Shop,
)
from ...models.types import utcnow
from ..contacts.contacts import contact_view
from ..ops import audit
from .matching import (
    checkouts_of,
    int_list,
    lookup_payload,
    matching_contacts,
    orders_of,
    payload_customer,
    shopify_customer_ids,
)

log = structlog.get_logger(__name__)

EXPORT_RETENTION = timedelta(days=30)
MERCHANT_EXPORT_RETENTION = timedelta(days=7)


def build_export(*, shop: Shop, payload: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, int]]:
    """Everything held about the customer the payload names, and its counts (no PII)."""
    customer = payload_customer(payload)
    contacts = matching_contacts(shop=shop, customer=customer)
    contact_ids = [contact.id for contact in contacts]
    customer_ids = shopify_customer_ids(customer, contacts)
    orders = db.session.scalars(
        select(Order).where(orders_of(shop, customer_ids, contact_ids, int_list(payload.get("orders_requested"))))
    ).all()
    checkouts = db.session.scalars(select(Checkout).where(checkouts_of(shop, customer_ids, contact_ids))).all()
    events = db.session.scalars(
        select(ConsentEvent).where(ConsentEvent.contact_id.in_(contact_ids)).order_by(ConsentEvent.id)
    ).all()
    activity = _activity(shop, contact_ids)
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
        **activity,
        **_commerce(orders, checkouts),
        "purchases": _purchases(contact_ids),
    }
    summary = {
        "contacts": len(contacts),
        "consent_events": len(events),
        "orders": len(orders),
        "checkouts": len(checkouts),
    }
    return export, summary


def _activity(shop: Shop, contact_ids: list[int]) -> dict[str, list[dict[str, Any]]]:
    """What the contacts did and were sent: their texts, back-in-stock requests, link clicks,
    product views (the web pixel's) and automation messages."""
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
    views = db.session.scalars(
        select(ProductView)
        .where(ProductView.shop_id == shop.id, ProductView.contact_id.in_(contact_ids))
        .order_by(ProductView.id)
    ).all()
    return {
        "inbound_texts": [{"text": t.text, "received_at": t.received_at.isoformat()} for t in texts],
        "back_in_stock_requests": [
            {"variant_id": w.variant_id, "state": w.state.value, "requested_at": w.requested_at.isoformat()}
            for w in wishes
        ],
        "link_clicks": [{"clicked_at": c.clicked_at.isoformat(), "user_agent": c.user_agent} for c in clicks],
        "product_views": [
            {"product_id": v.product_id, "title": v.product_title, "path": v.url_path, "at": v.viewed_at.isoformat()}
            for v in views
        ],
        "automation_messages": [
            {"automation": kind.value, "state": state.value, "triggered_at": at.isoformat()} for kind, state, at in runs
        ],
    }


def _purchases(contact_ids: list[int]) -> list[dict[str, Any]]:
    """What segments know each contact bought with: product ids and discount codes."""
    products = db.session.execute(
        select(ContactProduct.contact_id, ContactProduct.product_id).where(ContactProduct.contact_id.in_(contact_ids))
    ).all()
    codes = db.session.execute(
        select(ContactDiscountCode.contact_id, ContactDiscountCode.code).where(
            ContactDiscountCode.contact_id.in_(contact_ids)
        )
    ).all()
    return [
        {
            "contact_id": contact_id,
            "product_ids": sorted(p for c, p in products if c == contact_id),
            "discount_codes": sorted(code for c, code in codes if c == contact_id),
        }
        for contact_id in contact_ids
    ]


def _commerce(orders: Sequence[Order], checkouts: Sequence[Checkout]) -> dict[str, list[dict[str, Any]]]:
    return {
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


def data_request(*, shop: Shop, payload: Mapping[str, Any]) -> PrivacyRequest:
    customer = payload_customer(payload)
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


def delete_expired_exports() -> int:
    result = db.session.execute(
        delete(PrivacyRequest).where(PrivacyRequest.expires_at.is_not(None), PrivacyRequest.expires_at < utcnow())
    )
    db.session.commit()
    return int(result.rowcount or 0)


# --- merchant tools --------------------------------------------------------------------------


def request_export(*, shop: Shop, lookup: Mapping[str, str]) -> PrivacyRequest:
    """A merchant asks for a customer's data (the same export as customers/data_request). The
    lookup is kept sealed on the request so the job carries only the request id."""
    payload = lookup_payload(shop, lookup)
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
