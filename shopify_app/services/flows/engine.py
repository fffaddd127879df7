"""The flow engine: due runs are claimed from the database and moved through their version's
steps until a wait, an exit or the end of a branch.

Runs are claimed with `FOR UPDATE SKIP LOCKED` (two workers never take one run) in the order
they fell due. A run's moves and the rows of the steps it took are written in one transaction
with the sends' automation runs, so a worker killed mid-advance leaves the run where it was:
the next tick redoes the steps once (a send's automation run is unique per run and step). Redis
holds nothing of a run; a flush only delays the next advance to the periodic tick.

Before each step the engine asks whether the run should end instead: the flow turned off, the
shop uninstalled, the subscriber gone or no longer subscribed, or (flows that say so) an order
since the run began. The ending is a step row (outcome "exited", the reason) and the run's
`exit_reason`, so the flow's page shows both.

A run whose step raises (data that cannot run) is rolled back to its savepoint alone; it is due
again after a backoff, and after MAX_ATTEMPTS it ends with reason "error". While it waits to be
retried its `exit_reason` reads "retry:N". Nothing here loops: each run takes each step of its
tree at most once per advance, and the drain stops on a short chunk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select

from ...extensions import db
from ...models import ConsentEvent, ConsentState, Contact, Flow, FlowRun, FlowRunState, FlowRunStep, FlowVersion, Shop
from ...models.types import utcnow
from .conditions import order_since
from .graph import Position, positions
from .steps import Taken, take

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 3
RETRY = "retry:"


@dataclass
class Advance:
    """One chunk's caches and counts."""

    now: datetime
    trees: dict[int, dict[str, Position]] = field(default_factory=dict)
    contacts: dict[int, Contact] = field(default_factory=dict)
    counts: dict[str, int] = field(
        default_factory=lambda: {"claimed": 0, "steps": 0, "waiting": 0, "completed": 0, "exited": 0, "errors": 0}
    )

    def tree(self, version_id: int) -> dict[str, Position]:
        if version_id not in self.trees:
            steps = db.session.scalar(select(FlowVersion.steps).where(FlowVersion.id == version_id))
            self.trees[version_id] = positions(steps or [])
        return self.trees[version_id]


def advance_due(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Claim up to `limit` due active runs and advance each; one commit for the chunk."""
    chunk = Advance(now=now or utcnow())
    runs = list(
        db.session.scalars(
            select(FlowRun)
            .where(FlowRun.state == FlowRunState.ACTIVE, FlowRun.due_at <= chunk.now)
            .order_by(FlowRun.due_at, FlowRun.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    chunk.counts["claimed"] = len(runs)
    # The chunk's contacts (and their tags) in one query each, not one per run.
    chunk.contacts = {
        contact.id: contact
        for contact in db.session.scalars(select(Contact).where(Contact.id.in_({run.contact_id for run in runs})))
    }
    for run in runs:
        _advance_safely(run, chunk)
    db.session.commit()
    if runs:
        log.info("flows_advanced", **chunk.counts)
    return chunk.counts


def _advance_safely(run: FlowRun, chunk: Advance) -> None:
    """One run in its own savepoint: a step that raises undoes this run's moves only."""
    run_id, attempts = run.id, failed_attempts(run)
    try:
        with db.session.begin_nested():
            advance_run(run, chunk)
    except Exception as exc:  # a run's bad data (or a bug) must not stop the chunk's other runs
        chunk.counts["errors"] += 1
        log.warning("flow_run_failed", run_id=run_id, error=type(exc).__name__, attempt=attempts + 1)
        run = db.session.get(FlowRun, run_id)
        if run is None:
            return
        if attempts + 1 >= MAX_ATTEMPTS:
            _end(run, FlowRunState.EXITED, chunk.now, reason="error")
        else:
            run.exit_reason = f"{RETRY}{attempts + 1}"
            run.due_at = chunk.now + timedelta(minutes=5 * 2**attempts)


def failed_attempts(run: FlowRun) -> int:
    """How many times the run's current step has failed (kept as "retry:N" in exit_reason)."""
    reason = run.exit_reason or ""
    return int(reason.removeprefix(RETRY)) if reason.startswith(RETRY) else 0


def advance_run(run: FlowRun, chunk: Advance) -> None:
    """Take the run's steps from `run.step_id` until it waits or ends."""
    tree = chunk.tree(run.version_id)
    flow = db.session.get(Flow, run.flow_id)
    shop = db.session.get(Shop, run.shop_id)
    contact = chunk.contacts.get(run.contact_id) or db.session.get(Contact, run.contact_id)
    for _ in range(len(tree) + 1):
        if run.step_id is None:
            _end(run, FlowRunState.COMPLETED, chunk.now)
            chunk.counts["completed"] += 1
            return
        position = tree[run.step_id]
        reason = exit_reason(run, flow, shop, contact)
        if reason is not None:
            _record(run, position, Taken("exited", {"reason": reason}), chunk.now)
            _end(run, FlowRunState.EXITED, chunk.now, reason=reason)
            chunk.counts["exited"] += 1
            return
        assert shop is not None
        assert contact is not None
        taken = take(position, run, contact, shop, chunk.now)
        _record(run, position, taken, chunk.now)
        chunk.counts["steps"] += 1
        if taken.exit_reason is not None:
            _end(run, FlowRunState.EXITED, chunk.now, reason=taken.exit_reason)
            chunk.counts["exited"] += 1
            return
        run.step_id = taken.next_step
        if taken.due_at is not None and run.step_id is not None:
            run.due_at = taken.due_at
            run.exit_reason = None  # a retried run that got past its trouble
            chunk.counts["waiting"] += 1
            return
    raise ValueError("a run took more steps than its tree has")


def exit_reason(run: FlowRun, flow: Flow | None, shop: Shop | None, contact: Contact | None) -> str | None:
    """Why the run ends before its next step, checked in this order; None: it goes on."""
    if flow is None or not flow.enabled:
        return "flow_disabled"
    if shop is None or not shop.is_installed:
        return "shop_uninstalled"
    if contact is None or contact.consent_state != ConsentState.SUBSCRIBED or opted_out_since(run):
        return "opted_out"
    if flow.exit_on_order and order_since(run) is not None:
        return "order_placed"
    return None


def opted_out_since(run: FlowRun) -> bool:
    """An opt-out since the run began ends it, even if they subscribed again during a wait."""
    return (
        db.session.scalar(
            select(ConsentEvent.id)
            .where(
                ConsentEvent.contact_id == run.contact_id,
                ConsentEvent.shop_id == run.shop_id,
                ConsentEvent.state == ConsentState.UNSUBSCRIBED,
                ConsentEvent.occurred_at >= run.started_at,
            )
            .limit(1)
        )
        is not None
    )


def _record(run: FlowRun, position: Position, taken: Taken, now: datetime) -> None:
    db.session.add(
        FlowRunStep(
            shop_id=run.shop_id,
            run_id=run.id,
            step_id=str(position.step["id"]),
            step_type=str(position.step.get("type")),
            outcome=taken.outcome,
            detail=_detail(taken.detail),
            automation_run_id=taken.automation_run_id,
            created_at=now,
        )
    )  # flushed with the run's move when its savepoint ends (a clash rolls back this run alone)


def _detail(detail: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in detail.items() if value is not None}


def _end(run: FlowRun, state: FlowRunState, now: datetime, *, reason: str | None = None) -> None:
    run.state, run.ended_at, run.exit_reason, run.step_id = state, now, reason, None
