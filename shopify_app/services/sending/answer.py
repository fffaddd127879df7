"""Handling the provider's answer: the one provider call of a batch's attempt, and what the
answer proves. Accepted messages are sent and charged, refused ones failed; a failure that
proves nothing was accepted releases the rows for a retry, a refused request fails them, and
anything else makes them `unknown` (never resent blindly; their credits held for an operator)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select

from ...clients.mitto import ProviderError
from ...extensions import db, sms_backend
from ...models import Automation, Campaign, CampaignKind, CampaignState, MessageState, Shop
from ..billing import credits
from ..campaigns import report_cache
from .attempts import close_attempt
from .batches import reschedule
from .plan import Plan, backoff, release_holds
from .state import Accepted, mark_rejected, mark_sent, move, release, write_decisions

log = structlog.get_logger(__name__)

_SUBMITTING = (MessageState.SUBMITTING,)


def call(
    shop: Shop, campaign: Campaign, plan: Plan, span: tuple[int, int], now: datetime, outcome: dict[str, int]
) -> None:
    """The provider call for the plan's attempt (committed), and what its answer proves."""
    assert plan.circuit is not None
    try:
        result = sms_backend().send_bulk(plan.outbound)
    except ProviderError as exc:
        _record_error(exc, campaign, plan, span, now, outcome)
        if exc.provider_failure:
            plan.circuit.record_failure()
        return
    plan.circuit.record_success()
    _record_answers(shop, campaign, plan, result, now, outcome)


def _record_answers(
    shop: Shop, campaign: Campaign, plan: Plan, result: Any, now: datetime, outcome: dict[str, int]
) -> None:
    """What the provider accepted is sent and charged; what it refused per message failed.
    The attempt's columns are written here too: the record path has not written them yet."""
    accepted = Accepted([], [], [], [], [], [])
    rejected = []
    for (item, recipient), cost, parts, answer in zip(
        plan.sending, plan.costs, plan.segments, result.results, strict=True
    ):
        if answer.message_id is not None:  # accepted: a column per value, not a dict per row
            accepted.ids.append(item.id)
            accepted.provider_ids.append(answer.message_id)
            accepted.attempts.append(item.attempts)
            accepted.credits.append(cost)
            accepted.segments.append(parts)
            accepted.senders.append(recipient.sender)
        else:
            code = (answer.error_code or "rejected")[:64]
            rejected.append({"mid": item.id, "attempts": item.attempts, "code": code, "sender": recipient.sender})
    if accepted.ids:
        mark_sent(accepted, bulk_id=result.bulk_id, now=now, record_id=plan.record_id)
    if rejected:
        mark_rejected(rejected, now=now)
        refused = {row["mid"] for row in rejected}
        release_holds(campaign, [hold for hold in plan.holds if hold.message_id in refused])
    if not accepted.ids:  # else mark_sent closed it
        close_attempt(plan)
    credits.debit_messages(
        shop_id=shop.id, campaign_id=campaign.id, charges=zip(accepted.ids, accepted.credits, strict=True)
    )
    db.session.commit()
    report_cache.invalidate(shop.id)
    outcome["sent"] += len(accepted.ids)
    outcome["failed"] += len(rejected)


def _record_error(
    exc: ProviderError, campaign: Campaign, plan: Plan, span: tuple[int, int], now: datetime, outcome: dict[str, int]
) -> None:
    """What the provider's failure proves decides the rows' fate (and a carrier's holds)."""
    ids = [item.id for item, _ in plan.sending]
    attempts = {item.id: item.attempts for item, _ in plan.sending}
    if plan.record_id is not None:  # rare: write the attempt onto the rows as the row path has it
        write_decisions(plan.attempts(), now)
        close_attempt(plan)
    if exc.nothing_accepted:
        if _stopped_meanwhile(campaign):
            reason = None if campaign.kind == CampaignKind.BROADCAST else "automation_disabled"
            cancelled = {"skip_reason": reason, "lease_until": None, "attempted_at": None}
            move(ids, to=MessageState.CANCELLED, priors=_SUBMITTING, **cancelled)
            retry = []
        else:
            retry = release(ids, attempts=attempts, now=now)
            outcome["failed"] += len(ids) - len(retry)
        release_holds(campaign, plan.holds)  # the next attempt holds again
        db.session.commit()
        if retry:
            reschedule(campaign.id, *span, wait=backoff(max(attempts.values()), exc.retry_after))
        log.warning("send_batch_retry", campaign_id=campaign.id, error=type(exc).__name__, rows=len(ids))
    elif exc.refused:  # the whole request refused (bad key, bad payload)
        failed = {"lease_until": None, "error_code": f"rejected_{exc.status or 'request'}", "failed_at": now}
        move(ids, to=MessageState.FAILED, priors=_SUBMITTING, **failed)
        release_holds(campaign, plan.holds)
        db.session.commit()
        outcome["failed"] += len(ids)
        log.error("send_batch_rejected", campaign_id=campaign.id, status=exc.status, rows=len(ids))
    else:  # a timeout and anything unexpected: it may have been accepted; never resend blindly
        # Their cost was recorded with the attempt: what an operator's resolution charges or frees.
        move(ids, to=MessageState.UNKNOWN, priors=_SUBMITTING, lease_until=None, error_code="outcome_unknown")
        db.session.commit()
        outcome["unknown"] += len(ids)
        log.warning("send_batch_outcome_unknown", campaign_id=campaign.id, rows=len(ids))
    report_cache.invalidate(campaign.shop_id)


def _stopped_meanwhile(campaign: Campaign) -> bool:
    """Whether the merchant cancelled the campaign (or turned its automation off) while the
    batch's call was out. Both skip the rows a batch holds, so rows given back now would wait
    in a cancelled campaign (its hold with them), or be sent by the automation's next batch;
    they are cancelled here instead. The share lock orders this against a cancel in progress:
    one that has written the campaign (automation) row is waited for and seen; one that has
    not yet waits for this transaction, and then finds the rows given back."""
    if campaign.kind == CampaignKind.BROADCAST:
        stopped = select(Campaign.state == CampaignState.CANCELLED).where(Campaign.id == campaign.id)
    else:
        stopped = select(Automation.enabled.is_(False)).where(Automation.campaign_id == campaign.id)
    return bool(db.session.scalar(stopped.with_for_update(read=True)))
