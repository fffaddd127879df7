"""Attempt records (`send_attempts`), the record path's proof of a provider call: which
campaigns take that path, the record committed on a connection of its own before the call,
the rows the open records name (no claim takes them), and the record's deletion with the
answer. The sweeper settles the records whose batch died (sweeper.py)."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select

from ...bulk import on_postgresql, pg_array
from ...extensions import db
from ...models import Campaign, SendAttempt, Shop
from ...tenancy import side_transaction
from ..campaigns.campaigns import OPEN_ATTEMPT_IDS
from . import links
from .plan import Plan
from .policy import POLICIES
from .state import LEASE, arrays


def records_attempts(campaign: Campaign) -> bool:
    """Whether a batch of `campaign` takes the record path (see batch.py)."""
    return on_postgresql() and not POLICIES[campaign.kind].hold_per_message


def in_open_attempts(campaign_id: int, low: int, high: int) -> set[int]:
    """Rows of this range an open attempt record names: a batch that died after committing its
    record (and maybe calling) left them `queued` and unlocked. Read after the claim's locks,
    so a record committed before its batch let go of the rows is always seen. Only the range's
    ids come back: the records of the batches in flight beside this one name theirs."""
    return set(db.session.scalars(_open_attempt_ids_in_range(), {"campaign_id": campaign_id, "low": low, "high": high}))


@functools.cache
def _open_attempt_ids_in_range() -> Any:
    ids = OPEN_ATTEMPT_IDS.subquery("open_attempts")
    return select(ids.c.id).where(ids.c.id >= bindparam("low"), ids.c.id < bindparam("high"))


def open_attempt(shop: Shop, campaign: Campaign, plan: Plan, now: datetime) -> int:
    """Commit the record of the provider call about to be made (and the texts' short links),
    on a connection of its own: the batch's transaction keeps the rows locked and `queued`."""
    attempts = plan.attempts()
    with side_transaction() as connection:
        record_id = connection.execute(
            insert(SendAttempt.__table__).returning(SendAttempt.__table__.c.id),
            {
                "shop_id": shop.id,
                "campaign_id": campaign.id,
                "message_ids": pg_array([write.id for write in attempts]),
                **arrays(attempts, "attempts", "credits", "segments"),
                "senders": pg_array([write.sender for write in attempts]),
                "attempted_at": now,
                "lease_until": now + LEASE,
            },
        ).scalar_one()
        links.store(plan.link_rows, connection=connection)
    return int(record_id)


def close_attempt(plan: Plan) -> None:
    """Delete the record path's attempt record, in the transaction that records the answer."""
    if plan.record_id is None:
        return
    db.session.execute(delete(SendAttempt.__table__).where(SendAttempt.__table__.c.id == plan.record_id))
