"""Claiming a batch: what one batch reads before deciding anything, in as few round trips as
possible: its campaign and shop (`read_only`), and its range's sendable rows, locked, with
their contacts (`claim`)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, or_, select, union_all

from ...extensions import db
from ...models import Campaign, ConsentState, Contact, Message, MessageState, Shop


class Claimed(NamedTuple):
    """A row this batch holds: locked from the claim until the batch's one write commits."""

    id: int
    contact_id: int | None
    attempts: int  # the attempt this claim would make: the stored count + 1
    automation_run_id: int | None = None
    discount_code: str | None = None
    held_credits: int | None = None  # a broadcast message's share of its launch's hold
    variant: str | None = None  # an A/B-tested campaign's: whose body it gets (models/ab_test.py)


@dataclass(frozen=True)
class TestRecipient:
    """A recipient that is no contact (in place of a contact row): a merchant's test
    (services/campaigns/test_sends.py) or the answer to a stranger's HELP
    (services/contacts/keyword_recipients.py). The attributes the send path's rules read, and
    the number and text in clear."""

    __test__ = False

    id: None
    consent_state: ConsentState
    timezone: str | None
    country_code: str | None
    phone: str
    body: str
    values: dict[str, Any]
    text: str | None = None  # sent as written, in place of the body rendered with the values


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


# What a batch reads of its rows: the message columns of `Claimed`, then the contact's.
_CLAIMED = (
    Message.id,
    Message.contact_id,
    Message.attempts,
    Message.automation_run_id,
    Message.discount_code,
    Message.held_credits,
    Message.variant,
)


def claim(*, campaign_id: int, low: int, high: int, now: datetime) -> tuple[list[Claimed], dict[int, ContactRow]]:
    """Lock this range's sendable rows (queued, or deferred and now due) and read their
    contacts, in one round trip. Nothing is written: the locks last until the batch commits
    its decisions (the row path: before the provider call; the record path: with the answer,
    see batch.py). Concurrent claimers skip locked rows (PostgreSQL `FOR NO KEY UPDATE SKIP
    LOCKED`; SQLite has one writer); a worker that dies before its attempt is durable leaves
    its rows as they were, for the sweeper."""
    rows = (
        db.session.connection()  # Core: plain rows, none of the ORM's per-row loading machinery
        .execute(_claim_statement(), {"campaign_id": campaign_id, "low": low, "high": high, "now": now})
        .all()
    )
    width = len(_CLAIMED)
    claimed, contacts = [], {}
    for row in rows:
        claimed.append(Claimed(row[0], row[1], row[2] + 1, row[3], row[4], row[5], row[6]))
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


def read_only(campaign_id: int) -> tuple[Campaign, Shop] | None:
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
