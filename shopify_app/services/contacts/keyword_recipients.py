"""The answer to a HELP from a number that is no contact: what it says, and who it goes to.

Its message row carries no contact (there is none to thread it under), so the send path reads
the number from the text it answers, sealed on `inbound_messages` (`reply_message_id` names the
message), the way a merchant's test carries its number (services/campaigns/test_sends.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from ...errors import ValidationFailed
from ...extensions import db
from ...models import ConsentState, InboundMessage, Shop
from ..sending.claim import TestRecipient
from .contacts import parse_phone

RATES = "Msg & data rates may apply."


def help_text(shop: Shop) -> str:
    contact_line = f" Contact: {shop.email}." if shop.email else ""
    return f"{shop.name or shop.domain}: marketing texts.{contact_line} Reply STOP to opt out. {RATES}"


def recipients(*, shop: Shop, message_ids: Iterable[int]) -> dict[int, TestRecipient]:
    """The recipients of a batch's answers to strangers, by message id; one whose number was
    erased in the meantime has none (the batch skips it)."""
    rows = db.session.scalars(
        select(InboundMessage).where(
            InboundMessage.shop_id == shop.id, InboundMessage.reply_message_id.in_(list(message_ids))
        )
    ).all()
    found = {}
    for row in rows:
        try:
            phone = parse_phone(shop, row.sender)
        except ValidationFailed:  # erased (no sender left) or unreadable: nobody to answer
            continue
        assert row.reply_message_id is not None
        found[row.reply_message_id] = TestRecipient(
            id=None,
            consent_state=ConsentState.UNSUBSCRIBED,  # no subscriber; the answer's policy takes any state
            timezone=None,
            country_code=phone.region,
            phone=phone.e164,
            body="",
            values={},
            text=help_text(shop),
        )
    return found
