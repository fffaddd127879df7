"""Orders and checkouts from Shopify: stored per shop for automations and attribution."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import Checkout, Contact, Order, Shop
from ..campaigns.attribution import attribute
from ..contacts.shopify_customers import find_customer_contact, parse_shopify_time
from . import order_facts, triggers


def _money(raw: object) -> Decimal:
    try:
        return Decimal(str(raw)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return Decimal("0")


def _currency(raw: object) -> str | None:
    return raw.upper()[:3] if isinstance(raw, str) and raw else None


def buyer(payload: Mapping[str, Any]) -> tuple[int | None, str | None]:
    """The Shopify customer id and the best phone an order or checkout carries."""
    customer = payload.get("customer") if isinstance(payload.get("customer"), Mapping) else {}
    customer_id = customer.get("id") if isinstance(customer.get("id"), int) else None
    for candidate in (
        payload.get("sms_marketing_phone"),
        payload.get("phone"),
        customer.get("phone"),
        (payload.get("billing_address") or {}).get("phone"),
        (payload.get("shipping_address") or {}).get("phone"),
    ):
        if isinstance(candidate, str) and candidate.strip():
            return customer_id, candidate
    return customer_id, None


def record_order(*, shop: Shop, payload: Mapping[str, Any]) -> Order | None:
    """orders/create: store once per Shopify order id; the first time, count it on the contact
    and attribute it to the campaign that made it."""
    order = store_order(shop=shop, payload=payload)
    if order is not None and order.contact_id is not None:
        attribute(order)
    return order


def store_order(*, shop: Shop, payload: Mapping[str, Any]) -> Order | None:
    """Store the order once per Shopify order id with what the contact bought, and recompute the
    contact's summary; None when it was stored already (the backfill stores past orders so,
    without attributing them)."""
    order_id = payload.get("id")
    if not isinstance(order_id, int):
        return None
    if db.session.scalar(select(Order.id).where(Order.shop_id == shop.id, Order.shopify_order_id == order_id)):
        return None
    customer_id, phone = buyer(payload)
    contact = find_customer_contact(shop=shop, customer_id=customer_id, phone=phone)
    order = Order(
        shop_id=shop.id,
        shopify_order_id=order_id,
        contact_id=contact.id if contact else None,
        shopify_customer_id=customer_id,
        checkout_token=payload.get("checkout_token") if isinstance(payload.get("checkout_token"), str) else None,
        total_price=_money(payload.get("total_price")),
        currency=_currency(payload.get("currency")),
        ordered_at=parse_shopify_time(payload.get("created_at")),
    )
    try:
        with db.session.begin_nested():
            db.session.add(order)
    except IntegrityError:
        return None  # the same order arrived twice at once; the other delivery counted it
    order_facts.record_purchases(shop_id=shop.id, contact_id=order.contact_id, payload=payload)
    order_facts.refresh_summaries(shop_id=shop.id, contact_ids=[order.contact_id])
    return order


def update_order(*, shop: Shop, payload: Mapping[str, Any]) -> Order | None:
    """orders/updated: an order we recorded changed (edited lines, total). An order we never
    recorded is left to orders/create, whose automations would otherwise never fire."""
    order_id = payload.get("id")
    if not isinstance(order_id, int):
        return None
    order = db.session.scalar(select(Order).where(Order.shop_id == shop.id, Order.shopify_order_id == order_id))
    if order is None:
        return None
    if order.contact_id is None:  # the buyer may have subscribed since
        customer_id, phone = buyer(payload)
        contact = find_customer_contact(shop=shop, customer_id=customer_id, phone=phone)
        order.contact_id = contact.id if contact else None
    if "total_price" in payload:
        order.total_price = _money(payload.get("total_price"))
    db.session.flush()
    order_facts.record_purchases(shop_id=shop.id, contact_id=order.contact_id, payload=payload)
    order_facts.refresh_summaries(shop_id=shop.id, contact_ids=[order.contact_id])
    return order


def record_checkout(*, shop: Shop, payload: Mapping[str, Any]) -> Checkout | None:
    """checkouts/create|update: upsert by checkout token with the recovery URL sealed."""
    token = payload.get("token")
    if not isinstance(token, str) or not token:
        return None
    checkout = db.session.scalar(select(Checkout).where(Checkout.shop_id == shop.id, Checkout.token == token))
    updated_at = parse_shopify_time(payload.get("updated_at"))
    if checkout is None:
        checkout = Checkout(shop_id=shop.id, token=token)
        db.session.add(checkout)
    elif checkout.checkout_updated_at and updated_at and updated_at < checkout.checkout_updated_at:
        return checkout  # an older update delivered late
    customer_id, phone = buyer(payload)
    contact = find_customer_contact(shop=shop, customer_id=customer_id, phone=phone)
    checkout.shopify_checkout_id = payload.get("id") if isinstance(payload.get("id"), int) else None
    checkout.shopify_customer_id = customer_id
    checkout.contact_id = contact.id if contact else checkout.contact_id
    url = payload.get("abandoned_checkout_url")
    checkout.abandoned_checkout_url = url if isinstance(url, str) and url.startswith("https://") else None
    checkout.total_price = _money(payload.get("total_price"))
    checkout.currency = _currency(payload.get("currency"))
    checkout.completed_at = parse_shopify_time(payload.get("completed_at"))
    checkout.checkout_updated_at = updated_at
    db.session.flush()
    return checkout


def buyer_contact(*, shop: Shop, payload: Mapping[str, Any]) -> Contact | None:
    customer_id, phone = buyer(payload)
    return find_customer_contact(shop=shop, customer_id=customer_id, phone=phone)


def order_paid(*, shop: Shop, payload: Mapping[str, Any]) -> None:
    """orders/paid: the order confirmation automation (the order is recorded too, in case
    orders/create has not arrived yet)."""
    order = record_order(shop=shop, payload=payload)
    if order is not None:
        triggers.on_order(shop=shop, order=order)
    contact = buyer_contact(shop=shop, payload=payload)
    if contact is not None and isinstance(payload.get("id"), int):
        name = payload.get("name") if isinstance(payload.get("name"), str) else None
        triggers.on_order_paid(shop=shop, contact=contact, order_id=payload["id"], order_name=name)


# Only a fulfillment that left ("success"): "pending"/"open" ones may still be cancelled.
SHIPPED_STATUSES = frozenset({"success"})


def fulfillment_changed(*, shop: Shop, payload: Mapping[str, Any]) -> None:
    """fulfillments/create|update: a shipping update per fulfillment and tracking number."""
    fulfillment_id, order_id = payload.get("id"), payload.get("order_id")
    if not isinstance(fulfillment_id, int) or not isinstance(order_id, int):
        return
    if str(payload.get("status") or "success").lower() not in SHIPPED_STATUSES:
        return  # cancelled, error, failure: nothing is on its way
    contact_id = db.session.scalar(
        select(Order.contact_id).where(Order.shop_id == shop.id, Order.shopify_order_id == order_id)
    )
    contact = db.session.get(Contact, contact_id) if contact_id else None
    if contact is None:
        destination = payload.get("destination") if isinstance(payload.get("destination"), Mapping) else {}
        contact = find_customer_contact(shop=shop, customer_id=None, phone=destination.get("phone"))
    if contact is None:
        return
    numbers = payload.get("tracking_numbers") or [payload.get("tracking_number")]
    urls = payload.get("tracking_urls") or [payload.get("tracking_url")]
    tracking = next((str(n) for n in numbers if n), "")
    url = next((u for u in urls if isinstance(u, str) and u.startswith("https://")), None)
    name = payload.get("name") if isinstance(payload.get("name"), str) else None
    triggers.on_fulfillment(
        shop=shop,
        contact=contact,
        fulfillment_id=fulfillment_id,
        tracking=tracking,
        order_name=name.rsplit(".", 1)[0] if name else None,
        url=url,
    )
