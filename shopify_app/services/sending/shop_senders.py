"""What a shop may send from, as its merchant's Senders screen shows it: the numbers the
operator assigned to it (senders.py) and the senders its texts go from now (the rule lives with
the shop's settings, which validate a chosen number against the numbers listed here)."""

from __future__ import annotations

from sqlalchemy import select

from ...extensions import db
from ...models import SenderNumber, Shop
from ..shops.settings import sender_rule


def owned_senders(*, shop: Shop) -> dict[str, object]:
    """The shop's numbers (its choices besides an alphanumeric name) and what texts go from now."""
    rows = db.session.execute(
        select(SenderNumber.number, SenderNumber.assigned_at)
        .where(SenderNumber.shop_id == shop.id)
        .order_by(SenderNumber.assigned_at, SenderNumber.id)
    ).all()
    rule = sender_rule(shop)
    return {
        "items": [{"number": number, "assigned_at": assigned_at} for number, assigned_at in rows],
        "us_ca_sender": rule.own_number,
        "other_sender": rule.elsewhere,
    }
