"""What the development helpers read and write in the local database."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from ..extensions import db
from ..models import Message, MessageState, Shop
from ..services.sending.senders import owned_numbers


class LocalDataError(Exception):
    """The local database lacks what a helper needs; the message says what to run."""


def shop_number(domain: str) -> str:
    """The number a shopper texts the shop at: its first assigned number."""
    shop = db.session.scalar(select(Shop).where(Shop.domain == domain))
    if shop is None:
        raise LocalDataError(f"no shop {domain!r} here: run `flask --app shopify_app seed-demo` first")
    numbers = owned_numbers(shop_id=shop.id)
    if not numbers:
        raise LocalDataError(f"{domain} holds no number: `flask --app shopify_app senders assign <number> {domain}`")
    return numbers[0]


def provider_message_ids(*, message_ids: Sequence[int] = (), campaign_id: int | None = None) -> list[str]:
    """Mitto's ids of our messages (what a delivery report names): the given ones, or every
    message of the campaign that was sent and awaits its report."""
    if campaign_id is not None:
        rows = db.session.execute(
            select(Message.id, Message.provider_message_id, Message.state)
            .where(Message.campaign_id == campaign_id, Message.state == MessageState.SENT)
            .order_by(Message.id)
        ).all()
        if not rows:
            raise LocalDataError(f"campaign {campaign_id} has no sent message awaiting a delivery report")
    else:
        found = {
            row.id: row
            for row in db.session.execute(
                select(Message.id, Message.provider_message_id, Message.state).where(Message.id.in_(message_ids))
            )
        }
        missing = [message_id for message_id in message_ids if message_id not in found]
        if missing:
            raise LocalDataError(f"no message {', '.join(map(str, missing))}")
        rows = [found[message_id] for message_id in message_ids]
    unsent = [f"{row.id} ({row.state.value})" for row in rows if not row.provider_message_id]
    if unsent:
        raise LocalDataError(f"not sent, so no delivery report can name it: message {', '.join(unsent)}")
    return [str(row.provider_message_id) for row in rows]
