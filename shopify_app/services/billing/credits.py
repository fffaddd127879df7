"""Prepaid credits: an append-only ledger whose sum is the balance.

A launch reserves the estimate (shop row locked, so concurrent launches cannot overspend); a
message that costs more than its share of that hold holds the excess before its provider call
(`needed_holds`), so each accepted message debits its real cost and releases the same amount of
the hold, never more than was held, and the balance
stays exact while a campaign runs; the end of a campaign releases what is left of the hold,
except what unknown-outcome messages might still cost. Every row has an idempotency key.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import structlog
from sqlalchemy import func, select, text, update

from ...bulk import insert_new, on_postgresql
from ...errors import PaymentRequired
from ...extensions import db
from ...models import Campaign, CreditLedger, LedgerKind, Message, MessageState, Shop
from ...models.types import utcnow
from . import spend_cap

log = structlog.get_logger(__name__)


def balance(*, shop_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(CreditLedger.amount), 0)).where(CreditLedger.shop_id == shop_id)
        )
        or 0
    )


def _append(rows: list[dict[str, object]]) -> int:
    """Insert ledger rows; a row whose idempotency key exists already is skipped. Returns inserted."""
    now = utcnow()
    for row in rows:
        row.setdefault("created_at", now)
        row.setdefault("campaign_id", None)
        row.setdefault("message_id", None)
        row.setdefault("note", None)
    inserted = insert_new(CreditLedger.__table__, rows, conflict=("shop_id", "idempotency_key"), returning=("id",))
    return len(inserted)


def grant(*, shop_id: int, amount: int, key: str, note: str | None = None) -> bool:
    if amount <= 0:
        raise ValueError("a grant must be positive")
    added = _append(
        [{"shop_id": shop_id, "kind": LedgerKind.GRANT, "amount": amount, "idempotency_key": key, "note": note}]
    )
    return added == 1


def lock_shop(shop_id: int) -> None:
    # A write to the shop row is the one lock both backends honour (SQLite ignores FOR UPDATE,
    # and a no-op UPDATE takes its write lock): concurrent holds of a shop queue up here.
    db.session.execute(update(Shop).where(Shop.id == shop_id).values(updated_at=Shop.updated_at))


def reserve_for_launch(*, shop: Shop, campaign: Campaign, amount: int) -> None:
    """Hold `amount` for the campaign or raise 402; serialised per shop by a row lock."""
    lock_shop(shop.id)
    available = balance(shop_id=shop.id)
    if available < amount:
        raise PaymentRequired(
            "Not enough credits to launch this campaign.",
            details={"required": amount, "available": available},
        )
    spend_cap.check_launch(shop=shop, amount=amount)  # 402 spend_cap_reached past the cycle's cap
    if amount:
        _append(
            [
                {
                    "shop_id": shop.id,
                    "kind": LedgerKind.RESERVE,
                    "amount": -amount,
                    "campaign_id": campaign.id,
                    "idempotency_key": f"reserve:c{campaign.id}",
                }
            ]
        )


def hold_messages(
    *,
    shop_id: int,
    campaign_id: int,
    holds: Iterable[tuple[int, int, int]],
    refused: dict[int, str] | None = None,
) -> set[int]:
    """Hold (message id, attempt, credits) in order while the balance and the cycle's spend cap
    cover them; the ids held. `refused`, when given, gets each other id's reason
    (`insufficient_credits` or `spend_cap`).

    For messages without a launch-time hold (automations), and for the excess of a broadcast
    message over its launch's share (`needed_holds`). Each attempt holds under its own key
    and is released (`release_messages`) or converted by `debit_messages`, so a retried message
    is never held twice."""
    lock_shop(shop_id)
    cap, shop = spend_cap.cap_of(shop_id), db.session.get(Shop, shop_id)
    if cap is None or shop is None:
        available, room = balance(shop_id=shop_id), None
    else:  # one pass over the ledger for both figures
        available, committed = spend_cap.balance_and_committed(shop)
        room = max(0, cap - committed)
    refused = {} if refused is None else refused
    rows: list[dict[str, object]] = []
    held: set[int] = set()
    for message_id, attempt, amount in holds:
        if amount > available or (room is not None and amount > room):
            refused[message_id] = "insufficient_credits" if amount > available else "spend_cap"
            continue
        available -= amount
        room = None if room is None else room - amount
        held.add(message_id)
        rows.append(
            {
                "shop_id": shop_id,
                "kind": LedgerKind.RESERVE,
                "amount": -amount,
                "campaign_id": campaign_id,
                "message_id": message_id,
                "idempotency_key": f"reserve:m{message_id}:a{attempt}",
            }
        )
    if rows:
        _append(rows)
    return held


class LaunchShare(Protocol):
    """A message as a batch holds it: its id, the attempt it would make, its launch share."""

    @property
    def id(self) -> int: ...
    @property
    def attempts(self) -> int: ...
    @property
    def held_credits(self) -> int | None: ...


def needed_holds(
    *, sendable: Iterable[tuple[LaunchShare, object]], costs: Iterable[int], launch_share: int | None
) -> list[tuple[int, int, int]]:
    """What a batch must hold from the balance before its provider call, as (message id,
    attempt, credits) for `hold_messages`, from its (message, recipient) pairs and their costs.

    A carrier campaign's messages (`launch_share` None) have no launch-time hold: each holds
    its whole cost. A broadcast's launch held each message's upper bound at launch
    (`messages.held_credits`; `launch_share`, the campaign's per-message bound, for rows
    without one); a message can still cost more (its contact's longer name or other country,
    a renamed shop, a longer discount prefix) and holds only that excess. The campaign's pool
    is then the launch hold plus the excess holds, and `debit_messages` releases each sent
    message's real cost from it: exact, whatever the edits. Usually nothing exceeds its
    share: one pass over the batch, no row, no round trip."""
    pairs = zip(sendable, costs, strict=True)
    if launch_share is None:
        return [(message.id, message.attempts, cost) for (message, _), cost in pairs]
    return [
        (message.id, message.attempts, cost - share)
        for (message, _), cost in pairs
        if cost > (share := launch_share if message.held_credits is None else message.held_credits)
    ]


def release_messages(*, shop_id: int, campaign_id: int, holds: Iterable[tuple[int, int, int]]) -> None:
    """Give back the holds of (message id, attempt, credits) that were not sent."""
    rows: list[dict[str, object]] = [
        {
            "shop_id": shop_id,
            "kind": LedgerKind.RELEASE,
            "amount": amount,
            "campaign_id": campaign_id,
            "message_id": message_id,
            "idempotency_key": f"release:m{message_id}:a{attempt}",
        }
        for message_id, attempt, amount in holds
    ]
    if rows:
        _append(rows)


def debit_messages(*, shop_id: int, campaign_id: int, charges: Iterable[tuple[int, int]]) -> None:
    """Charge one provider call's accepted messages (message id, credits): two rows for the
    batch, the hold's share released, then the charge (the ledger never dips below zero in id
    order), not two per message. Keyed by the batch's lowest message id: an accepted message
    is never sent again, so no later batch has that id, and recording the same answers twice
    inserts nothing. Each message's own cost stays on `messages.credits`."""
    charges = list(charges)
    total = sum(credits for _, credits in charges)
    if not charges or not total:
        return
    first = min(message_id for message_id, _ in charges)
    batch = {"shop_id": shop_id, "campaign_id": campaign_id, "message_id": first}
    _append(
        [
            {
                **batch,
                "kind": LedgerKind.RESERVE_RELEASE,
                "amount": total,
                "idempotency_key": f"reserve_release:b{first}",
            },
            {**batch, "kind": LedgerKind.DEBIT, "amount": -total, "idempotency_key": f"debit:b{first}"},
        ]
    )


def refund_message(*, shop_id: int, campaign_id: int, message_id: int, amount: int) -> int:
    """Give a charged message's credits back (once per message); 1 when refunded now."""
    return _append(
        [
            {
                "shop_id": shop_id,
                "kind": LedgerKind.REFUND,
                "amount": amount,
                "campaign_id": campaign_id,
                "message_id": message_id,
                "idempotency_key": f"refund:m{message_id}",
            }
        ]
    )


def held_for(*, campaign_id: int) -> int:
    """Credits still held by the campaign's reservation."""
    held = db.session.scalar(
        select(func.coalesce(func.sum(CreditLedger.amount), 0)).where(
            CreditLedger.campaign_id == campaign_id,
            CreditLedger.kind.in_([LedgerKind.RESERVE, LedgerKind.RESERVE_RELEASE, LedgerKind.RELEASE]),
        )
    )
    return -int(held or 0)


def spent_for(*, campaign_id: int) -> int:
    spent = db.session.scalar(
        select(func.coalesce(func.sum(CreditLedger.amount), 0)).where(
            CreditLedger.campaign_id == campaign_id, CreditLedger.kind == LedgerKind.DEBIT
        )
    )
    return -int(spent or 0)


def finalize_campaign(*, campaign: Campaign) -> int:
    """Give back the part of the hold no message can still need.

    Messages in flight (`submitting`, or named by an open attempt record) and with an unknown
    outcome keep their share until they settle; run again later, this releases the rest. The
    key is derived from what is held and needed, so two runs over the same state release once.
    """
    db.session.execute(select(Campaign.id).where(Campaign.id == campaign.id).with_for_update())
    # An attempted message knows its cost; a claimed one not yet attempted may cost the most a
    # message of the campaign can (`estimated_segments` holds that per-message upper bound).
    known, unattempted = db.session.execute(
        select(
            func.coalesce(func.sum(Message.credits), 0),
            func.count().filter(Message.credits.is_(None)),
        ).where(
            Message.campaign_id == campaign.id,
            Message.state.in_([MessageState.UNKNOWN, MessageState.SUBMITTING]),
        )
    ).one()
    held = held_for(campaign_id=campaign.id)
    needed = int(known or 0) + int(unattempted or 0) * campaign.estimated_segments + _open_attempt_credits(campaign.id)
    amount = held - needed
    if amount <= 0:
        return 0
    _append(
        [
            {
                "shop_id": campaign.shop_id,
                "kind": LedgerKind.RELEASE,
                "amount": amount,
                "campaign_id": campaign.id,
                "idempotency_key": f"release:c{campaign.id}:h{held}:n{needed}",
            }
        ]
    )
    return amount


# The record path's attempts (services/sending.py): their rows are still `queued`, maybe sent.
_OPEN_ATTEMPT_CREDITS = text(
    "SELECT coalesce(sum(c), 0) FROM send_attempts, unnest(CAST(credits AS integer[])) AS c WHERE campaign_id = :id"
)


def _open_attempt_credits(campaign_id: int) -> int:
    return int(db.session.scalar(_OPEN_ATTEMPT_CREDITS, {"id": campaign_id}) or 0) if on_postgresql() else 0


def resolve_unknown(*, message: Message, accepted: bool, estimated_segments: int) -> None:
    """An operator settled an unknown message: charge it, or give its share of the hold back."""
    if accepted:
        debit_messages(
            shop_id=message.shop_id,
            campaign_id=message.campaign_id,
            charges=[(message.id, message.credits or estimated_segments)],
        )
    else:
        _append(
            [
                {
                    "shop_id": message.shop_id,
                    "kind": LedgerKind.RELEASE,
                    "amount": message.credits or estimated_segments,
                    "campaign_id": message.campaign_id,
                    "message_id": message.id,
                    "idempotency_key": f"release:m{message.id}",
                }
            ]
        )
