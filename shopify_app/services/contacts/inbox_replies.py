"""Who the merchant may answer from the inbox, and what the first answer of a conversation says.

A reply is a text from the shop like any other, so it goes only to a shopper who may receive it:
a subscribed contact, or a pending one (double opt-in not confirmed) who texted the shop within
the last 24 hours — an answer to their own message, not marketing. Anyone else is a 409.

The first reply of a conversation (no reply sent to that contact in the last 30 days) names the
shop and says how to opt out, as every campaign text does (`templating.compliant_text`, applied
by the send path after links are shortened); later replies in the conversation go as written.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, select

from ...errors import Conflict
from ...extensions import db
from ...models import ConsentState, Contact, InboundMessage, Message, Shop

__all__ = ["CONVERSATION_GAP", "REPLY_WINDOW", "check_may_reply", "opens_conversation"]

REPLY_WINDOW = timedelta(hours=24)  # a pending contact's own text opens this window for answers
CONVERSATION_GAP = timedelta(days=30)  # after this long without a reply, the next one opens anew


def check_may_reply(*, shop: Shop, contact: Contact, now: datetime) -> None:
    """Raise Conflict (409) unless `contact` may receive a reply now."""
    if contact.consent_state == ConsentState.UNSUBSCRIBED:
        raise Conflict(
            "This contact opted out; they can be texted again only after they text START.",
            code="contact_unsubscribed",
        )
    if contact.consent_state == ConsentState.SUBSCRIBED:
        return
    texted_recently = db.session.scalar(
        select(
            exists().where(
                InboundMessage.shop_id == shop.id,
                InboundMessage.contact_id == contact.id,
                InboundMessage.received_at >= now - REPLY_WINDOW,
            )
        )
    )
    if not texted_recently:
        raise Conflict(
            "This contact has not confirmed their subscription; they can be answered only within "
            "24 hours of their own text to the shop.",
            code="reply_window_closed",
            details={"consent_state": contact.consent_state.value, "window_hours": 24},
        )


def opens_conversation(*, contact: Contact, campaign_id: int, now: datetime) -> bool:
    """True when no reply (a message of the inbox's carrier campaign) reached `contact` in the
    last 30 days. Only sent replies count: one still queued or deferred may never go out, and a
    second shop name and STOP line cost less than a conversation that never had them."""
    return not db.session.scalar(
        select(
            exists().where(
                Message.campaign_id == campaign_id,
                Message.contact_id == contact.id,
                Message.sent_at.is_not(None),
                Message.sent_at >= now - CONVERSATION_GAP,
            )
        )
    )
