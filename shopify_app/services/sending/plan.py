"""The batch plan: what a batch decides for each claimed row while it holds them, before
anything is written. Skips (the policy's rules, no sender, no text, no credits), deferrals
(quiet hours), the rows admitted by the rate limits and the circuit breaker, their texts and
costs, and the credits held for them."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog

from ...clients.mitto import OutboundSms
from ...clients.shopify import ShopifyError
from ...config import current_config
from ...extensions import db, redis_ext
from ...metrics import RATE_LIMIT_WAIT_SECONDS, RATE_LIMIT_WAITS
from ...models import Campaign, CampaignKind, Discount, DiscountKind, MessageState, Shop
from ...security.crypto import keyring
from ..billing import credits
from ..campaigns import discounts, test_sends
from ..contacts import keyword_recipients
from ..media.mms import message_cost
from ..ops import alerts
from ..shops.settings import load_settings, sender_rule
from .circuit import CircuitBreaker, CircuitState
from .claim import Claimed, ContactRow, TestRecipient
from .compose import NAME_VARIABLES, Recipient, outbound, recipient, variant_texts
from .policy import POLICIES, recent_counts, skip_reason
from .quiet_hours import quiet_until
from .ratelimit import TokenBucket, take_all
from .state import Write
from .templating import segment_count

log = structlog.get_logger(__name__)

MAX_BACKOFF = 300.0


@dataclass(frozen=True)
class Hold:
    """Credits held for one message of a carrier campaign before its provider call."""

    message_id: int
    attempt: int
    credits: int


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

    def skip(self, item: Claimed, reason: str) -> None:
        self.writes.append(Write(item.id, MessageState.SKIPPED, item.attempts - 1, skip_reason=reason))

    def keep(self, keep: list[int]) -> None:
        """Narrow the plan's parallel per-message lists to the positions kept."""
        self.sending, self.outbound, self.segments, self.costs = (
            [column[i] for i in keep] for column in (self.sending, self.outbound, self.segments, self.costs)
        )


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


def backoff(attempt: int, retry_after: float = 0.0) -> float:
    return max(retry_after, min(MAX_BACKOFF, 2.0**attempt)) * random.uniform(1.0, 1.25)  # noqa: S311 (jitter)


def plan_batch(
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
    recent = recent_counts(list(contacts), cap, now)
    window = settings["quiet_hours"] if policy.quiet_hours else None
    eligible: list[tuple[Claimed, ContactRow | TestRecipient]] = []
    earliest_defer: datetime | None = None
    apart = _recipients_apart(shop, campaign, claimed)
    for item in claimed:
        contact = apart.get(item.id) or contacts.get(item.contact_id or -1)
        reason = skip_reason(contact, policy, cap, recent)
        if reason:
            plan.skip(item, reason)
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


def _recipients_apart(shop: Shop, campaign: Campaign, claimed: list[Claimed]) -> dict[int, TestRecipient]:
    """The recipients that are no contact, by message id: a test's number comes from the test's
    record, the number of an answer to a stranger's HELP from the text it answers."""
    if campaign.kind == CampaignKind.TEST:
        return test_sends.recipients(shop_id=shop.id, message_ids=[item.id for item in claimed])
    strangers = [item.id for item in claimed if item.contact_id is None]
    if campaign.kind == CampaignKind.KEYWORD_REPLY and strangers:
        return keyword_recipients.recipients(shop=shop, message_ids=strangers)
    return {}


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
    bodies = variant_texts(campaign, [item for item, _ in eligible])  # an A/B test's variants
    every_body = " ".join((campaign.body, *bodies.values()))
    names = {name for name in NAME_VARIABLES if campaign.kind != CampaignKind.BROADCAST or name in every_body}
    ring = keyring()
    sendable = _with_senders(shop, [(item, recipient(contact, names, ring)) for item, contact in eligible], plan)
    outcome["skipped"] += len(eligible) - len(sendable)
    if not sendable:
        return
    texts, link_rows, unrenderable = outbound(shop, campaign, sendable, bodies=bodies)
    if unrenderable:  # rare: their text could not be made; skipped, not retried
        for item in unrenderable:
            plan.skip(item, "render_failed")
        outcome["skipped"] += len(unrenderable)
        dropped = {item.id for item in unrenderable}
        sendable = [(item, person) for item, person in sendable if item.id not in dropped]
        if not sendable:
            return
    if not _unique_codes_pushed(shop, campaign, sendable):
        plan.waits.append(backoff(max(item.attempts for item, _ in sendable)))
        return
    # Each text's segments and cost, counted once: holds, the attempt record and the charge use them.
    segments = [segment_count(message.text) if message.media_url is None else 1 for message in texts]
    costs = [
        message_cost(n, person.country_code, mms=message.media_url is not None)
        for (_, person), n, message in zip(sendable, segments, texts, strict=True)
    ]
    plan.sending, plan.outbound, plan.segments, plan.costs = sendable, texts, segments, costs
    plan.link_rows = link_rows
    _hold_credits(shop, campaign, plan, outcome)
    plan.writes += [
        Write(item.id, MessageState.SUBMITTING, item.attempts, cost, parts, sender=person.sender)
        for (item, person), cost, parts in zip(plan.sending, plan.costs, plan.segments, strict=True)
    ]


def _hold_credits(shop: Shop, campaign: Campaign, plan: Plan, outcome: dict[str, int]) -> None:
    """Hold what the plan's texts need beyond the launch's hold (a carrier: all of it); the
    rows the balance cannot fund are skipped, never sent on credit."""
    share = None if POLICIES[campaign.kind].hold_per_message else campaign.estimated_segments
    wanted = credits.needed_holds(sendable=plan.sending, costs=plan.costs, launch_share=share)
    if not wanted:
        return
    plan.shop_locked = True
    refused: dict[int, str] = {}
    plan.holds = _hold(shop, campaign, wanted, refused)
    held = {hold.message_id for hold in plan.holds}
    unfunded = {message_id for message_id, _, _ in wanted} - held
    if unfunded and POLICIES[campaign.kind].free_when_unfunded:  # sent anyway, charged nothing
        plan.costs = [
            0 if item.id in unfunded else cost for (item, _), cost in zip(plan.sending, plan.costs, strict=True)
        ]
        log.warning("messages_sent_unfunded", campaign_id=campaign.id, rows=len(unfunded))
        return
    for item, _ in plan.sending:
        if item.id in unfunded:  # `insufficient_credits`, or `spend_cap` past the cycle's cap
            plan.skip(item, refused.get(item.id, "insufficient_credits"))
    outcome["skipped"] += len(unfunded)
    plan.keep([index for index, (item, _) in enumerate(plan.sending) if item.id not in unfunded])


def _with_senders(shop: Shop, sendable: list[tuple[Claimed, Recipient]], plan: Plan) -> list[tuple[Claimed, Recipient]]:
    """Give each text its sender; a destination the shop has no sender for (US/CA without a
    number of its own) is skipped, never sent from a number that is not the shop's."""
    rule = sender_rule(shop)
    kept = []
    for item, person in sendable:
        sender = rule.for_destination(person.phone)
        if sender is None:
            plan.skip(item, "no_sender_for_country")
            continue
        person.sender = sender
        kept.append((item, person))
    return kept


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


def _hold(shop: Shop, campaign: Campaign, wanted: list[tuple[int, int, int]], refused: dict[int, str]) -> list[Hold]:
    """Hold `wanted` (`credits.needed_holds`: a carrier's whole costs, a broadcast's excesses)
    from the balance, shop row locked, in the transaction that records the attempt (the row
    path: it commits before the call, so the lock is brief); what the balance cannot cover is
    skipped as `insufficient_credits` (or `spend_cap`, the reason put in `refused`) by the
    caller, never sent on credit. The holds made."""
    held = credits.hold_messages(shop_id=shop.id, campaign_id=campaign.id, holds=wanted, refused=refused)
    if short := len(wanted) - len(held):
        log.warning("messages_unfunded", campaign_id=campaign.id, rows=short)
    return [Hold(message_id, attempt, amount) for message_id, attempt, amount in wanted if message_id in held]


def release_holds(campaign: Campaign, holds: list[Hold]) -> None:
    if holds:
        credits.release_messages(
            shop_id=campaign.shop_id,
            campaign_id=campaign.id,
            holds=[(h.message_id, h.attempt, h.credits) for h in holds],
        )
