"""Running one batch: claim a range's rows, re-check every rule, take rate-limit tokens, call
the provider once, and record what the answer proves.

At most one accepted submission per recipient, ever:
- a batch locks its rows (`FOR NO KEY UPDATE SKIP LOCKED` on PostgreSQL: concurrent claimers
  skip them) and decides each one; the attempt is durable before the provider call, one of two ways:
  - the record path (PostgreSQL, campaigns without per-message holds: broadcasts): the rows stay
    locked and `queued` in the batch's transaction across the call, and a `send_attempts` row
    (ids, attempts, costs, a lease) is committed on a connection of its own before it. The
    answer's transaction updates the rows and deletes the record together. A worker that dies
    before the record commits leaves nothing (the sweeper re-enqueues the range); one that dies
    after it leaves a record whose rows no claim takes, and the sweeper makes them `unknown`
    once its lease expires, never resent. Each row is written once (to `sent`), not twice;
  - the row path (SQLite; carrier campaigns, and a broadcast's batch holding the excess of a
    message over its launch share: holds need the shop's row lock only briefly): the rows to
    send become `submitting` with `attempted_at` and a lease in one statement, committed
    before the call; the sweeper makes expired ones `unknown`;
- a retry follows only an answer that proves nothing was accepted (429, 503, no connection);
  anything else (read timeout, 500/502/504, an answer that does not match) makes the rows
  `unknown`: never resent automatically, their credits held until an operator resolves them.

The steps live beside this module: claim.py, policy.py, plan.py, compose.py, attempts.py,
state.py, answer.py and completion.py.
"""

from __future__ import annotations

from datetime import datetime

import structlog

from ...extensions import db
from ...metrics import count_messages
from ...models import Campaign, CampaignState, MessageState, Shop
from ...models.types import utcnow
from . import links
from .answer import call
from .attempts import in_open_attempts, open_attempt, records_attempts
from .batches import reschedule
from .claim import Claimed, ContactRow, claim, read_only
from .completion import finish_if_done, has_open_rows
from .plan import Plan, plan_batch, release_holds
from .state import count_failed_claim, write_decisions

log = structlog.get_logger(__name__)


def prepare_statements() -> None:
    """Run a batch's reading steps once for campaign 0 (ids start at 1: no row, no lock), so a
    worker's first batches find their statements compiled: under the GIL three threads
    compiling the same statements at once took 35-50 ms before the first claim. The steps
    themselves, not copies: the parameter names are part of the compiled cache's key. Call it
    in a shop scope (the app engine's cache, the one batches use); the caller rolls back."""
    read_only(0)
    claim(campaign_id=0, low=0, high=0, now=utcnow())
    in_open_attempts(0, 0, 0)
    has_open_rows(0, ahead_of=0)  # every open state, ahead and from the start


def send_batch(*, campaign_id: int, low: int, high: int) -> dict[str, int]:
    pair = read_only(campaign_id)
    if pair is None or pair[0].state != CampaignState.SENDING:
        return {"claimed": 0}
    campaign, shop = pair
    now = utcnow()
    claimed, contacts = claim(campaign_id=campaign_id, low=low, high=high, now=now)
    if claimed and records_attempts(campaign) and (taken := in_open_attempts(campaign_id, low, high)):
        claimed = [item for item in claimed if item.id not in taken]  # a dead batch's: the sweeper's
    outcome = {"claimed": len(claimed), "sent": 0, "failed": 0, "skipped": 0, "deferred": 0, "unknown": 0}
    if claimed:
        _process(shop, campaign, claimed, contacts, (low, high), now, outcome)
        count_messages(outcome)
    else:
        db.session.commit()  # the claim's (empty) transaction
    finish_if_done(campaign_id=campaign_id, ahead_of=high, kind=campaign.kind)
    return outcome


def _process(
    shop: Shop,
    campaign: Campaign,
    claimed: list[Claimed],
    contacts: dict[int, ContactRow],
    span: tuple[int, int],
    now: datetime,
    outcome: dict[str, int],
) -> None:
    """Decide every claimed row and make the attempt durable before the provider call (the
    record path: a record committed apart; the row path: the rows' decisions in one statement,
    committed); then call and record the answer."""
    try:
        plan = plan_batch(shop, campaign, claimed, contacts, now, outcome)
        _make_durable(shop, campaign, plan, now)
    except Exception as exc:
        db.session.rollback()
        try:
            count_failed_claim([item.id for item in claimed], now)
        except Exception as counting:  # e.g. the database is what failed: keep the first error
            db.session.rollback()
            log.warning("send_batch_claim_not_counted", campaign_id=campaign.id, error=type(counting).__name__)
        log.warning("send_batch_failed_before_write", campaign_id=campaign.id, error=type(exc).__name__)
        raise
    for wait in plan.waits:
        reschedule(campaign.id, *span, wait=wait)
    if plan.sending:
        call(shop, campaign, plan, span, now, outcome)


def _make_durable(shop: Shop, campaign: Campaign, plan: Plan, now: datetime) -> None:
    """Commit the plan's decisions, the attempt durable before the call (see the module docstring)."""
    # A batch holding credits takes the row path: the shop's row lock is not kept across the call.
    if records_attempts(campaign) and not plan.shop_locked:  # skips and deferrals commit with the answer
        write_decisions([write for write in plan.writes if write.state != MessageState.SUBMITTING], now)
        if plan.sending:
            plan.record_id = open_attempt(shop, campaign, plan, now)
        else:
            db.session.commit()
        return
    written = write_decisions(plan.writes, now)
    if lost := {item.id for item, _ in plan.sending} - written:  # never while the claim's locks hold
        log.warning("send_batch_rows_lost", campaign_id=campaign.id, rows=len(lost))
        release_holds(campaign, [hold for hold in plan.holds if hold.message_id in lost])
        plan.holds = [hold for hold in plan.holds if hold.message_id not in lost]
        plan.keep([index for index, (item, _) in enumerate(plan.sending) if item.id in written])
    links.store([row for row in plan.link_rows if row["message_id"] in written])
    db.session.commit()
