"""Finishing a campaign: whether any of its rows is still open (queued, deferred or
submitting), and completing a sending broadcast that has none, once, with its credit hold
settled."""

from __future__ import annotations

import functools
from typing import Any

import structlog
from sqlalchemy import bindparam, select, update

from ...extensions import db
from ...models import OPEN_MESSAGE_STATES, Campaign, CampaignKind, CampaignState, Message, MessageState
from ...models.types import utcnow
from ..billing import credits

log = structlog.get_logger(__name__)


def has_open_rows(campaign_id: int, *, ahead_of: int | None = None) -> bool:
    """One index seek per open state on (campaign_id, state, id); a COUNT of open rows after
    every batch grew with the campaign (quadratic over a large send). `ahead_of` (a batch's
    upper bound) looks at the rows after it first: a seek from the start of a state would step
    over the not yet vacuumed index entries of every row that state already left."""

    def any_open(ahead: bool) -> bool:
        bound = {"campaign_id": campaign_id, "ahead_of": ahead_of}
        return any(db.session.scalar(_open_row_statement(state, ahead), bound) for state in OPEN_MESSAGE_STATES)

    return (ahead_of is not None and any_open(True)) or any_open(False)


@functools.cache
def _open_row_statement(state: MessageState, ahead: bool) -> Any:
    where = [Message.campaign_id == bindparam("campaign_id"), Message.state == state]
    return select(Message.id).where(*where, *([Message.id >= bindparam("ahead_of")] if ahead else [])).limit(1)


def finish_if_done(*, campaign_id: int, ahead_of: int | None = None, kind: CampaignKind | None = None) -> bool:
    """Complete a sending campaign with no open rows (once), and settle its credit hold.
    An automation's carrier campaign never completes: it sends as long as the automation runs.
    A batch passes the `kind` it read: while rows remain open (nearly every batch) it then
    returns without loading the campaign; the batch that leaves none does the rest."""
    if kind is not None and (kind != CampaignKind.BROADCAST or has_open_rows(campaign_id, ahead_of=ahead_of)):
        return False
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or campaign.kind != CampaignKind.BROADCAST:
        return False
    open_rows = has_open_rows(campaign_id, ahead_of=ahead_of)
    finished = False
    if not open_rows and campaign.state == CampaignState.SENDING:
        result = db.session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id, Campaign.state == CampaignState.SENDING)
            .values(state=CampaignState.COMPLETED, completed_at=utcnow()),
            execution_options={"synchronize_session": False},
        )
        finished = bool(result.rowcount)
        db.session.commit()
        db.session.refresh(campaign)
    if campaign.state in (CampaignState.COMPLETED, CampaignState.CANCELLED):
        credits.finalize_campaign(campaign=campaign)
        db.session.commit()
    if finished:
        log.info("campaign_completed", campaign_id=campaign_id)
    return finished
