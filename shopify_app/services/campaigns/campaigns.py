"""Campaigns: drafts (create, edit, delete), the launch (audience snapshot + credit hold, now or
scheduled) and the controls after it (pause, resume, cancel, the scheduler's launches).

The audience is snapshotted into `messages` with one INSERT ... SELECT (never row by row), and
the send itself is split into jobs by message id range (services/sending/batch.py).

This module is also the package's front door for callers outside it: the names in `__all__`
that live in audience.py, queries.py and waiting.py are imported here for them. Modules inside
the package import those modules directly, never this one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import and_, delete, func, insert, literal, select, update

from ...config import current_config
from ...errors import Conflict, NotFound, PaymentRequired, ValidationFailed
from ...extensions import db
from ...models import (
    Campaign,
    CampaignKind,
    CampaignState,
    Contact,
    Discount,
    Message,
    Shop,
)
from ...models.campaign import WAITING_MESSAGE_STATES
from ...models.types import UTCDateTime, utcnow
from ..billing import billing, credits
from ..media import mms
from ..media.media import referenced_media
from ..ops.alerts import campaign_failed
from ..sending.batches import enqueue_batch, enqueue_ranges
from ..sending.completion import finish_if_done
from ..sending.rendering import TemplateError, validate_template
from . import ab_split, local_time, report_cache
from .audience import EDITABLE, audience, current_filters, estimate, unsubscribe_url
from .queries import (
    counters,
    counters_for,
    credit_figures,
    get_campaign,
    list_campaigns,
    list_messages,
    locked_campaign,
)
from .segments import referenced_segment
from .templates import referenced_template
from .unique_codes import unique_code_sql
from .waiting import OPEN_ATTEMPT_IDS, cancel_waiting_rows, waiting

__all__ = [
    "OPEN_ATTEMPT_IDS",
    "audience",
    "cancel",
    "cancel_waiting_rows",
    "counters",
    "counters_for",
    "create_campaign",
    "credit_figures",
    "delete_campaign",
    "enqueue_batches",
    "estimate",
    "get_campaign",
    "launch",
    "launch_due_scheduled",
    "list_campaigns",
    "list_messages",
    "pause",
    "resume",
    "start_sending",
    "stop_all_for_uninstall",
    "unsubscribe_url",
    "update_campaign",
    "waiting",
]

log = structlog.get_logger(__name__)


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(details={"fields": {field: [message]}})


def _apply_fields(shop: Shop, campaign: Campaign, data: Mapping[str, Any]) -> None:
    if "name" in data:
        campaign.name = data["name"]
    if data.get("template_id") is not None:
        template = referenced_template(shop=shop, template_id=data["template_id"])
        campaign.template_id, campaign.body = template.id, template.body
    if "body" in data and data["body"] is not None:
        campaign.body = data["body"]
    if "segment_id" in data:
        if data["segment_id"] is not None and not referenced_segment(shop=shop, segment_id=data["segment_id"]):
            raise _invalid("segment_id", "No such segment.")
        campaign.segment_id = data["segment_id"]
    if "discount_id" in data:
        if data["discount_id"] is not None and not db.session.scalar(
            select(Discount.id).where(Discount.id == data["discount_id"], Discount.shop_id == shop.id)
        ):
            raise _invalid("discount_id", "No such discount.")
        campaign.discount_id = data["discount_id"]
    if "send_at" in data:
        campaign.send_at = data["send_at"]
    if "media_id" in data:  # an MMS campaign's image (services/media/): the shop's own only
        if data["media_id"] is not None and referenced_media(shop_id=shop.id, media_id=data["media_id"]) is None:
            raise _invalid("media_id", "No such image.")
        campaign.media_id = data["media_id"]
    local_time.apply_fields(shop=shop, campaign=campaign, data=data, now=utcnow())
    if not campaign.body:
        raise _invalid("body", "A message body or a template is required.")
    try:
        validate_template(campaign.body)
    except TemplateError as exc:
        raise _invalid("body", exc.message) from None


def create_campaign(*, shop: Shop, data: Mapping[str, Any]) -> Campaign:
    campaign = Campaign(shop_id=shop.id, state=CampaignState.DRAFT, audience={})
    _apply_fields(shop, campaign, data)
    db.session.add(campaign)
    db.session.commit()
    return campaign


def update_campaign(*, shop: Shop, campaign_id: int, data: Mapping[str, Any]) -> Campaign:
    campaign = get_campaign(shop=shop, campaign_id=campaign_id, lock=True)
    if campaign.state != CampaignState.DRAFT:
        raise Conflict("Only a draft campaign can be edited.", code="invalid_state", details={"state": campaign.state})
    _apply_fields(shop, campaign, data)
    db.session.commit()
    return campaign


def delete_campaign(*, shop: Shop, campaign_id: int) -> None:
    campaign = get_campaign(shop=shop, campaign_id=campaign_id, lock=True)
    if campaign.state in (CampaignState.SENDING, CampaignState.PAUSED):
        raise Conflict(
            "Cancel the campaign before deleting it.", code="invalid_state", details={"state": campaign.state}
        )
    # messages.campaign_id has no foreign key (migration 0011): its messages go explicitly.
    db.session.execute(
        delete(Message).where(Message.shop_id == shop.id, Message.campaign_id == campaign.id),
        execution_options={"synchronize_session": False},
    )
    db.session.delete(campaign)
    db.session.commit()


def launch(*, shop: Shop, campaign_id: int, send_at: datetime | None = None) -> Campaign:
    campaign = get_campaign(shop=shop, campaign_id=campaign_id, lock=True)
    _check_launchable(campaign)
    local_time.check(shop=shop, campaign=campaign, now=utcnow(), send_at=send_at)
    when = send_at or campaign.send_at or local_time.planned_launch(campaign)
    if when is not None and when > utcnow():
        campaign.state, campaign.send_at = CampaignState.SCHEDULED, when
        db.session.commit()
        return campaign
    return start_sending(shop=shop, campaign=campaign)


def _check_launchable(campaign: Campaign) -> None:
    if campaign.state not in EDITABLE:
        raise Conflict(
            "This campaign was already launched or stopped.",
            code="invalid_state",
            details={"state": campaign.state.value},
        )


def _locked_for_launch(shop: Shop, campaign_id: int) -> Campaign:
    """The campaign re-read under its row lock, still draft or scheduled (409 otherwise: a
    cancel or another launch got there first and committed). Any kind: the scheduler's too."""
    query = select(Campaign).where(Campaign.id == campaign_id, Campaign.shop_id == shop.id)
    campaign = locked_campaign(query, campaign_id)
    if campaign is None:
        raise NotFound("No such campaign.", code="campaign_not_found")
    _check_launchable(campaign)
    return campaign


def start_sending(*, shop: Shop, campaign: Campaign) -> Campaign:
    """Snapshot the audience, hold the credits, and enqueue the batches (one transaction, with
    the campaign's row locked from the state check to the commit)."""
    campaign = _locked_for_launch(shop, campaign.id)
    figures = estimate(shop=shop, campaign=campaign)
    available = credits.balance(shop_id=shop.id)
    if available < figures["credits"]:
        # Buy the shortfall as capped overage (a 402 with the figures when the plan cannot).
        # No lock is held across a Shopify call: this transaction ends first, and the state
        # and the figures are read again under the locks afterwards.
        db.session.rollback()
        billing.buy_overage(
            shop=shop, needed=figures["credits"] - available, available=available, key=f"launch:c{campaign.id}"
        )
        campaign = _locked_for_launch(shop, campaign.id)
        figures = estimate(shop=shop, campaign=campaign)
    campaign.audience = current_filters(campaign)
    now = utcnow()
    source = (
        audience(shop=shop, campaign=campaign)
        .with_only_columns(
            literal(shop.id),
            literal(campaign.id),
            Contact.id,
            literal(ab_split.snapshot_state(campaign).value),  # an A/B test's start held
            literal(0),
            literal(now, type_=UTCDateTime()),
            unique_code_sql(campaign),
            # Each row's share of the hold: what a send charges beyond it comes from the balance.
            mms.share_sql(figures["segments_per_message"], Contact.country_code, mms.attachment(campaign)),
        )
        .order_by(Contact.id)
    )
    if campaign.local_send_time is None:
        db.session.execute(insert(Message.__table__).from_select(_SNAPSHOT_COLUMNS, source))
        ab_split.split_audience(campaign=campaign, now=now)  # an A/B test's: the rest wait for the winner
        recipients, held = _recorded(campaign.id)
    else:  # each row with its time zone's cohort, counted with the cohorts (local_time.py)
        recipients, held = local_time.snapshot(
            shop=shop, campaign=campaign, source=source, columns=_SNAPSHOT_COLUMNS, now=now
        )
    try:
        credits.reserve_for_launch(shop=shop, campaign=campaign, amount=int(held))
    except PaymentRequired:
        db.session.rollback()  # the snapshot goes with it
        raise
    campaign.state = CampaignState.SENDING
    campaign.launched_at = now
    campaign.recipients = int(recipients)
    campaign.estimated_segments = figures["credits_per_message"]
    campaign.credits_reserved = int(held)
    db.session.commit()
    log.info("campaign_launched", shop_id=shop.id, campaign_id=campaign.id, recipients=campaign.recipients)
    enqueue_batches(campaign=campaign)
    _finish_if_done(campaign.id)
    return campaign


def _recorded(campaign_id: int) -> tuple[int, int]:
    """(recipients, credits held) as the snapshot recorded them: a joiner since the estimate too."""
    counted = select(func.count(), func.coalesce(func.sum(Message.held_credits), 0))
    recipients, held = db.session.execute(counted.where(Message.campaign_id == campaign_id)).one()
    return int(recipients), int(held)


# The columns a launch's snapshot fills, in the order of its SELECT (start_sending).
_SNAPSHOT_COLUMNS = (
    "shop_id",
    "campaign_id",
    "contact_id",
    "state",
    "attempts",
    "created_at",
    "discount_code",
    "held_credits",
)


def enqueue_batches(*, campaign: Campaign, only_open: bool = False, unless_waiting: bool = False) -> int:
    """One job per id range of `SMS_BATCH_SIZE` messages; jobs carry ids only."""
    size = int(current_config()["SMS_BATCH_SIZE"])
    if campaign.local_send_time is not None and not only_open and not unless_waiting:  # its launch
        return local_time.enqueue_cohorts(campaign=campaign, now=utcnow(), size=size)
    conditions = waiting(campaign.id, *WAITING_MESSAGE_STATES) if only_open else [Message.campaign_id == campaign.id]
    low, high = db.session.execute(select(func.min(Message.id), func.max(Message.id)).where(and_(*conditions))).one()
    if low is None:
        return 0
    ranges = [(start, start + size) for start in range(int(low), int(high) + 1, size)]
    if not only_open and not unless_waiting:  # a launch: nothing of this campaign waits yet
        return enqueue_ranges(campaign.id, ranges, shop_id=campaign.shop_id)
    return sum(
        enqueue_batch(campaign.id, low, high, unless_waiting=unless_waiting, shop_id=campaign.shop_id)
        for low, high in ranges
    )


def _transition(campaign: Campaign, allowed: tuple[CampaignState, ...], target: CampaignState) -> None:
    if campaign.state not in allowed:
        raise Conflict(
            f"A {campaign.state.value} campaign cannot become {target.value}.",
            code="invalid_state",
            details={"state": campaign.state.value},
        )
    campaign.state = target


def pause(*, shop: Shop, campaign_id: int) -> Campaign:
    campaign = get_campaign(shop=shop, campaign_id=campaign_id, lock=True)
    _transition(campaign, (CampaignState.SENDING,), CampaignState.PAUSED)
    db.session.commit()
    return campaign


def resume(*, shop: Shop, campaign_id: int) -> Campaign:
    campaign = get_campaign(shop=shop, campaign_id=campaign_id, lock=True)
    _transition(campaign, (CampaignState.PAUSED,), CampaignState.SENDING)
    db.session.commit()
    enqueue_batches(campaign=campaign, only_open=True)
    _finish_if_done(campaign.id)
    return campaign


def _finish_if_done(campaign_id: int) -> None:
    """Complete the campaign at once when nothing is left to send (an empty audience, a resume
    with every row settled), as the send path does after each batch."""
    finish_if_done(campaign_id=campaign_id)


def cancel(*, shop: Shop, campaign_id: int) -> Campaign:
    campaign = get_campaign(shop=shop, campaign_id=campaign_id, lock=True)
    _transition(
        campaign,
        (CampaignState.DRAFT, CampaignState.SCHEDULED, CampaignState.SENDING, CampaignState.PAUSED),
        CampaignState.CANCELLED,
    )
    cancel_waiting_rows(campaign.id)
    campaign.completed_at = utcnow()
    db.session.commit()
    credits.finalize_campaign(campaign=campaign)
    db.session.commit()
    report_cache.invalidate(shop.id)
    return campaign


def stop_all_for_uninstall(*, shop: Shop) -> int:
    """An uninstalled shop sends nothing more: its live broadcasts are cancelled (not paused, so
    a reinstall never resumes a send the merchant did not restart) and their holds released.
    Its automations are turned off beside this, by the app/uninstalled handler
    (automations.stop_all_automations): campaigns do not reach up into automations."""
    live = (CampaignState.SCHEDULED, CampaignState.SENDING, CampaignState.PAUSED)
    stopped = 0
    broadcasts = select(Campaign).where(
        Campaign.shop_id == shop.id, Campaign.state.in_(live), Campaign.kind == CampaignKind.BROADCAST
    )
    for campaign in db.session.scalars(broadcasts):
        campaign.failure_reason = "app_uninstalled"
        cancel(shop=shop, campaign_id=campaign.id)
        stopped += 1
    return stopped


def launch_due_scheduled(*, now: datetime | None = None) -> int:
    """Periodic: start every scheduled campaign whose `send_at` has come (send_at is UTC)."""
    now = now or utcnow()
    due = list(
        db.session.scalars(
            select(Campaign).where(Campaign.state == CampaignState.SCHEDULED, Campaign.send_at <= now).limit(100)
        )
    )
    started = 0
    for campaign in due:
        campaign_id = campaign.id
        shop = db.session.get(Shop, campaign.shop_id)
        if shop is None or not shop.is_installed:
            continue
        try:
            start_sending(shop=shop, campaign=campaign)
            started += 1
        except Exception as exc:  # one shop's problem (e.g. no credits) must not stop the others
            db.session.rollback()
            _fail(campaign_id, reason=getattr(exc, "code", type(exc).__name__))
    return started


def _fail(campaign_id: int, *, reason: str) -> None:
    """Fail a scheduled campaign that could not start. Only a still-scheduled one: a campaign
    cancelled or launched meanwhile (the launch's 409 `invalid_state`) keeps its state."""
    failed = db.session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.state == CampaignState.SCHEDULED)
        .values(state=CampaignState.FAILED, failure_reason=reason),
        execution_options={"synchronize_session": False},
    ).rowcount
    db.session.commit()
    if not failed:
        log.info("scheduled_campaign_moved_on", campaign_id=campaign_id, reason=reason)
        return
    log.warning("scheduled_campaign_failed", campaign_id=campaign_id, reason=reason)
    campaign_failed(campaign_id, reason)
