"""`contacts.last_messaged_at`: the newest text the provider accepted for each contact, which the
segment filter "received a text within N days" reads from the covering index.

Rolled up from `messages` by a periodic job, never on the send path: an UPDATE of the batch's
contacts per send batch would cost the sending loop what it spends on a message, and an EXISTS
over the messages at count time took 260-630 ms at 100k contacts and 1M messages
(bench/segments.py). Each run looks back over WINDOW (twelve runs' worth, so a few missed ticks
lose nothing) and only moves the column forward, so runs may overlap or repeat.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update

from ...extensions import db
from ...models import Contact, Message, Shop
from ...models.types import utcnow

WINDOW = timedelta(hours=1)


def roll_up_shop(*, shop_id: int, since: datetime) -> int:
    """Move the shop's contacts' `last_messaged_at` up to their newest text sent since `since`
    (read by the messages' (shop_id, sent_at) index); the number of contacts moved."""
    newest = (
        select(Message.contact_id, func.max(Message.sent_at).label("sent_at"))
        .where(Message.shop_id == shop_id, Message.sent_at >= since, Message.contact_id.is_not(None))
        .group_by(Message.contact_id)
        .subquery()
    )
    result = db.session.execute(
        update(Contact)
        .where(
            Contact.id == newest.c.contact_id,
            Contact.shop_id == shop_id,
            or_(Contact.last_messaged_at.is_(None), Contact.last_messaged_at < newest.c.sent_at),
        )
        .values(last_messaged_at=newest.c.sent_at)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


def roll_up_last_messaged(*, window: timedelta = WINDOW) -> dict[str, int]:
    """Every installed shop in turn, one short transaction each (cross-shop, privileged)."""
    since = utcnow() - window
    shop_ids = db.session.scalars(select(Shop.id).where(Shop.uninstalled_at.is_(None)).order_by(Shop.id)).all()
    moved = 0
    for shop_id in shop_ids:
        moved += roll_up_shop(shop_id=shop_id, since=since)
        db.session.commit()
    return {"shops": len(shop_ids), "contacts": moved}
