"""An A/B test's split at launch: which of the snapshot's recipients are in the test, with
which variant, and which wait for the winner. Called by the launch (campaigns.start_sending)
in its transaction, right after the snapshot's INSERT; the rest of the test's life (settings,
the decision, the report) is ab_tests.py.

The snapshot writes an A/B test's rows `deferred` (`snapshot_state`); the split is then one
UPDATE of the tested rows (never row by row). Each row gets a
pseudo-random rank: a hash of (campaign id, contact id) in portable integer arithmetic (the
same on PostgreSQL and SQLite; mixing, not cryptography), ties broken by the message id. The
first `test_share` percent of the ranks are the test, dealt round-robin to the variants (so
the variants differ in size by one at most) and become `queued`; the others stay `deferred`
with no `defer_until`, which no claim, deferral sweep or resume ever picks (a NULL time is never due),
until the decision releases them. The same contact in the same campaign always gets the same
rank, so a launch retried after a rollback splits exactly as before.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy import func, select, text

from ...extensions import db
from ...models import VARIANT_LABELS, AbTest, Campaign, Message, MessageState
from .variants import variant_bodies

log = structlog.get_logger(__name__)

# 2^31 - 1, a prime: every intermediate value stays below 2^62 (no BIGINT overflow, no float).
_PRIME = 2147483647

_SPLIT = text(
    f"""
    WITH seeded AS (
        SELECT id,
            ((contact_id % {_PRIME}) * 48271 + (CAST(:campaign_id AS BIGINT) % {_PRIME}) * 16807 + 12345) % {_PRIME}
            AS h
        FROM messages WHERE campaign_id = :campaign_id
    ),
    mixed AS (SELECT id, (h * h + 7) % {_PRIME} AS h FROM seeded),
    hashed AS (SELECT id, (h * h + 13) % {_PRIME} AS h FROM mixed),
    ranked AS (SELECT id, row_number() OVER (ORDER BY h, id) - 1 AS position FROM hashed)
    UPDATE messages SET
        variant = substr(CAST(:labels AS VARCHAR(4)), CAST(ranked.position % :variants AS INTEGER) + 1, 1),
        state = :queued
    FROM ranked WHERE messages.id = ranked.id AND ranked.position < :tested AND messages.state = :held
    """  # noqa: S608 (only the module's own constant is inlined)
)


def test_of(campaign_id: int) -> AbTest | None:
    return db.session.scalar(select(AbTest).where(AbTest.campaign_id == campaign_id))


def snapshot_state(campaign: Campaign) -> MessageState:
    """The state a launch's snapshot writes: an A/B test's rows start `deferred` (held; no
    `defer_until`) and the split makes only the tested ones `queued`, so it rewrites a fifth of
    the rows, not all of them (bench/ab_split.py)."""
    return MessageState.DEFERRED if test_of(campaign.id) is not None else MessageState.QUEUED


def tested_count(recipients: int, *, share: int, variants: int) -> int:
    """How many of `recipients` the test reaches: `share` percent rounded half up, at least one
    per variant, never more than there are."""
    return min(recipients, max(variants, (recipients * share + 50) // 100))


def split_audience(*, campaign: Campaign, now: datetime) -> AbTest | None:
    """Split the snapshot just inserted (uncommitted, every row `deferred`: `snapshot_state`)
    when the campaign is A/B-tested; its test, or None for any other campaign."""
    test = test_of(campaign.id)
    if test is None:
        return None
    labels = "".join(variant_bodies(campaign)) or VARIANT_LABELS[0]
    recipients = int(db.session.scalar(select(func.count()).where(Message.campaign_id == campaign.id)) or 0)
    tested = tested_count(recipients, share=test.test_share, variants=len(labels))
    db.session.execute(
        _SPLIT,
        {
            "campaign_id": campaign.id,
            "tested": tested,
            "labels": labels,
            "variants": len(labels),
            "held": MessageState.DEFERRED.value,
            "queued": MessageState.QUEUED.value,
        },
    )
    test.test_recipients, test.held_recipients = tested, recipients - tested
    test.decide_at = now + timedelta(hours=test.wait_hours)
    log.info("ab_test_split", campaign_id=campaign.id, tested=tested, held=recipients - tested)
    return test
