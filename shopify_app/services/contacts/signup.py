"""Storefront sign-up through the app proxy, with double opt-in and abuse limits.

SMS pumping (bots entering premium numbers to make the merchant pay for texts) is the main
attack on a public sign-up form, so every sign-up passes fixed-window limits per shopper IP,
per phone number and per shop, and a destination-country allow-list (default: the shop's own
country) before any text is sent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import select

from ...errors import NotFound, TooManyRequests
from ...extensions import db, redis_ext
from ...job_names import SEND_DOUBLE_OPT_IN
from ...models import AutomationKind, ConsentEvent, ConsentSource, ConsentState, Contact, Message, MessageState, Shop
from ...models.campaign import WAITING_MESSAGE_STATES
from ...security.link_tokens import LinkClaims, link_url, make_link_token
from ..sending.ratelimit import KEY_PREFIX as RATE_KEY_PREFIX
from ..sending.ratelimit import FixedWindowLimit
from ..shops.settings import default_region, sender_for
from .contacts import ConsentChange, apply_consent, contact_phone, create_or_merge
from .join_page import allowed_countries
from .outbox import send_notice
from .phones import normalise_phone, phone_error
from .pii import limit_subject

log = structlog.get_logger(__name__)

# (scope, limit, window seconds)
SIGNUP_LIMITS = {"ip": (10, 3600), "phone": (3, 3600), "shop": (1000, 3600)}
COUNTRY_REFUSED = "Sign-ups from this country are not accepted by this shop."


@dataclass(frozen=True)
class SignupResult:
    contact: Contact
    state: ConsentState
    confirmation_sent: bool


def installed_shop(domain: str) -> Shop:
    shop = db.session.scalar(select(Shop).where(Shop.domain == domain))
    if shop is None or not shop.is_installed:
        raise NotFound("This shop does not use SMS Blossom.", code="shop_not_found")
    return shop


def limit_key(scope: str, *, shop_id: int, value: str) -> str:
    """The limiter's key: a keyed hash of the number or address (`pii.limit_subject`), never the
    value itself, which would sit in Redis in clear (and outlive an erasure by its window)."""
    return f"signup:{scope}:{shop_id}:{limit_subject(value, kind=scope, shop_id=shop_id)}"


def forget_phone(*, shop_id: int, e164: str) -> None:
    """An erased customer's number leaves the limiter too."""
    redis_ext.client().delete(RATE_KEY_PREFIX + limit_key("phone", shop_id=shop_id, value=e164))


def _enforce(scope: str, *, shop_id: int, value: str) -> None:
    limit, window = SIGNUP_LIMITS[scope]
    key = limit_key(scope, shop_id=shop_id, value=value)
    decision = FixedWindowLimit(redis_ext.client(), key=key, limit=limit, window=window).hit()
    if not decision.allowed:
        raise TooManyRequests(
            "Too many sign-up attempts; try again later.",
            retry_after=math.ceil(decision.retry_after),
            details={"scope": scope},
        )


def sign_up(*, shop: Shop, form: Mapping[str, Any], ip: str | None, user_agent: str | None) -> SignupResult:
    allowed = allowed_countries(shop)  # before any counting: a shop without countries refuses all
    _enforce("shop", shop_id=shop.id, value="all")
    if ip:
        _enforce("ip", shop_id=shop.id, value=ip)
    # The country picked beside the number reads a national number; the allow-list still decides.
    phone = normalise_phone(form["phone"], default_region=form.get("country") or default_region(shop))
    if phone.region not in allowed:
        raise phone_error(COUNTRY_REFUSED)
    _enforce("phone", shop_id=shop.id, value=phone.e164)

    profile = {key: form[key] for key in ("first_name", "last_name", "email", "birthday") if form.get(key)}
    contact, _created = create_or_merge(shop=shop, phone=phone, data=profile, consent=None)
    if contact.consent_state == ConsentState.SUBSCRIBED:
        return SignupResult(contact=contact, state=ConsentState.SUBSCRIBED, confirmation_sent=False)
    apply_consent(
        contact,
        ConsentChange(
            state=ConsentState.PENDING,
            source=ConsentSource.PROXY_FORM,
            consent_text=form.get("consent_text"),
            ip=ip,
            user_agent=user_agent,
        ),
    )
    # Re-sending a confirmation to a pending contact is a new event (and a new text), limited above.
    event_id = db.session.scalar(
        select(ConsentEvent.id).where(ConsentEvent.contact_id == contact.id).order_by(ConsentEvent.id.desc())
    )
    db.session.commit()
    SEND_DOUBLE_OPT_IN.delay(contact.id, event_id)
    return SignupResult(contact=contact, state=ConsentState.PENDING, confirmation_sent=True)


def confirmation_text(*, shop: Shop, contact: Contact) -> str:
    token = make_link_token("confirm", contact_id=contact.id, shop_id=shop.id)
    link = link_url("confirm", token, shop_domain=shop.domain)
    return (
        f"{shop.name or shop.domain}: reply Y to confirm you want marketing texts, or tap {link} . "
        "Msg & data rates may apply. Reply STOP to opt out."
    )


def send_double_opt_in(*, contact_id: int, consent_event_id: int) -> str:
    """Text the confirmation once per sign-up event, through the send path like every text
    (contacts/outbox.py): its message row is recorded before the provider call, so a retried
    job, or one that crashed after the call, never sends a second text. Returns
    what became of it (`sent`, `queued` while a batch waits for a rate limit or the breaker,
    `unknown`, `failed`, a skip's reason, `duplicate` for a retry)."""
    contact = db.session.get(Contact, contact_id)
    if contact is None or contact.consent_state != ConsentState.PENDING:
        return "skipped"
    shop = db.session.get(Shop, contact.shop_id)
    assert shop is not None
    if sender_for(shop, destination=contact_phone(contact)) is None:  # US/CA without a number of its own
        log.warning("optin_skipped", contact_id=contact_id, reason="no_sender_for_country")
        return "no_sender_for_country"
    text = confirmation_text(shop=shop, contact=contact)
    key = f"optin:{consent_event_id}"
    message, recorded = send_notice(shop=shop, contact=contact, kind=AutomationKind.OPT_IN, key=key, text=text)
    if not recorded:
        return "duplicate"
    outcome = _outcome(message)
    log.info("optin_recorded", contact_id=contact_id, outcome=outcome)
    return outcome


def _outcome(message: Message | None) -> str:
    """What the job reports: the message's state, or the reason its batch skipped it."""
    if message is None or message.state in WAITING_MESSAGE_STATES or message.state == MessageState.SUBMITTING:
        return "queued"
    if message.state == MessageState.SKIPPED:
        return message.skip_reason or "skipped"
    return message.state.value


def _contact_for_link(shop: Shop, claims: LinkClaims) -> Contact:
    contact = db.session.get(Contact, claims.contact_id)
    if contact is None or claims.shop_id != shop.id or contact.shop_id != shop.id:
        raise NotFound("This link does not belong to a subscriber of this shop.", code="contact_not_found")
    return contact


def confirm(*, shop: Shop, claims: LinkClaims, ip: str | None, user_agent: str | None) -> Contact:
    """The shopper tapped the confirmation link: pending -> subscribed (idempotent)."""
    contact = _contact_for_link(shop, claims)
    if contact.consent_state == ConsentState.PENDING:
        pending_text = db.session.scalar(
            select(ConsentEvent.consent_text)
            .where(ConsentEvent.contact_id == contact.id, ConsentEvent.state == ConsentState.PENDING)
            .order_by(ConsentEvent.id.desc())
        )
        apply_consent(
            contact,
            ConsentChange(
                state=ConsentState.SUBSCRIBED,
                source=ConsentSource.CONFIRMATION_LINK,
                consent_text=pending_text,
                ip=ip,
                user_agent=user_agent,
            ),
        )
        db.session.commit()
    return contact


def unsubscribe(*, shop: Shop, claims: LinkClaims, ip: str | None, user_agent: str | None) -> Contact:
    """One-click opt-out; idempotent."""
    contact = _contact_for_link(shop, claims)
    if contact.consent_state != ConsentState.UNSUBSCRIBED:
        apply_consent(
            contact,
            ConsentChange(
                state=ConsentState.UNSUBSCRIBED, source=ConsentSource.UNSUBSCRIBE_LINK, ip=ip, user_agent=user_agent
            ),
        )
        db.session.commit()
    return contact


def contact_for_preferences(*, shop: Shop, claims: LinkClaims) -> Contact:
    return _contact_for_link(shop, claims)
