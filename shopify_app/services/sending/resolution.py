"""Operators settle `unknown` messages once the provider's records say what happened."""

from __future__ import annotations

from collections.abc import Iterator

from ...extensions import db
from ...models import Campaign, Message, MessageState
from ...models.types import utcnow
from ..billing import credits
from .completion import finish_if_done
from .state import move


def resolve_unknown_messages(*, message_ids: list[int], accepted: bool) -> Iterator[tuple[int, str]]:
    for message_id in message_ids:
        message = db.session.get(Message, message_id, with_for_update=True)
        if message is None or message.state != MessageState.UNKNOWN:
            db.session.rollback()
            yield message_id, "skipped (not unknown)"
            continue
        campaign = db.session.get(Campaign, message.campaign_id)
        estimate = campaign.estimated_segments if campaign else 1
        target = MessageState.SENT if accepted else MessageState.FAILED
        if accepted:
            values = {"sent_at": message.sent_at or utcnow(), "credits": message.credits or estimate}
        else:
            values = {"failed_at": utcnow()}
        move([message.id], to=target, priors=(MessageState.UNKNOWN,), **values)  # the row is locked: it moves
        credits.resolve_unknown(message=message, accepted=accepted, estimated_segments=estimate)
        db.session.commit()
        finish_if_done(campaign_id=message.campaign_id)
        yield message_id, target.value
