"""Shopify customers -> contacts, and Shopify-side SMS consent.

Consent is never invented: a customer without `sms_marketing_consent` changes nothing. Opt-outs
always apply. An opt-in applies only when it is newer than the contact's last local consent
change, so a shopper's STOP is never undone by a stale or repeated Shopify `subscribed`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select

from ...errors import ValidationFailed
from ...extensions import db
from ...models import ConsentSource, ConsentState, Contact, Shop
from .contacts import ConsentChange, apply_consent, create_or_merge, find_by_phone, parse_phone
from .pii import phone_hash

log = structlog.get_logger(__name__)

SHOPIFY_SMS_STATES = {
    "subscribed": ConsentState.SUBSCRIBED,
    "not_subscribed": ConsentState.UNSUBSCRIBED,
    "unsubscribed": ConsentState.UNSUBSCRIBED,
    "redacted": ConsentState.UNSUBSCRIBED,
    "invalid": ConsentState.UNSUBSCRIBED,
}


def parse_shopify_time(raw: object) -> datetime | None:
    if not isinstance(raw, str) or not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def customer_phone(payload: Mapping[str, Any]) -> str | None:
    for candidate in (payload.get("phone"), (payload.get("default_address") or {}).get("phone")):
        if isinstance(candidate, str) and candidate.strip():
            return candidate
    return None


def find_customer_contact(*, shop: Shop, customer_id: object, phone: str | None) -> Contact | None:
    if isinstance(customer_id, int):
        contact = db.session.scalar(
            select(Contact).where(Contact.shop_id == shop.id, Contact.shopify_customer_id == customer_id)
        )
        if contact is not None:
            return contact
    if phone:
        try:
            return find_by_phone(shop=shop, e164=parse_phone(shop, phone).e164)
        except ValidationFailed:
            return None
    return None


def apply_shopify_sms_consent(contact: Contact, consent: object) -> bool:
    """Apply Shopify's `sms_marketing_consent` object; True when the contact's state changed."""
    if not isinstance(consent, Mapping):
        return False
    state = SHOPIFY_SMS_STATES.get(str(consent.get("state", "")).lower())
    if state is None or state == contact.consent_state:
        return False  # unknown or pending states, and repeats, change nothing
    updated_at = parse_shopify_time(consent.get("consent_updated_at"))
    last_local = max(filter(None, (contact.consented_at, contact.unsubscribed_at)), default=None)
    if state == ConsentState.SUBSCRIBED and last_local is not None and (updated_at is None or updated_at <= last_local):
        log.info("shopify_opt_in_ignored_older_than_local_consent", contact_id=contact.id)
        return False
    source = consent.get("consent_collected_from") or "unknown"
    level = consent.get("opt_in_level") or "unknown"
    return apply_consent(
        contact,
        ConsentChange(state=state, source=ConsentSource.SHOPIFY, consent_text=f"Shopify ({source}, {level})"),
    )


def upsert_customer(*, shop: Shop, payload: Mapping[str, Any]) -> Contact | None:
    """customers/create and customers/update: the contact for this customer, if it has a phone."""
    customer_id = payload.get("id")
    raw_phone = customer_phone(payload)
    contact = find_customer_contact(shop=shop, customer_id=customer_id, phone=raw_phone)
    profile = {
        key: payload[key] for key in ("first_name", "last_name") if isinstance(payload.get(key), str) and payload[key]
    }
    if isinstance(payload.get("email"), str) and "@" in payload["email"]:
        profile["email"] = payload["email"]
    if contact is None:
        if raw_phone is None:
            return None  # an SMS app has nothing to hold for a customer without a phone
        try:
            phone = parse_phone(shop, raw_phone)
        except ValidationFailed:
            log.info("shopify_customer_phone_invalid", customer_id=customer_id)
            return None
        contact, _ = create_or_merge(shop=shop, phone=phone, data=profile, consent=None)
    else:
        _update_profile(shop, contact, profile, raw_phone)
    if isinstance(customer_id, int):
        contact.shopify_customer_id = customer_id
    apply_shopify_sms_consent(contact, payload.get("sms_marketing_consent"))
    db.session.flush()
    return contact


def _update_profile(shop: Shop, contact: Contact, profile: Mapping[str, Any], raw_phone: str | None) -> None:
    for key, value in profile.items():
        setattr(contact, key, value.strip().lower() if key == "email" else value)
    if raw_phone:
        try:
            phone = parse_phone(shop, raw_phone)
        except ValidationFailed:
            return
        digest = phone_hash(phone.e164, shop_id=shop.id)
        taken = db.session.scalar(select(Contact.id).where(Contact.shop_id == shop.id, Contact.phone_hash == digest))
        if taken is None:  # the customer changed number in Shopify and no other contact has it
            contact.phone_hash, contact.phone = digest, phone.e164
            contact.country_code, contact.timezone = phone.region, phone.timezone


def marketing_consent_update(*, shop: Shop, payload: Mapping[str, Any]) -> Contact | None:
    """customers_marketing_consent/update: Shopify-side opt-ins (checkout, account) and opt-outs."""
    consent = payload.get("sms_marketing_consent")
    raw_phone = payload.get("phone") if isinstance(payload.get("phone"), str) else None
    contact = find_customer_contact(shop=shop, customer_id=payload.get("id"), phone=raw_phone)
    if contact is None:
        state = SHOPIFY_SMS_STATES.get(str((consent or {}).get("state", "")).lower())
        if state != ConsentState.SUBSCRIBED or not raw_phone:
            return None  # nothing to record for an unknown number that is not opting in
        try:
            phone = parse_phone(shop, raw_phone)
        except ValidationFailed:
            return None
        contact, _ = create_or_merge(shop=shop, phone=phone, data={}, consent=None)
    if isinstance(payload.get("id"), int):
        contact.shopify_customer_id = payload["id"]
    apply_shopify_sms_consent(contact, consent)
    db.session.flush()
    return contact
