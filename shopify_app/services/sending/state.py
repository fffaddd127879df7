"""Message-state writes: every change of a message's state in the send path goes through here.

One table (`ALLOWED_PRIORS`) names the states each state may be reached from, and every write
is an UPDATE guarded by it (`... WHERE state IN (allowed priors)`), so a racing writer can never
move a message backwards or out of a final state: a write that finds its row moved on writes
nothing. A caller may narrow the priors of one write (never widen them).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, bindparam, or_, text, update

from ...bulk import id_in, on_postgresql, pg_array
from ...extensions import db
from ...models import WAITING_MESSAGE_STATES, Message, MessageState
from .senders import by_sender

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 5

_S = MessageState
ALLOWED_PRIORS: dict[MessageState, tuple[MessageState, ...]] = {
    _S.QUEUED: (_S.DEFERRED, _S.SUBMITTING),  # a due deferral; an answer proving nothing was sent
    _S.DEFERRED: WAITING_MESSAGE_STATES,
    _S.SUBMITTING: WAITING_MESSAGE_STATES,
    _S.SKIPPED: WAITING_MESSAGE_STATES,
    _S.CANCELLED: (*WAITING_MESSAGE_STATES, _S.SUBMITTING),
    # The record path's rows stay `queued` across the call; a late answer settles `unknown`.
    _S.SENT: (*WAITING_MESSAGE_STATES, _S.SUBMITTING, _S.UNKNOWN),
    _S.UNKNOWN: (*WAITING_MESSAGE_STATES, _S.SUBMITTING),
    _S.FAILED: (*WAITING_MESSAGE_STATES, _S.SUBMITTING, _S.UNKNOWN, _S.SENT),
    _S.DELIVERED: (_S.SENT,),  # delivery reports move forward only
}


def _priors(targets: Iterable[MessageState], priors: tuple[MessageState, ...] | None) -> tuple[MessageState, ...]:
    """The states a write to `targets` may start from: `priors` when given (each allowed for
    every target), else what every target allows."""
    allowed = set.intersection(*(set(ALLOWED_PRIORS[target]) for target in targets))
    chosen = priors if priors is not None else tuple(state for state in MessageState if state in allowed)
    if not set(chosen) <= allowed:
        raise ValueError(f"{sorted(chosen)} -> {sorted(targets)} is not a transition of the message state machine")
    return chosen


def _guard(column: Any, targets: Iterable[MessageState], priors: tuple[MessageState, ...] | None = None) -> Any:
    """The guard of an executemany: an OR, as an IN's expanding parameter cannot be part of one."""
    return or_(*(column == state.value for state in _priors(targets, priors)))


def _guard_sql(targets: Iterable[MessageState], priors: tuple[MessageState, ...] | None = None) -> str:
    """The guard as SQL, for the PostgreSQL statements below: the enum's own values, inlined."""
    values = ", ".join(f"'{state.value}'" for state in _priors(targets, priors))
    return f"messages.state IN ({values})"


def move(
    ids: list[int] | None,
    *,
    to: MessageState,
    priors: tuple[MessageState, ...] | None = None,
    extra: ColumnElement[bool] | None = None,
    **values: Any,
) -> int:
    """The rows `ids` (None: every row) that match `extra` to state `to`, with `values`; only
    rows in an allowed prior state move. Uncommitted; returns the rows moved."""
    conditions = [Message.state.in_(_priors([to], priors))]
    if ids is not None:
        if not ids:
            return 0
        conditions.append(id_in(Message.id, ids))
    elif extra is None:
        raise ValueError("moving every message: name the rows with `extra`")
    if extra is not None:
        conditions.append(extra)
    result = db.session.execute(
        update(Message).where(*conditions).values(state=to, **values),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount or 0)


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
    "UPDATE messages SET state = :submitting, attempts = v.attempts, credits = v.credits, segments = v.segments, "  # noqa: S608 (the guard inlines the enum's own values)
    "attempted_at = :now, lease_until = :lease, defer_until = NULL, sender = :sender "
    "FROM unnest(CAST(:id AS bigint[]), CAST(:attempts AS smallint[]), CAST(:credits AS integer[]), "
    "CAST(:segments AS smallint[])) AS v(id, attempts, credits, segments) "
    "WHERE messages.id = v.id AND messages.id BETWEEN :first AND :last "
    f"AND {_guard_sql([_S.SUBMITTING])} RETURNING messages.id"
)
_WRITE_OTHERS = text(
    "UPDATE messages SET state = v.state, attempts = v.attempts, skip_reason = v.skip_reason, "  # noqa: S608 (the guard inlines the enum's own values)
    "defer_until = v.defer_until, lease_until = NULL "
    "FROM unnest(CAST(:id AS bigint[]), CAST(:state AS varchar[]), CAST(:attempts AS smallint[]), "
    "CAST(:skip_reason AS varchar[]), CAST(:defer_until AS timestamptz[])) "
    "AS v(id, state, attempts, skip_reason, defer_until) "
    "WHERE messages.id = v.id AND messages.id BETWEEN :first AND :last "
    f"AND {_guard_sql([_S.SKIPPED, _S.DEFERRED])} RETURNING messages.id"
)


def arrays(writes: Any, *names: str) -> dict[str, str]:
    """The named fields of `writes` as one array literal each: the arrays a statement unnests."""
    return {name: pg_array([getattr(write, name) for write in writes]) for name in names}


def span(ids: list[int]) -> dict[str, int]:
    """The lowest and highest of `ids`: the range a batch's UPDATE reads (see _WRITE_ATTEMPTS)."""
    return {"first": min(ids), "last": max(ids)}


def write_decisions(writes: list[Write], now: datetime) -> set[int]:
    """Record the batch's decisions (uncommitted); returns the ids written."""
    if not writes:
        return set()
    lease = now + LEASE
    if on_postgresql():
        attempts = [write for write in writes if write.state == MessageState.SUBMITTING]
        others = [write for write in writes if write.state != MessageState.SUBMITTING]
        written: set[int] = set()
        for sender, group in by_sender(attempts, [write.sender for write in attempts]):
            values = arrays(group, "id", "attempts", "credits", "segments")
            fixed = {"submitting": MessageState.SUBMITTING.value, "now": now, "lease": lease, "sender": sender}
            written.update(
                db.session.execute(_WRITE_ATTEMPTS, {**values, **fixed, **span([w.id for w in group])}).scalars().all()
            )
        if others:
            values = arrays(others, "id", "attempts", "skip_reason", "defer_until")
            values["state"] = pg_array([write.state.value for write in others])
            written.update(db.session.execute(_WRITE_OTHERS, {**values, **span([w.id for w in others])}).scalars())
        return written
    table = Message.__table__
    db.session.execute(  # SQLite: one writer at a time, so every row is still ours
        update(table)
        .where(table.c.id == bindparam("w_id"), _guard(table.c.state, {write.state for write in writes}))
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


def count_failed_claim(ids: list[int], now: datetime) -> None:
    """A batch that raised before its write left its rows untouched; count the claim anyway,
    so a row that always breaks its batch fails after MAX_ATTEMPTS instead of cycling."""
    waiting = Message.state.in_(WAITING_MESSAGE_STATES)
    db.session.execute(  # no state change: only the claim is counted
        update(Message).where(id_in(Message.id, ids), waiting).values(attempts=Message.attempts + 1),
        execution_options={"synchronize_session": False},
    )
    exhausted = Message.attempts >= MAX_ATTEMPTS
    move(ids, to=MessageState.FAILED, priors=WAITING_MESSAGE_STATES, extra=exhausted, **_exhausted(now))
    db.session.commit()


def _exhausted(now: datetime) -> dict[str, Any]:
    return {"error_code": "retries_exhausted", "failed_at": now, "defer_until": None}


def release(ids: list[int], *, attempts: dict[int, int], now: datetime) -> list[int]:
    """Back to `queued` after an answer proving nothing was sent; exhausted rows fail instead."""
    exhausted = [message_id for message_id in ids if attempts[message_id] >= MAX_ATTEMPTS]
    retry = [message_id for message_id in ids if attempts[message_id] < MAX_ATTEMPTS]
    submitting = (MessageState.SUBMITTING,)
    move(retry, to=MessageState.QUEUED, priors=submitting, lease_until=None, attempted_at=None)
    move(
        exhausted,
        to=MessageState.FAILED,
        priors=submitting,
        error_code="retries_exhausted",
        failed_at=now,
        lease_until=None,
    )
    return retry


class Accepted(NamedTuple):
    """The messages the provider accepted, column by column (the arrays of `_MARK_SENT`)."""

    ids: list[int]
    provider_ids: list[str]
    attempts: list[int]
    credits: list[int]
    segments: list[int]
    senders: list[str]  # one value for nearly every batch: bound once per statement (`by_sender`)


# One statement for the whole batch on PostgreSQL: the per-message values travel as arrays.
# (An executemany, even pipelined, is one statement per message: 4-5x slower at 500.) It also
# deletes the record path's attempt record (`record_id` NULL on the row path: nothing).
_MARK_SENT = text(
    "WITH closed AS (DELETE FROM send_attempts WHERE id = :record_id) "  # noqa: S608 (the guard inlines the enum's own values)
    "UPDATE messages SET state = :state, provider_message_id = v.pid, bulk_id = :bulk_id, sent_at = :now, "
    "attempted_at = :now, attempts = v.attempts, credits = v.credits, segments = v.segments, lease_until = NULL, "
    "defer_until = NULL, sender = :sender "
    "FROM unnest(CAST(:mids AS bigint[]), CAST(:pids AS varchar[]), CAST(:attempts AS smallint[]), "
    "CAST(:credits AS integer[]), CAST(:segments AS smallint[])) AS v(mid, pid, attempts, credits, segments) "
    f"WHERE messages.id = v.mid AND messages.id BETWEEN :first AND :last AND {_guard_sql([_S.SENT])}"
)


def mark_sent(accepted: Accepted, *, bulk_id: str | None, now: datetime, record_id: int | None) -> None:
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
                    **span(group.ids),
                },
            )
        return
    rows = [{"mid": mid, "pid": pid} for mid, pid in zip(accepted.ids, accepted.provider_ids, strict=True)]
    table = Message.__table__
    db.session.execute(
        update(table)
        .where(table.c.id == bindparam("mid"), _guard(table.c.state, [MessageState.SENT]))
        .values(
            state=MessageState.SENT.value,
            provider_message_id=bindparam("pid"),
            bulk_id=bulk_id,
            sent_at=now,
            lease_until=None,
        ),
        rows,
    )


# The states a message is in between its claim and its provider's answer.
_SENDING = (*WAITING_MESSAGE_STATES, MessageState.SUBMITTING, MessageState.UNKNOWN)


def mark_rejected(rejected: list[dict[str, Any]], *, now: datetime) -> None:
    """The messages the provider refused one by one (`mid`, `attempts`, `code`, `sender` each).
    Rare: one executemany (psycopg pipelines it), not a round trip per message."""
    table = Message.__table__
    db.session.execute(
        update(table)
        .where(table.c.id == bindparam("mid"), _guard(table.c.state, [MessageState.FAILED], _SENDING))
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


def requeue_deferred(scope: Any, now: datetime) -> int:
    """Deferred rows of `scope` whose time has come go back to `queued` (committed)."""
    due = Message.defer_until <= now
    moved = move(None, to=MessageState.QUEUED, priors=(MessageState.DEFERRED,), extra=scope & due, defer_until=None)
    db.session.commit()
    return moved


# An expired record's rows that are still waiting become `unknown` with the record's values.
_EXPIRE_ATTEMPT = text(
    "UPDATE messages SET state = :unknown, error_code = 'worker_lost', attempted_at = :attempted_at, "  # noqa: S608 (the guard inlines the enum's own values)
    "attempts = v.attempts, credits = v.credits, segments = v.segments, sender = v.sender, lease_until = NULL, "
    "defer_until = NULL FROM unnest(CAST(:ids AS bigint[]), CAST(:attempts AS smallint[]), "
    "CAST(:credits AS integer[]), CAST(:segments AS smallint[]), CAST(:senders AS varchar[])) "
    "AS v(id, attempts, credits, segments, sender) "
    f"WHERE messages.id = v.id AND {_guard_sql([_S.UNKNOWN], WAITING_MESSAGE_STATES)}"
)


def expire_recorded(record: Any) -> int:
    """The waiting rows of a lost attempt record (`send_attempts`) become `unknown` with the
    record's values (uncommitted); returns how many."""
    values = {
        "unknown": MessageState.UNKNOWN.value,
        "attempted_at": record.attempted_at,
        "ids": record.message_ids,
        "attempts": record.attempts,
        "credits": record.credits,
        "segments": record.segments,
        "senders": record.senders,  # NULL for a record written before 0017: no sender
    }
    return int(db.session.execute(_EXPIRE_ATTEMPT, values).rowcount or 0)


def reclaim_expired_leases(now: datetime) -> tuple[int, int, int]:
    """The row path's rows whose lease expired (their worker died), committed: never called
    ones go back to `queued` (or fail after MAX_ATTEMPTS claims that kept dying, instead of
    cycling forever); those that may have been called become `unknown`. Returns (exhausted,
    reclaimed, unknown)."""
    submitting = (MessageState.SUBMITTING,)
    expired = Message.lease_until < now
    never_called = expired & Message.attempted_at.is_(None)
    exhausted = move(
        None,
        to=MessageState.FAILED,
        priors=submitting,
        extra=never_called & (Message.attempts >= MAX_ATTEMPTS),
        lease_until=None,
        error_code="retries_exhausted",
        failed_at=now,
    )
    reclaimed = move(None, to=MessageState.QUEUED, priors=submitting, extra=never_called, lease_until=None)
    maybe_called = expired & Message.attempted_at.is_not(None)
    unknown = move(
        None, to=MessageState.UNKNOWN, priors=submitting, extra=maybe_called, lease_until=None, error_code="worker_lost"
    )
    db.session.commit()
    return exhausted, reclaimed, unknown
