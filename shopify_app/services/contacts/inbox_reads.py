"""The inbox's unread marks: a contact's texts after the newest one the merchant marked read.

One id per contact (`contacts.inbox_read_id`), not a flag per text: marking a thread read is one
UPDATE however long it is, and a text that arrives after the screen loaded stays unread when
the screen marks `through` the newest text it showed.
"""

from __future__ import annotations

from sqlalchemy import func, select

from ...extensions import db
from ...models import Contact, InboundMessage, Shop


def _unread(shop: Shop) -> tuple[object, ...]:
    return (
        InboundMessage.shop_id == shop.id,
        Contact.id == InboundMessage.contact_id,
        InboundMessage.id > func.coalesce(Contact.inbox_read_id, 0),
    )


def unread_counts(*, shop: Shop, contact_ids: list[int]) -> dict[int, int]:
    """Unread texts per contact, for the given contacts (a page of threads)."""
    if not contact_ids:
        return {}
    rows = db.session.execute(
        select(Contact.id, func.count(InboundMessage.id))
        .where(*_unread(shop), Contact.id.in_(contact_ids))
        .group_by(Contact.id)
    ).all()
    return {int(contact_id): int(count) for contact_id, count in rows}


def unread_threads(*, shop: Shop) -> int:
    """Contacts with at least one unread text (the inbox's badge)."""
    return int(db.session.scalar(select(func.count(func.distinct(Contact.id))).where(*_unread(shop))) or 0)


def mark_read(*, shop: Shop, contact: Contact, through: int | None) -> tuple[int | None, int]:
    """Mark the contact's texts read up to `through` (an inbound id of theirs; None: the newest).
    Never moves the mark back. Returns (the mark, texts still unread)."""
    query = select(func.max(InboundMessage.id)).where(
        InboundMessage.shop_id == shop.id, InboundMessage.contact_id == contact.id
    )
    if through is not None:
        query = query.where(InboundMessage.id <= through)
    newest = db.session.scalar(query)
    if newest is not None and newest > (contact.inbox_read_id or 0):
        contact.inbox_read_id = newest
    db.session.commit()
    return contact.inbox_read_id, unread_counts(shop=shop, contact_ids=[contact.id]).get(contact.id, 0)
