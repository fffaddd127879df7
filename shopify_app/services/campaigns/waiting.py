"""A campaign's message rows still waiting to be sent: which they are, and cancelling them.

Shared by the campaign's own controls (cancel), the automations (turning one off cancels its
carrier's waiting rows) and the send path (claims and the sweeper skip rows an open attempt
record names), so it sits below all three and imports none of them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, select, text, update

from ...bulk import on_postgresql
from ...extensions import db
from ...models import Message, MessageState
from ...models.campaign import WAITING_MESSAGE_STATES

# The rows named by a campaign's open attempt records (the record path, services/sending.py):
# in flight, or left by a batch that died after it may have called. Claims and cancel skip them.
OPEN_ATTEMPT_IDS = text(
    "SELECT unnest(CAST(message_ids AS bigint[])) AS id FROM send_attempts WHERE campaign_id = :campaign_id"
).columns(id=BigInteger)


def waiting(campaign_id: int, *states: MessageState) -> list[Any]:
    """Conditions for the campaign's rows in `states` that no open attempt record names: those
    are `queued` while their batch is in its call, or until the sweeper settles a dead one."""
    conditions = [Message.campaign_id == campaign_id, Message.state.in_(states)]
    if on_postgresql():
        conditions.append(Message.id.not_in(OPEN_ATTEMPT_IDS.bindparams(campaign_id=campaign_id)))
    return conditions


def cancel_waiting_rows(campaign_id: int, *, skip_reason: str | None = None) -> int:
    """Cancel the campaign's `queued` and `deferred` rows (with `skip_reason`, when given); the
    number cancelled. Rows a batch holds are in flight (it records their answer, or cancels
    them itself when its call proves nothing was sent); rows an open attempt record names may
    have been sent (the sweeper settles them): neither is cancelled."""
    rows = (
        select(Message.id)
        .where(*waiting(campaign_id, *WAITING_MESSAGE_STATES))
        .with_for_update(skip_locked=True, key_share=True)
    )
    values: dict[str, Any] = {"state": MessageState.CANCELLED}
    if skip_reason is not None:
        values["skip_reason"] = skip_reason
    result = db.session.execute(
        update(Message).where(Message.id.in_(rows.scalar_subquery())).values(**values),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount or 0)
