"""Contacts: create/merge, update, delete, list, consent. All PII sealed; phones by blind index."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Select, delete, exists, select, update
from sqlalchemy.exc import IntegrityError

from ...errors import Conflict, ValidationFailed
from ...extensions import db
from ...models import (
    Campaign,
    ConsentEvent,
    ConsentSource,
    ConsentState,
    Contact,
    ContactTag,
    Message,
    Shop,
    Suppression,
)
from ...models.types import utcnow
from ...security.crypto import normalise_email
from ..flows.tagging import tags_added
from ..ops.pagination import page
from ..shops.owned import owned
from ..shops.settings import default_region
from . import shopify_consent
from .phones import Phone, mask_phone, normalise_phone
from .pii import email_hash, phone_hash

log = structlog.get_logger(__name__)

MAX_TAGS = 50


@dataclass(frozen=True)
class ConsentChange:
    state: ConsentState
    source: ConsentSource
    consent_text: str | None = None
    ip: str | None = None
    user_agent: str | None = None


def contact_phone(contact: Contact) -> str:
    phone = contact.phone
    assert phone is not None
    return str(phone)


def contact_view(contact: Contact) -> dict[str, Any]:
    """The contact as the merchant sees it: decrypted, phone masked."""
    return {
        "id": contact.id,
        "phone": mask_phone(contact_phone(contact)),
        "email": contact.email,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "birthday": contact.birthday,
        "tags": contact.tag_names,
        "consent_state": contact.consent_state.value,
        "consent_source": contact.consent_source.value if contact.consent_source else None,
        "shopify_sync": contact.shopify_sync,
        "consented_at": contact.consented_at,
        "unsubscribed_at": contact.unsubscribed_at,
        "country_code": contact.country_code,
        "timezone": contact.timezone,
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
    }


def parse_phone(shop: Shop, raw: object) -> Phone:
    return normalise_phone(raw, default_region=default_region(shop))


def find_by_phone(*, shop: Shop, e164: str) -> Contact | None:
    digest = phone_hash(e164, shop_id=shop.id)
    return db.session.scalar(select(Contact).where(Contact.shop_id == shop.id, Contact.phone_hash == digest))


def is_suppressed(*, shop: Shop, e164: str) -> bool:
    digest = phone_hash(e164, shop_id=shop.id)
    return bool(
        db.session.scalar(select(exists().where(Suppression.shop_id == shop.id, Suppression.phone_hash == digest)))
    )


def get_contact(*, shop: Shop, contact_id: int) -> Contact:
    return owned(Contact, shop=shop, row_id=contact_id, what="contact")


def _set_profile(contact: Contact, data: Mapping[str, Any], *, only_empty: bool) -> None:
    """Copy profile fields; with `only_empty`, fill blanks only (merging a duplicate sign-up)."""
    for field in ("first_name", "last_name", "birthday"):
        if field in data and (not only_empty or getattr(contact, f"{field}_ciphertext") is None):
            setattr(contact, field, data[field])
    if "birthday" in data and (not only_empty or contact.birth_month is None):
        contact.birth_month, contact.birth_day = month_day(data["birthday"])
    if "email" in data and (not only_empty or contact.email_ciphertext is None):
        email = data["email"]
        contact.email = normalise_email(email) if email else None
        contact.email_hash = email_hash(email, shop_id=contact.shop_id) if email else None
    if "tags" in data and (not only_empty or not contact.tags):
        _replace_tags(contact, data["tags"] or [])


def month_day(birthday: str | None) -> tuple[int | None, int | None]:
    if not birthday:
        return None, None
    month, day = birthday.split("-")[-2:]
    return int(month), int(day)


def _replace_tags(contact: Contact, tags: Iterable[str]) -> None:
    """Set the contact's tags; each one it did not have starts the flows on that tag."""
    wanted = list(dict.fromkeys(tags))
    if len(wanted) > MAX_TAGS:
        raise ValidationFailed(details={"fields": {"tags": [f"At most {MAX_TAGS} tags."]}})
    had = set(contact.tag_names)
    contact.tags = [ContactTag(tag=tag, shop_id=contact.shop_id) for tag in wanted]
    added = [tag for tag in wanted if tag not in had]
    if added:
        if contact.id is None:
            db.session.flush()  # a new contact: its id, for the runs
        tags_added(shop_id=contact.shop_id, added=[(contact.id, tag) for tag in added])


def change_tags(contact: Contact, *, add: Iterable[str] = (), remove: Iterable[str] = ()) -> None:
    """Add and remove tags without committing (a flow's tag step, inside its run's transaction)."""
    gone = set(remove)
    _replace_tags(contact, [name for name in [*contact.tag_names, *add] if name not in gone])


def add_tags(*, shop: Shop, contact_id: int, tags: Iterable[str]) -> Contact:
    contact = get_contact(shop=shop, contact_id=contact_id)
    _replace_tags(contact, [*contact.tag_names, *tags])
    db.session.commit()
    return contact


def remove_tag(*, shop: Shop, contact_id: int, tag: str) -> Contact:
    contact = get_contact(shop=shop, contact_id=contact_id)
    _replace_tags(contact, [name for name in contact.tag_names if name != tag])
    db.session.commit()
    return contact


# Who hears of a new subscriber (the welcome automation): packages that build on contacts
# register with `when_subscribed`, since this module cannot import them without a cycle.
_subscribed_listeners: dict[str, Callable[[Contact, ConsentSource], None]] = {}


def when_subscribed(listener: Callable[[Contact, ConsentSource], None]) -> Callable[[Contact, ConsentSource], None]:
    """Decorator: `listener(contact, source)` runs inside `apply_consent`, in its transaction,
    each time a contact becomes subscribed who was not."""
    _subscribed_listeners[f"{listener.__module__}.{listener.__qualname__}"] = listener
    return listener


# Who hears of an opt-out (Shopify Flow's trigger), registered the same way.
_unsubscribed_listeners: dict[str, Callable[[Contact, ConsentSource], None]] = {}


def when_unsubscribed(listener: Callable[[Contact, ConsentSource], None]) -> Callable[[Contact, ConsentSource], None]:
    """Decorator: `listener(contact, source)` runs inside `apply_consent`, in its transaction,
    each time a contact who was subscribed or pending becomes unsubscribed (STOP, a link, the
    merchant, Shopify)."""
    _unsubscribed_listeners[f"{listener.__module__}.{listener.__qualname__}"] = listener
    return listener


def apply_consent(contact: Contact, change: ConsentChange) -> bool:
    """Move the contact to `change.state` and append the consent event; False if unchanged."""
    if contact.consent_state == change.state and change.state != ConsentState.SUBSCRIBED:
        return False
    previous = contact.consent_state
    newly_subscribed = change.state == ConsentState.SUBSCRIBED and previous != ConsentState.SUBSCRIBED
    now = utcnow()
    contact.consent_state = change.state
    contact.consent_source = change.source
    if change.state == ConsentState.SUBSCRIBED:
        contact.consented_at = now
        contact.unsubscribed_at = None
    elif change.state == ConsentState.UNSUBSCRIBED:
        contact.unsubscribed_at = now
    db.session.flush()
    event = ConsentEvent(
        shop_id=contact.shop_id,
        contact_id=contact.id,
        state=change.state,
        source=change.source,
        consent_text=change.consent_text,
        user_agent=(change.user_agent or None) and change.user_agent[:512],
        occurred_at=now,
    )
    event.ip = change.ip
    db.session.add(event)
    shopify_consent.record(contact, previous=previous, source=change.source, at=now)  # the outbox row, this transaction
    if change.state == ConsentState.SUBSCRIBED:
        # Fresh consent given by the shopper or merchant lifts an earlier opt-out suppression.
        db.session.execute(
            delete(Suppression).where(
                Suppression.shop_id == contact.shop_id, Suppression.phone_hash == contact.phone_hash
            )
        )
    if newly_subscribed:
        for listener in _subscribed_listeners.values():
            listener(contact, change.source)
    elif change.state == ConsentState.UNSUBSCRIBED:  # unchanged returned above: this is an opt-out
        for unsubscribed in _unsubscribed_listeners.values():
            unsubscribed(contact, change.source)
    return True


def create_or_merge(
    *, shop: Shop, phone: Phone, data: Mapping[str, Any], consent: ConsentChange | None
) -> tuple[Contact, bool]:
    """Create a contact, or merge into the one with the same number (empty fields filled).

    Consent changes only through an explicit `consent`. Returns (contact, created).
    """
    existing = find_by_phone(shop=shop, e164=phone.e164)
    if existing is not None:
        _set_profile(existing, data, only_empty=True)
        if consent is not None:
            apply_consent(existing, consent)
        db.session.commit()
        return existing, False
    contact = Contact(
        shop_id=shop.id,
        phone_hash=phone_hash(phone.e164, shop_id=shop.id),
        country_code=phone.region,
        timezone=phone.timezone,
        consent_state=ConsentState.UNSUBSCRIBED,
    )
    contact.phone = phone.e164
    try:
        with db.session.begin_nested():
            db.session.add(contact)
            _set_profile(contact, data, only_empty=False)
            db.session.flush()
    except IntegrityError:  # the same number arrived concurrently: merge into the winner
        db.session.rollback()
        return create_or_merge(shop=shop, phone=phone, data=data, consent=consent)
    if consent is not None:
        apply_consent(contact, consent)
    db.session.commit()
    log.info("contact_created", shop_id=shop.id, contact_id=contact.id)
    return contact, True


def update_contact(*, shop: Shop, contact_id: int, data: Mapping[str, Any], consent: ConsentChange | None) -> Contact:
    contact = get_contact(shop=shop, contact_id=contact_id)
    if "phone" in data:
        phone = parse_phone(shop, data["phone"])
        digest = phone_hash(phone.e164, shop_id=shop.id)
        if digest != contact.phone_hash:
            taken = db.session.scalar(
                select(Contact.id).where(Contact.shop_id == shop.id, Contact.phone_hash == digest)
            )
            if taken is not None:
                raise Conflict(
                    "Another contact has this phone number.",
                    code="phone_taken",
                    details={"fields": {"phone": ["Another contact has this phone number."]}},
                )
            contact.phone_hash = digest
            contact.phone = phone.e164
            contact.country_code, contact.timezone = phone.region, phone.timezone
    _set_profile(contact, data, only_empty=False)
    if consent is not None:
        apply_consent(contact, consent)
    try:
        db.session.commit()
    except IntegrityError:  # lost a race for the same number
        db.session.rollback()
        raise Conflict("Another contact has this phone number.", code="phone_taken") from None
    return contact


def detach_messages(*, shop_id: int, contact_ids: Iterable[int] | Any) -> None:
    """What `ON DELETE SET NULL` did before messages lost their foreign keys (migration 0011):
    a deleted contact's messages stay for the reports, pointing at nobody. Call it before
    deleting contacts; `contact_ids` may be a list or a subquery."""
    db.session.execute(
        update(Message).where(Message.shop_id == shop_id, Message.contact_id.in_(contact_ids)).values(contact_id=None),
        execution_options={"synchronize_session": False},
    )


def delete_contact(*, shop: Shop, contact_id: int) -> None:
    """Hard-delete the contact, its consent events and tags; an opted-out number stays suppressed."""
    contact = get_contact(shop=shop, contact_id=contact_id)
    if contact.consent_state == ConsentState.UNSUBSCRIBED and contact.unsubscribed_at is not None:
        suppress(shop_id=shop.id, phone_digest=contact.phone_hash, reason="opted_out")
    db.session.execute(delete(ConsentEvent).where(ConsentEvent.contact_id == contact.id))
    detach_messages(shop_id=shop.id, contact_ids=[contact.id])
    db.session.delete(contact)
    db.session.commit()
    log.info("contact_deleted", shop_id=shop.id, contact_id=contact_id)


def suppress(*, shop_id: int, phone_digest: str, reason: str) -> None:
    exists_already = db.session.scalar(
        select(Suppression.id).where(Suppression.shop_id == shop_id, Suppression.phone_hash == phone_digest)
    )
    if exists_already is None:
        db.session.add(Suppression(shop_id=shop_id, phone_hash=phone_digest, reason=reason))


# --- listing ---------------------------------------------------------------------------------


def contact_query(
    *,
    shop: Shop,
    consent_state: str | None = None,
    tag: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    phone: str | None = None,
    email: str | None = None,
) -> Select[tuple[Contact]]:
    query = select(Contact).where(Contact.shop_id == shop.id)
    if consent_state:
        query = query.where(Contact.consent_state == ConsentState(consent_state))
    if tag:
        query = query.where(
            exists().where(ContactTag.contact_id == Contact.id, ContactTag.shop_id == shop.id, ContactTag.tag == tag)
        )
    if created_from:
        query = query.where(Contact.created_at >= created_from)
    if created_to:
        query = query.where(Contact.created_at < created_to)
    if phone:
        query = query.where(Contact.phone_hash == phone_hash(parse_phone(shop, phone).e164, shop_id=shop.id))
    if email:
        query = query.where(Contact.email_hash == email_hash(email, shop_id=shop.id))
    return query


def list_contacts(
    *, shop: Shop, limit: int, cursor: str | None, filters: Mapping[str, Any]
) -> tuple[list[Contact], str | None]:
    """Newest first, keyset-paginated by id (stable under inserts, index-only seek)."""
    return page(contact_query(shop=shop, **filters), Contact.id, limit=limit, cursor=cursor)


def consent_history(*, shop: Shop, contact_id: int) -> list[ConsentEvent]:
    contact = get_contact(shop=shop, contact_id=contact_id)
    return list(
        db.session.scalars(select(ConsentEvent).where(ConsentEvent.contact_id == contact.id).order_by(ConsentEvent.id))
    )


@dataclass(frozen=True)
class SentMessage:
    """A message as the contact's history shows it: its own fields, and what sent it."""

    message: Message
    campaign: Campaign | None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.message, name)

    @property
    def campaign_name(self) -> str | None:
        return self.campaign.name if self.campaign else None

    @property
    def campaign_kind(self) -> str | None:
        return self.campaign.kind.value if self.campaign else None


def sent_messages(
    *, shop: Shop, contact_id: int, limit: int, cursor: str | None
) -> tuple[list[SentMessage], str | None]:
    """The texts the provider accepted for this contact, newest first, each with the campaign
    (or automation, or inbox reply) it belonged to. Only sent ones: `sent_at` is what the
    per-contact index covers (unsent rows of a large snapshot are not indexed by contact)."""
    contact = get_contact(shop=shop, contact_id=contact_id)
    query = select(Message).where(
        Message.shop_id == shop.id, Message.contact_id == contact.id, Message.sent_at.is_not(None)
    )
    rows, next_cursor = page(query, Message.id, limit=limit, cursor=cursor)
    campaign_ids = {message.campaign_id for message in rows}
    campaigns = {
        campaign.id: campaign
        for campaign in db.session.scalars(
            select(Campaign).where(Campaign.shop_id == shop.id, Campaign.id.in_(campaign_ids))
        )
    }
    return [SentMessage(message, campaigns.get(message.campaign_id)) for message in rows], next_cursor
