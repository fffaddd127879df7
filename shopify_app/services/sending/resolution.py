"""Operators settle `unknown` messages once the provider's records say what happened."""

from __future__ import annotations

from collections.abc import Iterator

from ...extensions import db
from ...models import Campaign, Message, MessageState
from ...models.types import utcnow
from ..billing import credits
from .completion import finish_if_done


def resolve_unknown_messages(*, message_ids: list[int], accepted: bool) -> Iterator[tuple[int, str]]:
    for message_id in message_ids:
        message = db.session.get(Message, message_id, with_for_update=True)
        if message is None or message.state != MessageState.UNKNOWN:
            db.session.rollback()
            yield message_id, "skipped (not unknown)"
            continue
        campaign = db.session.get(Campaign, message.campaign_id)
        estimate = campaign.estimated_segments if campaign else 1
        message.state = MessageState.SENT if accepted else MessageState.FAILED
        if accepted:
            message.sent_at, message.credits = message.sent_at or utcnow(), message.credits or estimate
        else:
            message.failed_at = utcnow()
        credits.resolve_unknown(message=message, accepted=accepted, estimated_segments=estimate)
        db.session.commit()
        finish_if_done(campaign_id=message.campaign_id)
        yield message_id, message.state.value
