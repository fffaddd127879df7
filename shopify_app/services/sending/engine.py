"""The send loop: claim a batch, re-check every rule, take rate-limit tokens, call the provider
once, and record what the answer proves.

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
"""

from __future__ import annotations

import functools
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import structlog
from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, text, union_all, update

from ...bulk import id_in, on_postgresql, pg_array
from ...clients.mitto import MittoError, MittoRateLimited, MittoRejected, MittoUnavailable, OutboundSms
from ...clients.shopify import ShopifyError
from ...config import current_config
from ...extensions import db, redis_ext, sms_backend
from ...metrics import RATE_LIMIT_WAIT_SECONDS, RATE_LIMIT_WAITS, count_messages
from ...models import (
    OPEN_MESSAGE_STATES,
    Automation,
    AutomationRun,
    Campaign,
    CampaignKind,
    CampaignState,
    ConsentState,
    Contact,
    Discount,
    DiscountKind,
    Message,
    MessageState,
    SendAttempt,
    Shop,
)
from ...models.types import utcnow
from ...security.crypto import Keyring, aad_for, keyring
from ...tenancy import side_transaction
from ..billing import credits
from ..billing.plans import message_credits
from ..campaigns import discounts, report_cache, test_sends
from ..campaigns.campaigns import OPEN_ATTEMPT_IDS, cancel_waiting_rows, unsubscribe_url, waiting
from ..campaigns.test_sends import TestRecipient
from ..ops import alerts
from ..shops.settings import load_settings, sender_rule
from . import links
from .batches import enqueue_batch
from .circuit import CircuitBreaker, CircuitState
from .quiet_hours import quiet_until
from .ratelimit import TokenBucket, take_all
from .senders import by_sender
from .templating import RUN_VARIABLES, compliant_text, render, render_runs, segment_count

log = structlog.get_logger(__name__)

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 5
MAX_BACKOFF = 300.0


@dataclass(slots=True)  # not frozen: a frozen __init__ costs 2.5 µs, and a batch makes 500
class Recipient:
    """What a message needs of its contact, read (and decrypted) before the batch commits:
    after a commit the ORM would reload each contact with a query of its own."""

    contact_id: int | None  # None: a merchant's test to their own phone (services/test_sends.py)
    phone: str = field(repr=False)  # PII stays out of reprs and tracebacks
    first_name: str | None = field(repr=False)
    last_name: str | None = field(repr=False)
    country_code: str | None = None
    sender: str = ""  # what the text goes from (services/settings.py `sender_rule`)
    test: TestRecipient | None = field(default=None, repr=False)  # a test's body and sample values


class Claimed(NamedTuple):
    """A row this batch holds: locked from the claim until the batch's one write commits."""

    id: int
    contact_id: int | None
    attempts: int  # the attempt this claim would make: the stored count + 1
    automation_run_id: int | None = None
    discount_code: str | None = None
    held_credits: int | None = None  # a broadcast message's share of its launch's hold


@dataclass(frozen=True)
class Policy:
    """What a kind of carrier campaign must respect at send time."""

    consent: frozenset[ConsentState]  # the consent states a recipient may be in
    quiet_hours: bool
    frequency_cap: bool
    footer: bool  # the shop's name and "Reply STOP to opt out"
    hold_per_message: bool  # no launch-time hold: each message holds its cost before the call


_SUBSCRIBED = frozenset({ConsentState.SUBSCRIBED})
POLICIES = {
    CampaignKind.BROADCAST: Policy(
        _SUBSCRIBED, quiet_hours=True, frequency_cap=True, footer=True, hold_per_message=False
    ),
    CampaignKind.AUTOMATION: Policy(
        _SUBSCRIBED, quiet_hours=True, frequency_cap=True, footer=True, hold_per_message=True
    ),
    # Order and shipping news is expected at once: no quiet hours, no marketing cap.
    CampaignKind.TRANSACTIONAL: Policy(
        _SUBSCRIBED, quiet_hours=False, frequency_cap=False, footer=True, hold_per_message=True
    ),
    # The merchant answering a shopper who texted in (a pending double opt-in may ask a question).
    CampaignKind.CONVERSATION: Policy(
        frozenset({ConsentState.SUBSCRIBED, ConsentState.PENDING}),
        quiet_hours=True,
        frequency_cap=False,
        footer=False,
        hold_per_message=True,
    ),
    # A merchant's test of a campaign, to their own phone, now: the campaign's footer, no quiet
    # hours or cap; an opted-out number reads as unsubscribed (services/test_sends.py).
    CampaignKind.TEST: Policy(_SUBSCRIBED, quiet_hours=False, frequency_cap=False, footer=True, hold_per_message=True),
}


def breaker() -> CircuitBreaker:
    config = current_config()
    return CircuitBreaker(
        redis_ext.client(),
        name="mitto",
        threshold=int(config["CIRCUIT_FAILURE_THRESHOLD"]),
        window=60.0,
        cooldown=float(config["CIRCUIT_COOLDOWN_SECONDS"]) or 30.0,
        on_open=alerts.circuit_opened,
    )


def _buckets(shop_id: int) -> list[TokenBucket]:
    config = current_config()
    client = redis_ext.client()
    account = config.get("MITTO_TRAFFIC_ACCOUNT_ID") or "default"
    return [
        TokenBucket(client, key=f"send:account:{account}", rate=float(config["SEND_RATE_PER_ACCOUNT"])),
        TokenBucket(client, key=f"send:shop:{shop_id}", rate=float(config["SEND_RATE_PER_SHOP"])),
    ]


# What a batch reads of its rows: the message columns of `Claimed`, then the contact's.
_CLAIMED = (
    Message.id,
    Message.contact_id,
    Message.attempts,
    Message.automation_run_id,
    Message.discount_code,
    Message.held_credits,
)


def claim(*, campaign_id: int, low: int, high: int, now: datetime) -> tuple[list[Claimed], dict[int, ContactRow]]:
    """Lock this range's sendable rows (queued, or deferred and now due) and read their
    contacts, in one round trip. Nothing is written: the locks last until the batch commits
    its decisions (the row path: before the provider call; the record path: with the answer,
    see the module docstring). Concurrent claimers skip locked rows (PostgreSQL `FOR NO KEY
    UPDATE SKIP LOCKED`; SQLite has one writer); a worker that dies before its attempt is
    durable leaves its rows as they were, for the sweeper."""
    rows = (
        db.session.connection()  # Core: plain rows, none of the ORM's per-row loading machinery
        .execute(_claim_statement(), {"campaign_id": campaign_id, "low": low, "high": high, "now": now})
        .all()
    )
    width = len(_CLAIMED)
    claimed, contacts = [], {}
    for row in rows:
        claimed.append(Claimed(row[0], row[1], row[2] + 1, row[3], row[4], row[5]))
        if row[width] is not None:
            contacts[row[width]] = ContactRow(*row[width:])
    return claimed, contacts


@functools.cache
def _claim_statement() -> Any:
    """Built once: constructing it took longer than a small batch's query (bound per call).

    The range's ids come from one index range scan per state on (campaign_id, state, id). With
    the state condition an OR (or an IN), PostgreSQL scanned that index on campaign_id alone
    and checked every entry of the campaign against the id range: each batch read the whole
    campaign (1.3 ms at 20k rows for a batch of 50, growing with the campaign: quadratic over a
    send). The outer condition repeats the states: a row locked after a concurrent change is
    re-checked against it (the subquery's view is not)."""
    span = (
        Message.campaign_id == bindparam("campaign_id"),
        Message.id >= bindparam("low"),
        Message.id < bindparam("high"),
    )
    due_deferral = and_(Message.state == MessageState.DEFERRED, Message.defer_until <= bindparam("now"))
    ids = union_all(
        select(Message.id).where(*span, Message.state == MessageState.QUEUED),
        select(Message.id).where(*span, due_deferral),
    )
    return (
        select(*_CLAIMED, *(getattr(Contact, name) for name in ContactRow._fields))
        .outerjoin(Contact, Contact.id == Message.contact_id)
        .where(Message.id.in_(ids), or_(Message.state == MessageState.QUEUED, due_deferral))
        .order_by(Message.id)
        # NO KEY UPDATE: on the record path the locks last across the provider call, and a
        # delivery report's or ledger row's foreign-key check (KEY SHARE) must not wait on them.
        .with_for_update(skip_locked=True, key_share=True, of=Message.__table__)
    )


class Write(NamedTuple):
    """One claimed row's decision; a batch writes all of them in one or two statements."""

    id: int
    state: MessageState  # SUBMITTING (the attempt), SKIPPED or DEFERRED
    attempts: int
    credits: int | None = None
    segments: int | None = None
    skip_reason: str | None = None
    defer_until: datetime | None = None
    sender: str | None = None


# On PostgreSQL one statement per kind of decision, the per-row values as arrays: the attempt
# (attempted_at, a lease, the cost) of the rows to send, and the skips and deferrals (rare).
# The id range beside the join is for the planner: joined to `unnest` alone, it hashed a scan of
# the whole table every batch (EXPLAIN on 50k rows: 50k read for 500, 45 ms against 20); with
# the range it reads the batch's rows through the primary key, with or without statistics (a
# launch's fresh rows have none until the next ANALYZE).
# Only rows still sendable are written: the claim's locks make that all of them; the guard
# keeps it true without them.
_WRITE_ATTEMPTS = text(
    "UPDATE messages SET state = :submitting, attempts = v.attempts, credits = v.credits, segments = v.segments, "
    "attempted_at = :now, lease_until = :lease, defer_until = NULL, sender = :sender "
    "FROM unnest(CAST(:id AS bigint[]), CAST(:attempts AS smallint[]), CAST(:credits AS integer[]), "
    "CAST(:segments AS smallint[])) AS v(id, attempts, credits, segments) "
    "WHERE messages.id = v.id AND messages.id BETWEEN :first AND :last "
    "AND messages.state IN (:queued, :deferred) RETURNING messages.id"
)
_WRITE_OTHERS = text(
    "UPDATE messages SET state = v.state, attempts = v.attempts, skip_reason = v.skip_reason, "
    "defer_until = v.defer_until, lease_until = NULL "
    "FROM unnest(CAST(:id AS bigint[]), CAST(:state AS varchar[]), CAST(:attempts AS smallint[]), "
    "CAST(:skip_reason AS varchar[]), CAST(:defer_until AS timestamptz[])) "
    "AS v(id, state, attempts, skip_reason, defer_until) "
    "WHERE messages.id = v.id AND messages.id BETWEEN :first AND :last "
    "AND messages.state IN (:queued, :deferred) RETURNING messages.id"
)


def _arrays(writes: list[Write], *names: str) -> dict[str, str]:
    """The named fields of `writes` as one array literal each: the arrays a statement unnests."""
    return {name: pg_array([getattr(write, name) for write in writes]) for name in names}


def _span(ids: list[int]) -> dict[str, int]:
    """The lowest and highest of `ids`: the range a batch's UPDATE reads (see _WRITE_ATTEMPTS)."""
    return {"first": min(ids), "last": max(ids)}


def _write(writes: list[Write], now: datetime) -> set[int]:
    """Record the batch's decisions (uncommitted); returns the ids written."""
    if not writes:
        return set()
    lease = now + LEASE
    if on_postgresql():
        guard = {"queued": MessageState.QUEUED.value, "deferred": MessageState.DEFERRED.value}
        attempts = [write for write in writes if write.state == MessageState.SUBMITTING]
        others = [write for write in writes if write.state != MessageState.SUBMITTING]
        written: set[int] = set()
        for sender, group in by_sender(attempts, [write.sender for write in attempts]):
            arrays = _arrays(group, "id", "attempts", "credits", "segments")
            span = _span([write.id for write in group])
            fixed = {"submitting": MessageState.SUBMITTING.value, "now": now, "lease": lease, "sender": sender, **span}
            written.update(db.session.execute(_WRITE_ATTEMPTS, {**arrays, **fixed, **guard}).scalars().all())
        if others:
            arrays = _arrays(others, "id", "attempts", "skip_reason", "defer_until")
            arrays["state"] = pg_array([write.state.value for write in others])
            written.update(
                db.session.execute(
                    _WRITE_OTHERS, {**arrays, **_span([write.id for write in others]), **guard}
                ).scalars()
            )
        return written
    table = Message.__table__
    db.session.execute(  # SQLite: one writer at a time, so every row is still ours
        update(table)
        .where(
            table.c.id == bindparam("w_id"),
            or_(table.c.state == MessageState.QUEUED, table.c.state == MessageState.DEFERRED),  # no IN: executemany
        )
        .values(
            state=bindparam("w_state"),
            attempts=bindparam("w_attempts"),
            credits=bindparam("w_credits"),
            segments=bindparam("w_segments"),
            skip_reason=bindparam("w_skip_reason"),
            defer_until=bindparam("w_defer_until"),
            attempted_at=bindparam("w_attempted_at"),
            lease_until=bindparam("w_lease_until"),
            sender=bindparam("w_sender"),
        ),
        [
            {
                **{f"w_{name}": value for name, value in write._asdict().items()},
                "w_attempted_at": now if write.state == MessageState.SUBMITTING else None,
                "w_lease_until": lease if write.state == MessageState.SUBMITTING else None,
            }
            for write in writes
        ],
    )
    return {write.id for write in writes}


def _count_failed_claim(claimed: list[Claimed], now: datetime) -> None:
    """A batch that raised before its write left its rows untouched; count the claim anyway,
    so a row that always breaks its batch fails after MAX_ATTEMPTS instead of cycling."""
    ids = [item.id for item in claimed]
    open_rows = Message.state.in_([MessageState.QUEUED, MessageState.DEFERRED])
    db.session.execute(
        update(Message).where(id_in(Message.id, ids), open_rows).values(attempts=Message.attempts + 1),
        execution_options={"synchronize_session": False},
    )
    db.session.execute(
        update(Message)
        .where(id_in(Message.id, ids), open_rows, Message.attempts >= MAX_ATTEMPTS)
        .values(state=MessageState.FAILED, error_code="retries_exhausted", failed_at=now, defer_until=None),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()


def _set(ids: list[int], **values: Any) -> None:
    if ids:
        db.session.execute(
            update(Message).where(id_in(Message.id, ids)).values(**values),
            execution_options={"synchronize_session": False},
        )


def _release(ids: list[int], *, attempts: dict[int, int], now: datetime) -> list[int]:
    """Back to `queued` after an answer proving nothing was sent; exhausted rows fail instead."""
    exhausted = [message_id for message_id in ids if attempts[message_id] >= MAX_ATTEMPTS]
    retry = [message_id for message_id in ids if attempts[message_id] < MAX_ATTEMPTS]
    _set(retry, state=MessageState.QUEUED, lease_until=None, attempted_at=None)
    _set(exhausted, state=MessageState.FAILED, error_code="retries_exhausted", failed_at=now, lease_until=None)
    return retry


def _reschedule(campaign_id: int, low: int, high: int, *, wait: float) -> None:
    enqueue_batch(campaign_id, low, high, delay=timedelta(seconds=max(wait, 0.5)))


def _backoff(attempt: int, retry_after: float = 0.0) -> float:
    return max(retry_after, min(MAX_BACKOFF, 2.0**attempt)) * random.uniform(1.0, 1.25)  # noqa: S311 (jitter)


def _read_only(campaign_id: int) -> tuple[Campaign, Shop] | None:
    """The campaign and its shop in one query, detached when this batch loaded them: they are
    read on both sides of the batch's commits, and attached objects would be expired by each
    one and reloaded by a query apiece. Objects the caller already holds (an inline job inside
    a request) stay attached: the identity map hands back the caller's own, as the caller has them."""
    held = set(db.session.identity_map.keys())  # empty in a worker's job: it starts afresh
    pair = db.session.execute(_read_only_statement(), {"campaign_id": campaign_id}).first()
    if pair is None:
        return None
    for row in pair:
        if db.session.identity_key(instance=row) not in held:
            db.session.expunge(row)
    return pair[0], pair[1]


@functools.cache
def _read_only_statement() -> Any:
    return select(Campaign, Shop).join(Shop, Shop.id == Campaign.shop_id).where(Campaign.id == bindparam("campaign_id"))


def prepare_statements() -> None:
    """Run a batch's reading steps once for campaign 0 (ids start at 1: no row, no lock), so a
    worker's first batches find their statements compiled: under the GIL three threads
    compiling the same statements at once took 35-50 ms before the first claim. The steps
    themselves, not copies: the parameter names are part of the compiled cache's key. Call it
    in a shop scope (the app engine's cache, the one batches use); the caller rolls back."""
    _read_only(0)
    claim(campaign_id=0, low=0, high=0, now=utcnow())
    _in_open_attempts(0, 0, 0)
    has_open_rows(0, ahead_of=0)  # every open state, ahead and from the start


def send_batch(*, campaign_id: int, low: int, high: int) -> dict[str, int]:
    pair = _read_only(campaign_id)
    if pair is None or pair[0].state != CampaignState.SENDING:
        return {"claimed": 0}
    campaign, shop = pair
    now = utcnow()
    claimed, contacts = claim(campaign_id=campaign_id, low=low, high=high, now=now)
    if claimed and records_attempts(campaign) and (taken := _in_open_attempts(campaign_id, low, high)):
        claimed = [item for item in claimed if item.id not in taken]  # a dead batch's: the sweeper's
    outcome = {"claimed": len(claimed), "sent": 0, "failed": 0, "skipped": 0, "deferred": 0, "unknown": 0}
    if claimed:
        _process(shop, campaign, claimed, contacts, (low, high), now, outcome)
        count_messages(outcome)
    else:
        db.session.commit()  # the claim's (empty) transaction
    finish_if_done(campaign_id=campaign_id, ahead_of=high, kind=campaign.kind)
    return outcome


@dataclass
class Plan:
    """What a batch decided while it held its rows, before anything was written."""

    writes: list[Write] = field(default_factory=list)
    sending: list[tuple[Claimed, Recipient]] = field(default_factory=list)
    outbound: list[OutboundSms] = field(default_factory=list)
    segments: list[int] = field(default_factory=list)
    costs: list[int] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)
    link_rows: list[dict[str, Any]] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)  # seconds until the range runs again, per reason
    circuit: CircuitBreaker | None = None
    record_id: int | None = None  # the record path's committed attempt (send_attempts)
    shop_locked: bool = False  # credits were held: the shop's row is locked until the batch commits

    def attempts(self) -> list[Write]:
        return [write for write in self.writes if write.state == MessageState.SUBMITTING]


def records_attempts(campaign: Campaign) -> bool:
    """Whether a batch of `campaign` takes the record path (see the module docstring)."""
    return on_postgresql() and not POLICIES[campaign.kind].hold_per_message


def _in_open_attempts(campaign_id: int, low: int, high: int) -> set[int]:
    """Rows of this range an open attempt record names: a batch that died after committing its
    record (and maybe calling) left them `queued` and unlocked. Read after the claim's locks,
    so a record committed before its batch let go of the rows is always seen. Only the range's
    ids come back: the records of the batches in flight beside this one name theirs."""
    return set(db.session.scalars(_open_attempt_ids_in_range(), {"campaign_id": campaign_id, "low": low, "high": high}))


@functools.cache
def _open_attempt_ids_in_range() -> Any:
    ids = OPEN_ATTEMPT_IDS.subquery("open_attempts")
    return select(ids.c.id).where(ids.c.id >= bindparam("low"), ids.c.id < bindparam("high"))


def _open_attempt(shop: Shop, campaign: Campaign, plan: Plan, now: datetime) -> int:
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
                **_arrays(attempts, "attempts", "credits", "segments"),
                "senders": pg_array([write.sender for write in attempts]),
                "attempted_at": now,
                "lease_until": now + LEASE,
            },
        ).scalar_one()
        links.store(plan.link_rows, connection=connection)
    return int(record_id)


def _close_attempt(plan: Plan) -> None:
    """Delete the record path's attempt record, in the transaction that records the answer."""
    if plan.record_id is None:
        return
    db.session.execute(delete(SendAttempt.__table__).where(SendAttempt.__table__.c.id == plan.record_id))


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
        plan = _plan(shop, campaign, claimed, contacts, now, outcome)
        # A batch holding credits takes the row path: the shop's row lock is not kept across the call.
        if records_attempts(campaign) and not plan.shop_locked:  # skips and deferrals commit with the answer
            _write([write for write in plan.writes if write.state != MessageState.SUBMITTING], now)
            if plan.sending:
                plan.record_id = _open_attempt(shop, campaign, plan, now)
            else:
                db.session.commit()
        else:
            written = _write(plan.writes, now)
            if lost := {item.id for item, _ in plan.sending} - written:  # never while the claim's locks hold
                log.warning("send_batch_rows_lost", campaign_id=campaign.id, rows=len(lost))
                _release_holds(campaign, [hold for hold in plan.holds if hold.message_id in lost])
                plan.holds = [hold for hold in plan.holds if hold.message_id not in lost]
                _keep(plan, [index for index, (item, _) in enumerate(plan.sending) if item.id in written])
            links.store([row for row in plan.link_rows if row["message_id"] in written])
            db.session.commit()
    except Exception as exc:
        db.session.rollback()
        try:
            _count_failed_claim(claimed, now)
        except Exception as counting:  # e.g. the database is what failed: keep the first error
            db.session.rollback()
            log.warning("send_batch_claim_not_counted", campaign_id=campaign.id, error=type(counting).__name__)
        log.warning("send_batch_failed_before_write", campaign_id=campaign.id, error=type(exc).__name__)
        raise
    for wait in plan.waits:
        _reschedule(campaign.id, *span, wait=wait)
    if plan.sending:
        _call(shop, campaign, plan, span, now, outcome)


def _plan(
    shop: Shop,
    campaign: Campaign,
    claimed: list[Claimed],
    contacts: dict[int, ContactRow],
    now: datetime,
    outcome: dict[str, int],
) -> Plan:
    plan = Plan()
    settings = load_settings(shop)
    policy = POLICIES[campaign.kind]
    cap = settings.get("frequency_cap") if policy.frequency_cap else None
    recent = _recent_counts(list(contacts), cap, now)
    window = settings["quiet_hours"] if policy.quiet_hours else None
    eligible: list[tuple[Claimed, ContactRow | TestRecipient]] = []
    earliest_defer: datetime | None = None
    tests = None  # a test's recipient is no contact: its number comes from the test's record
    if campaign.kind == CampaignKind.TEST:
        tests = test_sends.recipients(shop_id=shop.id, message_ids=[item.id for item in claimed])
    for item in claimed:
        contact = contacts.get(item.contact_id or -1) if tests is None else tests.get(item.id)
        reason = _skip_reason(contact, policy, cap, recent)
        if reason:
            plan.writes.append(Write(item.id, MessageState.SKIPPED, item.attempts - 1, skip_reason=reason))
            outcome["skipped"] += 1
            continue
        assert contact is not None
        until = quiet_until(now=now, timezone=contact.timezone or shop.timezone, window=window)
        if until is not None:  # not an attempt: the claim does not count
            plan.writes.append(Write(item.id, MessageState.DEFERRED, item.attempts - 1, defer_until=until))
            earliest_defer = min(filter(None, (earliest_defer, until)))
            outcome["deferred"] += 1
            continue
        eligible.append((item, contact))
    if earliest_defer is not None:
        plan.waits.append((earliest_defer - now).total_seconds())
    granted, plan.circuit, wait = _admit(shop.id, len(eligible))
    if wait is not None:
        plan.waits.append(wait)  # rows without a token stay as they were: the claim did not count
    if granted:
        _prepare(shop, campaign, eligible[:granted], plan, outcome)
    return plan


def _prepare(
    shop: Shop,
    campaign: Campaign,
    eligible: list[tuple[Claimed, ContactRow | TestRecipient]],
    plan: Plan,
    outcome: dict[str, int],
) -> None:
    """Render the texts of the rows that may be sent now, cost them and (carrier campaigns)
    hold their credits; they become the plan's attempt."""
    # Names are decrypted only when the text can use them (automations carry their own texts).
    names = {name for name in NAME_VARIABLES if campaign.kind != CampaignKind.BROADCAST or name in campaign.body}
    ring = keyring()
    sendable = _with_senders(shop, [(item, _recipient(contact, names, ring)) for item, contact in eligible], plan)
    outcome["skipped"] += len(eligible) - len(sendable)
    if not sendable:
        return
    outbound, link_rows, unrenderable = _outbound(shop, campaign, sendable)
    if unrenderable:  # rare: their text could not be made; skipped, not retried
        plan.writes += [
            Write(item.id, MessageState.SKIPPED, item.attempts - 1, skip_reason="render_failed")
            for item in unrenderable
        ]
        outcome["skipped"] += len(unrenderable)
        dropped = {item.id for item in unrenderable}
        sendable = [(item, recipient) for item, recipient in sendable if item.id not in dropped]
        if not sendable:
            return
    if not _unique_codes_pushed(shop, campaign, sendable):
        plan.waits.append(_backoff(max(item.attempts for item, _ in sendable)))
        return
    # Each text's segments and cost, counted once: holds, the attempt record and the charge use them.
    segments = [segment_count(message.text) for message in outbound]
    costs = [message_credits(n, recipient.country_code) for (_, recipient), n in zip(sendable, segments, strict=True)]
    plan.sending, plan.outbound, plan.segments, plan.costs = sendable, outbound, segments, costs
    plan.link_rows = link_rows
    share = None if POLICIES[campaign.kind].hold_per_message else campaign.estimated_segments
    if wanted := credits.needed_holds(sendable=sendable, costs=costs, launch_share=share):
        plan.shop_locked = True
        plan.holds = _hold(shop, campaign, wanted)
        held = {hold.message_id for hold in plan.holds}
        unfunded = {message_id for message_id, _, _ in wanted} - held
        for item, _ in sendable:
            if item.id in unfunded:
                plan.writes.append(
                    Write(item.id, MessageState.SKIPPED, item.attempts - 1, skip_reason="insufficient_credits")
                )
        outcome["skipped"] += len(unfunded)
        _keep(plan, [index for index, (item, _) in enumerate(sendable) if item.id not in unfunded])
    plan.writes += [
        Write(item.id, MessageState.SUBMITTING, item.attempts, cost, parts, sender=recipient.sender)
        for (item, recipient), cost, parts in zip(plan.sending, plan.costs, plan.segments, strict=True)
    ]


def _with_senders(shop: Shop, sendable: list[tuple[Claimed, Recipient]], plan: Plan) -> list[tuple[Claimed, Recipient]]:
    """Give each text its sender; a destination the shop has no sender for (US/CA without a
    number of its own) is skipped, never sent from a number that is not the shop's."""
    rule = sender_rule(shop)
    kept = []
    for item, recipient in sendable:
        sender = rule.for_destination(recipient.phone)
        if sender is None:
            plan.writes.append(
                Write(item.id, MessageState.SKIPPED, item.attempts - 1, skip_reason="no_sender_for_country")
            )
            continue
        recipient.sender = sender
        kept.append((item, recipient))
    return kept


def _keep(plan: Plan, keep: list[int]) -> None:
    """Narrow the plan's parallel per-message lists to the positions kept."""
    plan.sending, plan.outbound, plan.segments, plan.costs = (
        [column[i] for i in keep] for column in (plan.sending, plan.outbound, plan.segments, plan.costs)
    )


NAME_VARIABLES = ("first_name", "last_name")


class ContactRow(NamedTuple):
    """The columns a batch reads of a contact: plain rows, not ORM objects (500 of those cost
    more than the provider call), decrypted only for the recipients actually sent to."""

    id: int
    shop_id: int
    consent_state: Any
    timezone: str | None
    country_code: str | None
    phone_ciphertext: str
    first_name_ciphertext: str | None
    last_name_ciphertext: str | None


@functools.lru_cache(maxsize=1024)
def _contact_aad(column: str, shop_id: int) -> str:
    return aad_for(table="contacts", column=column, shop_id=shop_id)


def _recipient(contact: ContactRow | TestRecipient, names: set[str], ring: Keyring) -> Recipient:
    if isinstance(contact, TestRecipient):
        return Recipient(None, contact.phone, None, None, contact.country_code, test=contact)

    def opened(column: str, token: str | None) -> str | None:
        return None if token is None else ring.decrypt(token, aad=_contact_aad(column, contact.shop_id))

    return Recipient(
        contact.id,
        str(opened("phone", contact.phone_ciphertext)),
        opened("first_name", contact.first_name_ciphertext) if "first_name" in names else None,
        opened("last_name", contact.last_name_ciphertext) if "last_name" in names else None,
        contact.country_code,
    )


def _skip_reason(
    contact: ContactRow | TestRecipient | None, policy: Policy, cap: dict[str, int] | None, recent: dict[int, int]
) -> str | None:
    if contact is None:
        return "contact_deleted"
    if contact.consent_state not in policy.consent:
        return "not_subscribed"  # a STOP after launch wins
    if cap and contact.id is not None and recent.get(contact.id, 0) >= cap["max_messages"]:
        return "frequency_cap"
    return None


def _recent_counts(contact_ids: list[int], cap: dict[str, int] | None, now: datetime) -> dict[int, int]:
    if not cap or not contact_ids:
        return {}
    since = now - timedelta(days=cap["per_days"])
    rows = db.session.execute(
        select(Message.contact_id, func.count())
        .where(id_in(Message.contact_id, contact_ids), Message.sent_at >= since)
        .group_by(Message.contact_id)
    ).all()
    return {int(contact_id): int(count) for contact_id, count in rows}


def _admit(shop_id: int, count: int) -> tuple[int, CircuitBreaker | None, float | None]:
    """How many of `count` rows may be sent now (rate limits, then the circuit breaker), the
    breaker to report the call's outcome to, and how long the rest must wait (None: nobody)."""
    decision = take_all(_buckets(shop_id), count)
    granted, wait = count, None
    if decision.granted < count:
        RATE_LIMIT_WAITS.inc()
        RATE_LIMIT_WAIT_SECONDS.inc(max(decision.retry_after, 0.0))
        # Send what we got tokens for; the rest waits exactly as long as the script says.
        granted, wait = decision.granted, decision.retry_after
    if not granted:
        return 0, None, wait
    circuit = breaker()
    status = circuit.allow()
    if status.state == CircuitState.OPEN:
        return 0, None, status.retry_after or 1.0
    return granted, circuit, wait


def _run_contexts(sendable: list[tuple[Claimed, Recipient]]) -> dict[int, dict[str, Any]]:
    """The per-run values (checkout URL, tracking link, a reply's text) of an automation's rows."""
    run_ids = [item.automation_run_id for item, _ in sendable if item.automation_run_id]
    if not run_ids:
        return {}
    runs = db.session.scalars(select(AutomationRun).where(AutomationRun.id.in_(run_ids)))
    return {run.id: json.loads(run.context or "{}") for run in runs}


def _outbound(
    shop: Shop, campaign: Campaign, sendable: list[tuple[Claimed, Recipient]]
) -> tuple[list[OutboundSms], list[dict[str, Any]], list[Claimed]]:
    """The texts to send (rendered, compliant, links shortened), their short-link rows, and the
    rows whose text could not be made (skipped by the caller: one bad value never fails the
    batch's other messages)."""
    shop_name = shop.name or shop.domain
    policy = POLICIES[campaign.kind]
    contexts = _run_contexts(sendable) if campaign.kind != CampaignKind.BROADCAST else {}
    hosts = links.allowed_hosts(shop)
    shared_code = _shared_discount_code(campaign)
    link_rows: list[dict[str, Any]] = []
    messages, unrenderable = [], []
    wants_link = "unsubscribe_url" in campaign.body
    # The values every row shares; a row's own are set on a copy (a broadcast's rows have no run).
    shared = {"shop_name": shop_name, **dict.fromkeys(RUN_VARIABLES)}
    for item, recipient in sendable:
        context = contexts.get(item.automation_run_id or -1, {})
        values = shared.copy()
        values["first_name"] = recipient.first_name
        values["last_name"] = recipient.last_name
        values["discount_code"] = item.discount_code or shared_code
        if wants_link and recipient.contact_id is not None:
            values["unsubscribe_url"] = unsubscribe_url(shop=shop, contact_id=recipient.contact_id)
        if context:
            values.update({name: context.get(name) for name in RUN_VARIABLES})
        body = campaign.body
        if recipient.test is not None:  # a test: the tested campaign's body and the sample values
            body = recipient.test.body
            values.update(recipient.test.values)
        try:
            text, rows = _text(shop, campaign.id, body, item, recipient, values, context.get("text"), hosts)
            if policy.footer or context.get("footer"):  # an inbox conversation's first reply asks for it
                text = compliant_text(text, shop_name=shop_name)
            if not text.isascii():
                text.encode("utf-8")  # a lone surrogate (from a run's values) cannot be sent
        except Exception as exc:
            log.warning("message_render_failed", campaign_id=campaign.id, message_id=item.id, error=type(exc).__name__)
            unrenderable.append(item)
            continue
        link_rows += rows
        messages.append(OutboundSms(recipient.phone, text, recipient.sender, str(item.id)))
    return messages, link_rows, unrenderable


def _text(
    shop: Shop,
    campaign_id: int,
    body: str,
    item: Claimed,
    recipient: Recipient,
    values: dict[str, Any],
    reply: str | None,
    hosts: set[str],
) -> tuple[str, list[dict[str, Any]]]:
    """One message's text with its links shortened (before the compliance text: a shop name
    inside a URL must not pass for the name the text needs), and its short-link rows. Only the
    template's own URLs and the run's (checkout, product, tracking) are shortened, never what
    the shopper typed as a name (`render_runs`); a merchant's reply is the merchant's text."""
    text = reply if reply is not None else render(body, values)
    if "://" not in text:  # the usual text: no URL, no second pass
        return text, []
    runs = [(text, True)] if reply is not None else render_runs(body, values)
    ids = {"campaign_id": campaign_id, "message_id": item.id, "contact_id": recipient.contact_id}
    return links.shorten_runs(runs, shop=shop, hosts=hosts, **ids)


def _unique_codes_pushed(shop: Shop, campaign: Campaign, sendable: list[tuple[Claimed, Recipient]]) -> bool:
    """Add the batch's per-recipient codes to the Shopify discount before any text carries one;
    False (nothing sent, the batch retried later) when Shopify cannot take them now."""
    codes = [item.discount_code for item, _ in sendable if item.discount_code]
    discount = db.session.get(Discount, campaign.discount_id) if codes and campaign.discount_id else None
    if discount is None or discount.kind != DiscountKind.UNIQUE:
        return True
    try:
        discounts.push_codes(shop=shop, discount=discount, codes=codes)
    except ShopifyError as exc:
        log.warning("discount_codes_not_pushed", campaign_id=campaign.id, error=type(exc).__name__, rows=len(codes))
        return False
    return True


def _shared_discount_code(campaign: Campaign) -> str:
    if campaign.discount_id is None:
        return ""
    discount = db.session.get(Discount, campaign.discount_id)
    return discount.code if discount is not None and discount.kind == DiscountKind.SHARED else ""


@dataclass(frozen=True)
class Hold:
    """Credits held for one message of a carrier campaign before its provider call."""

    message_id: int
    attempt: int
    credits: int


def _hold(shop: Shop, campaign: Campaign, wanted: list[tuple[int, int, int]]) -> list[Hold]:
    """Hold `wanted` (`credits.needed_holds`: a carrier's whole costs, a broadcast's excesses)
    from the balance, shop row locked, in the transaction that records the attempt (the row
    path: it commits before the call, so the lock is brief); what the balance cannot cover is
    skipped as `insufficient_credits` by the caller, never sent on credit. The holds made."""
    held = credits.hold_messages(shop_id=shop.id, campaign_id=campaign.id, holds=wanted)
    if short := len(wanted) - len(held):
        log.warning("messages_unfunded", campaign_id=campaign.id, rows=short)
    return [Hold(message_id, attempt, amount) for message_id, attempt, amount in wanted if message_id in held]


def _call(
    shop: Shop, campaign: Campaign, plan: Plan, span: tuple[int, int], now: datetime, outcome: dict[str, int]
) -> None:
    """The provider call for the plan's attempt (committed), and what its answer proves."""
    assert plan.circuit is not None
    try:
        result = sms_backend().send_bulk(plan.outbound)
    except MittoError as exc:
        _record_error(exc, campaign, plan, span, now, outcome)
        if not isinstance(exc, (MittoRateLimited, MittoRejected)):
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
        _mark_sent(accepted, bulk_id=result.bulk_id, now=now, record_id=plan.record_id)
    # Rejections are rare: one executemany (psycopg pipelines it), not a round trip per message.
    if rejected:
        db.session.execute(
            update(Message.__table__)
            .where(Message.__table__.c.id == bindparam("mid"))
            .values(
                state=MessageState.FAILED.value,
                attempts=bindparam("attempts"),
                attempted_at=now,
                error_code=bindparam("code"),
                failed_at=now,
                lease_until=None,
                sender=bindparam("sender"),
            ),
            rejected,
        )
        refused = {row["mid"] for row in rejected}
        _release_holds(campaign, [hold for hold in plan.holds if hold.message_id in refused])
    if not accepted.ids:  # else _mark_sent closed it
        _close_attempt(plan)
    credits.debit_messages(
        shop_id=shop.id, campaign_id=campaign.id, charges=zip(accepted.ids, accepted.credits, strict=True)
    )
    db.session.commit()
    report_cache.invalidate(shop.id)
    outcome["sent"] += len(accepted.ids)
    outcome["failed"] += len(rejected)


# One statement for the whole batch on PostgreSQL: the per-message values travel as arrays.
# (An executemany, even pipelined, is one statement per message: 4-5x slower at 500.) It also
# deletes the record path's attempt record (`record_id` NULL on the row path: nothing).
_MARK_SENT = text(
    "WITH closed AS (DELETE FROM send_attempts WHERE id = :record_id) "
    "UPDATE messages SET state = :state, provider_message_id = v.pid, bulk_id = :bulk_id, sent_at = :now, "
    "attempted_at = :now, attempts = v.attempts, credits = v.credits, segments = v.segments, lease_until = NULL, "
    "defer_until = NULL, sender = :sender "
    "FROM unnest(CAST(:mids AS bigint[]), CAST(:pids AS varchar[]), CAST(:attempts AS smallint[]), "
    "CAST(:credits AS integer[]), CAST(:segments AS smallint[])) AS v(mid, pid, attempts, credits, segments) "
    "WHERE messages.id = v.mid AND messages.id BETWEEN :first AND :last"
)


class Accepted(NamedTuple):
    """The messages the provider accepted, column by column (the arrays of `_MARK_SENT`)."""

    ids: list[int]
    provider_ids: list[str]
    attempts: list[int]
    credits: list[int]
    segments: list[int]
    senders: list[str]  # one value for nearly every batch: bound once per statement (`by_sender`)


def _mark_sent(accepted: Accepted, *, bulk_id: str | None, now: datetime, record_id: int | None) -> None:
    if on_postgresql():
        for sender, group in by_sender(accepted, accepted.senders):
            db.session.execute(
                _MARK_SENT,
                {
                    "record_id": record_id,
                    "state": MessageState.SENT.value,
                    "bulk_id": bulk_id,
                    "now": now,
                    "sender": sender,
                    "mids": pg_array(group.ids),
                    "pids": pg_array(group.provider_ids),
                    "attempts": pg_array(group.attempts),
                    "credits": pg_array(group.credits),
                    "segments": pg_array(group.segments),
                    **_span(group.ids),
                },
            )
        return
    rows = [{"mid": mid, "pid": pid} for mid, pid in zip(accepted.ids, accepted.provider_ids, strict=True)]
    db.session.execute(
        update(Message.__table__)
        .where(Message.__table__.c.id == bindparam("mid"))
        .values(
            state=MessageState.SENT.value,
            provider_message_id=bindparam("pid"),
            bulk_id=bulk_id,
            sent_at=now,
            lease_until=None,
        ),
        rows,
    )


def _release_holds(campaign: Campaign, holds: list[Hold]) -> None:
    if holds:
        credits.release_messages(
            shop_id=campaign.shop_id,
            campaign_id=campaign.id,
            holds=[(h.message_id, h.attempt, h.credits) for h in holds],
        )


def _record_error(
    exc: MittoError, campaign: Campaign, plan: Plan, span: tuple[int, int], now: datetime, outcome: dict[str, int]
) -> None:
    """What the provider's failure proves decides the rows' fate (and a carrier's holds)."""
    ids = [item.id for item, _ in plan.sending]
    attempts = {item.id: item.attempts for item, _ in plan.sending}
    holds = plan.holds
    if plan.record_id is not None:  # rare: write the attempt onto the rows as the row path has it
        _write(plan.attempts(), now)
        _close_attempt(plan)
    if isinstance(exc, (MittoRateLimited, MittoUnavailable)):  # provably nothing accepted
        if _stopped_meanwhile(campaign):
            reason = None if campaign.kind == CampaignKind.BROADCAST else "automation_disabled"
            _set(ids, state=MessageState.CANCELLED, skip_reason=reason, lease_until=None, attempted_at=None)
            retry = []
        else:
            retry = _release(ids, attempts=attempts, now=now)
            outcome["failed"] += len(ids) - len(retry)
        _release_holds(campaign, holds)  # the next attempt holds again
        db.session.commit()
        if retry:
            wait = exc.retry_after if isinstance(exc, MittoRateLimited) else 0.0
            _reschedule(campaign.id, *span, wait=_backoff(max(attempts.values()), wait))
        log.warning("send_batch_retry", campaign_id=campaign.id, error=type(exc).__name__, rows=len(ids))
    elif isinstance(exc, MittoRejected):  # the whole request refused (bad key, bad payload)
        _set(
            ids,
            state=MessageState.FAILED,
            lease_until=None,
            error_code=f"rejected_{exc.status or 'request'}",
            failed_at=now,
        )
        _release_holds(campaign, holds)
        db.session.commit()
        outcome["failed"] += len(ids)
        log.error("send_batch_rejected", campaign_id=campaign.id, status=exc.status, rows=len(ids))
    else:  # MittoTimeout and anything unexpected: it may have been accepted; never resend blindly
        # Their cost was recorded with the attempt: what an operator's resolution charges or frees.
        _set(ids, state=MessageState.UNKNOWN, lease_until=None, error_code="outcome_unknown")
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


def _requeue_deferred(scope: Any, now: datetime) -> int:
    result = db.session.execute(
        update(Message)
        .where(scope, Message.state == MessageState.DEFERRED, Message.defer_until <= now)
        .values(state=MessageState.QUEUED, defer_until=None),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()
    return int(result.rowcount or 0)


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


# --- the sweeper ------------------------------------------------------------------------------------

# An expired record's rows that are still open become `unknown` with the record's values.
_EXPIRE_ATTEMPT = text(
    "UPDATE messages SET state = :unknown, error_code = 'worker_lost', attempted_at = :attempted_at, "
    "attempts = v.attempts, credits = v.credits, segments = v.segments, sender = v.sender, lease_until = NULL, "
    "defer_until = NULL FROM unnest(CAST(:ids AS bigint[]), CAST(:attempts AS smallint[]), "
    "CAST(:credits AS integer[]), CAST(:segments AS smallint[]), CAST(:senders AS varchar[])) "
    "AS v(id, attempts, credits, segments, sender) "
    "WHERE messages.id = v.id AND messages.state IN (:queued, :deferred)"
)


def _expire_attempts(now: datetime) -> int:
    """The record path's lost batches: an attempt record past its lease belongs to a batch that
    died after committing it, maybe after calling. Its rows that are still open become
    `unknown` (never resent; their credits held for an operator) and the record goes, in one
    transaction. A record whose rows are still locked belongs to a batch still running: left
    for that batch to close (or a later sweep). Returns the rows made unknown."""
    if not on_postgresql():
        return 0
    table = SendAttempt.__table__
    lost = 0
    for record in _expired_attempts(now):
        ids = [int(value) for value in record.message_ids.strip("{}").split(",") if value]
        present = select(Message.id).where(id_in(Message.id, ids))
        locked = db.session.scalars(present.with_for_update(skip_locked=True, key_share=True)).all()
        if len(locked) < len(db.session.scalars(present).all()):
            db.session.rollback()
            continue
        lost += int(
            db.session.execute(
                _EXPIRE_ATTEMPT,
                {
                    "unknown": MessageState.UNKNOWN.value,
                    "queued": MessageState.QUEUED.value,
                    "deferred": MessageState.DEFERRED.value,
                    "attempted_at": record.attempted_at,
                    "ids": record.message_ids,
                    "attempts": record.attempts,
                    "credits": record.credits,
                    "segments": record.segments,
                    "senders": record.senders,  # NULL for a record written before 0017: no sender
                },
            ).rowcount
            or 0
        )
        db.session.execute(delete(table).where(table.c.id == record.id))
        db.session.commit()
        log.warning("send_attempt_lost", campaign_id=record.campaign_id, rows=len(ids))
        report_cache.invalidate(record.shop_id)
    return lost


# A batch's rows can reach a cancelled campaign's `queued` or `deferred` after the cancel: a
# deferral written by a batch that claimed before it, a release racing it. Looked for this long.
SETTLE_CANCELLED_WITHIN = timedelta(days=2)


def _settle_cancelled(now: datetime) -> int:
    """Cancel what waits in recently cancelled campaigns and give back the hold it kept."""
    recent = select(Campaign.id).where(
        Campaign.state == CampaignState.CANCELLED,
        Campaign.kind == CampaignKind.BROADCAST,
        Campaign.completed_at >= now - SETTLE_CANCELLED_WITHIN,
    )
    cancelled = 0
    for campaign_id in db.session.scalars(recent).all():
        count = cancel_waiting_rows(campaign_id)
        db.session.commit()
        if count:
            cancelled += count
            finish_if_done(campaign_id=campaign_id)  # a cancelled campaign: settles its hold
            log.info("cancelled_rows_settled", campaign_id=campaign_id, rows=count)
    return cancelled


def _expired_attempts(now: datetime, page: int = 1000) -> Iterator[Any]:
    """Every attempt record past its lease, a page at a time in id order (keyset: a record
    left for its live batch is not read again in this sweep)."""
    table = SendAttempt.__table__
    after = 0
    while True:
        rows = db.session.execute(
            select(table).where(table.c.lease_until < now, table.c.id > after).order_by(table.c.id).limit(page)
        ).all()
        yield from rows
        if len(rows) < page:
            return
        after = rows[-1].id


def sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Safety net, run periodically: reclaim expired leases, requeue due deferrals, re-enqueue
    the batches of sending campaigns (a flushed Redis loses jobs, never messages), complete what
    is done, launch scheduled campaigns."""
    from ..campaigns.campaigns import enqueue_batches, launch_due_scheduled

    now = now or utcnow()
    lost = _expire_attempts(now)
    expired = and_(Message.state == MessageState.SUBMITTING, Message.lease_until < now)
    # A row whose claims keep dying before the call (a worker crash it causes) is given up on
    # after MAX_ATTEMPTS claims instead of cycling forever.
    exhausted = db.session.execute(
        update(Message)
        .where(expired, Message.attempted_at.is_(None), Message.attempts >= MAX_ATTEMPTS)
        .values(state=MessageState.FAILED, lease_until=None, error_code="retries_exhausted", failed_at=now),
        execution_options={"synchronize_session": False},
    ).rowcount
    never_called = db.session.execute(
        update(Message)
        .where(expired, Message.attempted_at.is_(None))
        .values(state=MessageState.QUEUED, lease_until=None),
        execution_options={"synchronize_session": False},
    ).rowcount
    maybe_called = db.session.execute(
        update(Message)
        .where(expired, Message.attempted_at.is_not(None))
        .values(state=MessageState.UNKNOWN, lease_until=None, error_code="worker_lost"),
        execution_options={"synchronize_session": False},
    ).rowcount
    db.session.commit()
    requeued = _requeue_deferred(Message.defer_until.is_not(None), now)
    enqueued = 0
    for campaign in db.session.scalars(select(Campaign).where(Campaign.state == CampaignState.SENDING)):
        if db.session.scalar(select(Message.id).where(*waiting(campaign.id, MessageState.QUEUED)).limit(1)) is not None:
            enqueued += enqueue_batches(campaign=campaign, only_open=True, unless_waiting=True)
        finish_if_done(campaign_id=campaign.id)
    launched = launch_due_scheduled(now=now)
    cancelled = _settle_cancelled(now)
    summary = {
        "reclaimed": int(never_called or 0),
        "exhausted": int(exhausted or 0),
        "unknown": int(maybe_called or 0) + lost,
        "requeued": requeued,
        "batches": enqueued,
        "launched": launched,
        "cancelled": cancelled,
    }
    if any(summary.values()):
        log.info("sweep", **summary)
    return summary
