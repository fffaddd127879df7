"""Whom a privacy request names: the shop's contacts matched by Shopify customer id, phone
(blind index) and email (blind index), the customer's Shopify ids, and the conditions that
find their orders and checkouts. Shared by the data export (data_requests.py) and the
erasure (redaction.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import or_, select

from ...errors import ValidationFailed
from ...extensions import db
from ...models import Checkout, Contact, Order, Shop
from ..contacts.contacts import parse_phone
from ..contacts.pii import email_hash, phone_hash


def payload_customer(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    customer = payload.get("customer")
    return customer if isinstance(customer, Mapping) else {}


def named_phones(shop: Shop, raw: object) -> set[str]:
    if not isinstance(raw, str) or not raw.strip():
        return set()
    try:
        return {parse_phone(shop, raw).e164}
    except ValidationFailed:
        return set()


def phone_digest(shop: Shop, raw: object) -> str | None:
    return next((phone_hash(e164, shop_id=shop.id) for e164 in named_phones(shop, raw)), None)


def matching_contacts(*, shop: Shop, customer: Mapping[str, Any]) -> list[Contact]:
    conditions = []
    if isinstance(customer.get("id"), int):
        conditions.append(Contact.shopify_customer_id == customer["id"])
    if digest := phone_digest(shop, customer.get("phone")):
        conditions.append(Contact.phone_hash == digest)
    if isinstance(customer.get("email"), str) and "@" in customer["email"]:
        conditions.append(Contact.email_hash == email_hash(customer["email"], shop_id=shop.id))
    if not conditions:
        return []
    return list(db.session.scalars(select(Contact).where(Contact.shop_id == shop.id, or_(*conditions))))


def shopify_customer_ids(customer: Mapping[str, Any], contacts: list[Contact]) -> list[int]:
    """The Shopify customer ids: the payload's, and those of the contacts found by phone or
    email (a merchant's lookup names no id, yet the customer's orders carry it)."""
    ids = {contact.shopify_customer_id for contact in contacts if contact.shopify_customer_id is not None}
    if isinstance(customer.get("id"), int):
        ids.add(customer["id"])
    return sorted(ids)


def orders_of(shop: Shop, customer_ids: list[int], contact_ids: list[int], order_ids: list[int]) -> Any:
    conditions = [
        Order.contact_id.in_(contact_ids),
        Order.shopify_order_id.in_(order_ids),
        Order.shopify_customer_id.in_(customer_ids),
    ]
    return (Order.shop_id == shop.id) & or_(*conditions)


def checkouts_of(shop: Shop, customer_ids: list[int], contact_ids: list[int]) -> Any:
    conditions = [Checkout.contact_id.in_(contact_ids), Checkout.shopify_customer_id.in_(customer_ids)]
    return (Checkout.shop_id == shop.id) & or_(*conditions)


def int_list(raw: object) -> list[int]:
    return [value for value in raw if isinstance(value, int)] if isinstance(raw, list) else []


def lookup_payload(shop: Shop, lookup: Mapping[str, str]) -> dict[str, Any]:
    customer: dict[str, Any] = {}
    if lookup.get("phone"):
        customer["phone"] = parse_phone(shop, lookup["phone"]).e164  # a 422 for a bad number
    if lookup.get("email"):
        customer["email"] = lookup["email"]
    return {"customer": customer}
