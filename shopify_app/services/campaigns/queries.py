"""Reading campaigns: one (or one under its row lock, for a state change), the list page, and
each campaign's counters, messages and credit figures.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select

from ...bulk import lock_for_update, on_postgresql
from ...errors import NotFound
from ...extensions import db
from ...models import OPEN_MESSAGE_STATES, Campaign, CampaignKind, Message, MessageStat, MessageState, Shop
from ..billing import credits
from ..ops.pagination import page


def get_campaign(*, shop: Shop, campaign_id: int, lock: bool = False) -> Campaign:
    """The shop's broadcast campaign. `lock`: re-read under its row lock (`locked_campaign`), for a
    state change (launch, pause, resume, cancel, edit, delete)."""
    query = select(Campaign).where(
        Campaign.id == campaign_id, Campaign.shop_id == shop.id, Campaign.kind == CampaignKind.BROADCAST
    )
    campaign = locked_campaign(query, campaign_id) if lock else db.session.scalar(query)
    if campaign is None:  # an automation's carrier is not a campaign the merchant can touch
        raise NotFound("No such campaign.", code="campaign_not_found")
    return campaign


def locked_campaign(query: Select[tuple[Campaign]], campaign_id: int) -> Campaign | None:
    """`query`'s campaign re-read under its row lock, held until the transaction ends: each state
    change reads and writes the state under it, so none overwrites another that committed
    meanwhile (a launch never turns a cancel that answered 200 into `sending`). Lock order:
    the campaign before the shop (credits.lock_shop)."""
    statement = lock_for_update(Campaign, campaign_id).where(query.whereclause)
    return db.session.scalar(statement.execution_options(populate_existing=True))


def list_campaigns(*, shop: Shop, limit: int, cursor: str | None) -> tuple[list[Campaign], str | None]:
    query = select(Campaign).where(Campaign.shop_id == shop.id, Campaign.kind == CampaignKind.BROADCAST)
    return page(query, Campaign.id, limit=limit, cursor=cursor)


def counters(campaign: Campaign) -> dict[str, Any]:
    rows = db.session.execute(
        select(Message.state, Message.skip_reason, func.count())
        .where(Message.campaign_id == campaign.id)
        .group_by(Message.state, Message.skip_reason)
    ).all()
    result: dict[str, Any] = {state.value: 0 for state in MessageState}
    skipped: dict[str, int] = {}
    for state, reason, count in rows:
        result[MessageState(state).value] += int(count)
        if MessageState(state) == MessageState.SKIPPED:
            skipped[reason or "unknown"] = skipped.get(reason or "unknown", 0) + int(count)
    result["skipped_by_reason"] = skipped
    result["open"] = sum(result[state.value] for state in OPEN_MESSAGE_STATES)
    return result


def counters_for(campaign_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per campaign of a list page, its messages per state and `open` (as `counters` has them,
    without the skip reasons), in one grouped query: from the trigger-kept deltas on PostgreSQL
    (a few rows per campaign), from the messages on SQLite."""
    if not campaign_ids:
        return {}
    if on_postgresql():
        source = select(MessageStat.campaign_id, MessageStat.state, func.sum(MessageStat.messages)).where(
            MessageStat.campaign_id.in_(campaign_ids)
        )
        rows = db.session.execute(source.group_by(MessageStat.campaign_id, MessageStat.state)).all()
    else:
        source = select(Message.campaign_id, Message.state, func.count()).where(Message.campaign_id.in_(campaign_ids))
        rows = db.session.execute(source.group_by(Message.campaign_id, Message.state)).all()
    result = {campaign_id: {state.value: 0 for state in MessageState} for campaign_id in campaign_ids}
    for campaign_id, state, count in rows:
        result[campaign_id][MessageState(state).value] += int(count or 0)
    for figures in result.values():
        figures["open"] = sum(figures[state.value] for state in OPEN_MESSAGE_STATES)
    return result


def list_messages(
    *, shop: Shop, campaign_id: int, state: str | None, limit: int, cursor: str | None
) -> tuple[list[Message], str | None]:
    campaign = get_campaign(shop=shop, campaign_id=campaign_id)
    query = select(Message).where(Message.campaign_id == campaign.id)
    if state:
        query = query.where(Message.state == MessageState(state))
    return page(query, Message.id, limit=limit, cursor=cursor)


def credit_figures(campaign: Campaign) -> dict[str, int]:
    return {
        "reserved": campaign.credits_reserved,
        "held": credits.held_for(campaign_id=campaign.id),
        "spent": credits.spent_for(campaign_id=campaign.id),
    }
