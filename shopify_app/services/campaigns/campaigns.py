"""Campaigns: create, estimate, launch (audience snapshot + credit hold), pause, resume, cancel.

The audience is snapshotted into `messages` with one INSERT ... SELECT (never row by row), and
the send itself is split into jobs by message id range (services/sending.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import BigInteger, Select, and_, delete, exists, func, insert, literal, select, text, update

from ...bulk import lock_for_update, on_postgresql
from ...config import current_config
from ...errors import Conflict, NotFound, PaymentRequired, ValidationFailed
from ...extensions import db
from ...models import (
    OPEN_MESSAGE_STATES,
    Campaign,
    CampaignKind,
    CampaignState,
    ConsentState,
    Contact,
    Discount,
    DiscountKind,
    Message,
    MessageStat,
    MessageState,
    Segment,
    Shop,
    Suppression,
)
from ...models.campaign import WAITING_MESSAGE_STATES
from ...models.types import UTCDateTime, utcnow
from ...security.link_tokens import link_url, make_link_token
from ..billing import credits
from ..billing.plans import credits_per_segment, credits_per_segment_sql
from ..ops.pagination import page
from ..sending import links
from ..sending.batches import enqueue_batch, enqueue_ranges
from ..sending.rendering import TemplateError, validate_template
from ..sending.templating import estimate_segments, longest_values
from . import report_cache
from .segments import audience_query, referenced_segment, segment_filters
from .templates import referenced_template

log = structlog.get_logger(__name__)

EDITABLE = (CampaignState.DRAFT, CampaignState.SCHEDULED)
DISCOUNT_CODE_MAX = 24  # a unique code: 9-character prefix, '-', 8 + 6 hex digits


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(details={"fields": {field: [message]}})


def get_campaign(*, shop: Shop, campaign_id: int, lock: bool = False) -> Campaign:
    """The shop's broadcast campaign. `lock`: re-read under its row lock (`_locked`), for a
    state change (launch, pause, resume, cancel, edit, delete)."""
    query = select(Campaign).where(
        Campaign.id == campaign_id, Campaign.shop_id == shop.id, Campaign.kind == CampaignKind.BROADCAST
    )
    campaign = _locked(query, campaign_id) if lock else db.session.scalar(query)
    if campaign is None:  # an automation's carrier is not a campaign the merchant can touch
        raise NotFound("No such campaign.", code="campaign_not_found")
    return campaign


def _locked(query: Select[tuple[Campaign]], campaign_id: int) -> Campaign | None:
    """`query`'s campaign re-read under its row lock, held until the transaction ends: each state
    change reads and writes the state under it, so none overwrites another that committed
    meanwhile (a launch never turns a cancel that answered 200 into `sending`). Lock order:
    the campaign before the shop (credits.lock_shop)."""
    locked = lock_for_update(Campaign, campaign_id).where(query.whereclause)
    return db.session.scalar(locked.execution_options(populate_existing=True))


def list_campaigns(*, shop: Shop, limit: int, cursor: str | None) -> tuple[list[Campaign], str | None]:
    query = select(Campaign).where(Campaign.shop_id == shop.id, Campaign.kind == CampaignKind.BROADCAST)
    return page(query, Campaign.id, limit=limit, cursor=cursor)


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


# --- audience and estimate -----------------------------------------------------------------------


def audience(*, shop: Shop, campaign: Campaign) -> Select[tuple[int]]:
    """Subscribed contacts of the campaign's segment (all subscribed when none), minus suppressed."""
    filters = campaign.audience if campaign.state not in EDITABLE else _current_filters(campaign)
    query = audience_query(shop_id=shop.id, filters=filters)
    return query.where(
        Contact.consent_state == ConsentState.SUBSCRIBED,
        ~exists().where(Suppression.shop_id == shop.id, Suppression.phone_hash == Contact.phone_hash),
    )


def _current_filters(campaign: Campaign) -> dict[str, Any]:
    """The filters of the campaign's segment now; `{}` (every subscriber) only when it has none.
    A segment that has gone is a 409, never everyone (segments.delete_segment refuses while a
    campaign uses it; this is the wall behind that rule)."""
    if campaign.segment_id is None:
        return {}
    segment = db.session.scalar(
        select(Segment).where(Segment.id == campaign.segment_id, Segment.shop_id == campaign.shop_id)
    )
    if segment is None:
        raise Conflict(
            "This campaign's segment no longer exists: choose another audience.",
            code="segment_missing",
            details={"segment_id": campaign.segment_id},
        )
    return segment_filters(segment)


def estimate(*, shop: Shop, campaign: Campaign) -> dict[str, Any]:
    """Recipients, segments per message (an upper bound) and the credits a launch would hold."""
    # One pass over the audience, per destination country: how many, and the longest names
    # (credits per segment depend on the country, services/plans.py). The audience's own query
    # with other columns: joining it back to contacts scanned a million rows twice.
    per_country = db.session.execute(
        audience(shop=shop, campaign=campaign)
        .with_only_columns(
            Contact.country_code,
            func.count(),
            func.coalesce(func.max(Contact.first_name_len), 0),
            func.coalesce(func.max(Contact.last_name_len), 0),
            func.coalesce(func.max(func.cast(Contact.names_ucs2, db.Integer)), 0),
        )
        .group_by(Contact.country_code)
    ).all()
    counts = {country: int(count) for country, count, *_ in per_country}
    recipients = sum(counts.values())
    first_len = max((int(row[2]) for row in per_country), default=0)
    last_len = max((int(row[3]) for row in per_country), default=0)
    any_ucs2 = any(int(row[4]) for row in per_country)
    sample_url = unsubscribe_url(shop=shop, contact_id=10**12)
    values = longest_values(
        first_name=first_len,
        last_name=last_len,
        shop_name=shop.name or shop.domain,
        discount_code=DISCOUNT_CODE_MAX,
        unsubscribe_url=len(sample_url),
        ucs2_variables=frozenset({"first_name", "last_name"}) if any_ucs2 else frozenset(),
    )
    body = links.estimation_body(campaign.body, shop=shop)  # a short link may be longer than the URL
    info = estimate_segments(body, shop_name=shop.name or shop.domain, longest=values)
    by_country = {country: info.segments * credits_per_segment(country) * count for country, count in counts.items()}
    worst = max((credits_per_segment(country) for country in by_country), default=credits_per_segment("US"))
    return {
        "recipients": recipients,
        "encoding": info.encoding,
        "segments_per_message": info.segments,
        "credits_per_message": info.segments * worst,  # the most a message can cost (an upper bound)
        "credits_by_country": {country or "unknown": credits for country, credits in by_country.items()},
        "credits": sum(by_country.values()),
    }


def unsubscribe_url(*, shop: Shop, contact_id: int) -> str:
    token = make_link_token("unsubscribe", contact_id=contact_id, shop_id=shop.id)
    return link_url("unsubscribe", token, shop_domain=shop.domain)


# --- launch and control ----------------------------------------------------------------------------


def launch(*, shop: Shop, campaign_id: int, send_at: datetime | None = None) -> Campaign:
    campaign = get_campaign(shop=shop, campaign_id=campaign_id, lock=True)
    _check_launchable(campaign)
    when = send_at or campaign.send_at
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
    campaign = _locked(query, campaign_id)
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
        from ..billing.billing import buy_overage

        db.session.rollback()
        buy_overage(shop=shop, needed=figures["credits"] - available, available=available, key=f"launch:c{campaign.id}")
        campaign = _locked_for_launch(shop, campaign.id)
        figures = estimate(shop=shop, campaign=campaign)
    campaign.audience = _current_filters(campaign)
    now = utcnow()
    source = (
        audience(shop=shop, campaign=campaign)
        .with_only_columns(
            literal(shop.id),
            literal(campaign.id),
            Contact.id,
            literal(MessageState.QUEUED.value),
            literal(0),
            literal(now, type_=UTCDateTime()),
            _unique_code(campaign),
            # Each row's share of the hold: what a send charges beyond it comes from the balance.
            literal(figures["segments_per_message"]) * credits_per_segment_sql(Contact.country_code),
        )
        .order_by(Contact.id)
    )
    db.session.execute(insert(Message.__table__).from_select(_SNAPSHOT_COLUMNS, source))
    # The hold is what the snapshot recorded, not the estimate: a shopper who joined (or left)
    # between the two has a share too, or the pool would end short and the balance undercharged.
    recipients, held = db.session.execute(
        select(func.count(), func.coalesce(func.sum(Message.held_credits), 0)).where(Message.campaign_id == campaign.id)
    ).one()
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
    from ..sending.completion import finish_if_done

    finish_if_done(campaign_id=campaign.id)
    return campaign


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


def _unique_code(campaign: Campaign) -> Any:
    """SQL for each recipient's own code when the campaign's discount is per recipient, NULL
    otherwise; made in the snapshot INSERT itself. `PREFIX-<contact id in hex><6 random hex>`:
    unique by construction (no birthday collisions at a million codes), not guessable from
    another shopper's code."""
    discount = db.session.get(Discount, campaign.discount_id) if campaign.discount_id else None
    if discount is None or discount.kind != DiscountKind.UNIQUE:
        return literal(None, type_=db.String)
    text = db.String
    if on_postgresql():
        contact_hex = func.to_hex(Contact.id, type_=text)
        noise = func.substr(func.md5(func.random().cast(db.Text).concat(Contact.id.cast(db.Text))), 1, 6, type_=text)
    else:
        contact_hex = func.printf("%X", Contact.id, type_=text)
        noise = func.hex(func.randomblob(3), type_=text)
    return literal(discount.code.upper() + "-", type_=text).concat(func.upper(contact_hex.concat(noise), type_=text))


def enqueue_batches(*, campaign: Campaign, only_open: bool = False, unless_waiting: bool = False) -> int:
    """One job per id range of `SMS_BATCH_SIZE` messages; jobs carry ids only."""
    size = int(current_config()["SMS_BATCH_SIZE"])
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
    from ..sending.completion import finish_if_done

    finish_if_done(campaign_id=campaign.id)
    return campaign


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
    """An uninstalled shop sends nothing more: its live campaigns are cancelled (not paused, so
    a reinstall never resumes a send the merchant did not restart) and their holds released."""
    live = (CampaignState.SCHEDULED, CampaignState.SENDING, CampaignState.PAUSED)
    stopped = 0
    broadcasts = select(Campaign).where(
        Campaign.shop_id == shop.id, Campaign.state.in_(live), Campaign.kind == CampaignKind.BROADCAST
    )
    for campaign in db.session.scalars(broadcasts):
        campaign.failure_reason = "app_uninstalled"
        cancel(shop=shop, campaign_id=campaign.id)
        stopped += 1
    from ..automations.automations import stop_all_automations  # automations build on campaigns

    stop_all_automations(shop=shop)  # off, pending runs and queued texts cancelled
    return stopped


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
    from ..ops.alerts import campaign_failed

    campaign_failed(campaign_id, reason)
