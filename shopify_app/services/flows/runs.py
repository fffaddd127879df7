"""Starting flow runs: a trigger (a checkout, a subscriber, a tag, a product view) starts each
of the shop's enabled step-engine flows on that trigger, once per (flow, contact, trigger key).

The flow's re-entry rule picks the key: "per_trigger" uses the trigger's own (each checkout,
each order), "once" one key for ever, "cooldown" the trigger's key unless the contact began
this flow within the last N days. A run starts on its version's first step, due at once; the
engine (engine.py) takes it from there. Imports nothing of automations: their triggers call in.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

import structlog
from redis.exceptions import RedisError
from sqlalchemy import event, exists, select
from sqlalchemy.orm import Session

from ...bulk import insert_or_nothing
from ...extensions import db
from ...job_names import FLOWS_ADVANCE
from ...models import Flow, FlowEngine, FlowRun, FlowRunState, FlowVersion
from ...models.types import utcnow

log = structlog.get_logger(__name__)

ADVANCE_AFTER_COMMIT = "flows_advance_after_commit"


@event.listens_for(Session, "after_commit")
def _advance_after_commit(session: Session) -> None:
    """New runs are due at once, but visible to the engine only once committed: enqueue an
    advance then (Redis only, no SQL, so it is safe in this hook)."""
    if session.info.pop(ADVANCE_AFTER_COMMIT, False):
        advance_soon()


@event.listens_for(Session, "after_rollback")
def _forget_advance(session: Session) -> None:
    session.info.pop(ADVANCE_AFTER_COMMIT, None)


def advance_soon() -> None:
    """An advance a second from now; one per second however many starts ask. The periodic tick
    is the safety net (a Redis flush loses this job, never a run)."""
    second = int(time.time())
    try:
        FLOWS_ADVANCE.delay(delay=timedelta(seconds=1), job_id=f"flows-advance-{second}")
    except RedisError:  # called after a commit: the request that started runs must not fail now
        log.warning("flows_advance_not_enqueued")


def has_flows(shop_id: int, trigger: str) -> bool:
    """Whether the shop has an enabled step-engine flow on `trigger` (cheap gate for callers
    that would do outside work, an Admin API call, only for someone to notify)."""
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    Flow.shop_id == shop_id,
                    Flow.trigger == trigger,
                    Flow.enabled,
                    Flow.engine == FlowEngine.STEPS,
                    Flow.current_version_id.is_not(None),
                )
            )
        )
    )


def matches(flow: Flow, context: Mapping[str, Any] | None) -> bool:
    """Whether the trigger's details fit the flow's trigger settings (which tag, which source)."""
    context = context or {}
    if flow.trigger == "tag_added":
        wanted = str(flow.trigger_config.get("tag", "")).casefold()
        return bool(wanted) and str(context.get("tag", "")).casefold() == wanted
    if flow.trigger == "joined":
        return context.get("source") in (flow.trigger_config.get("sources") or ())
    return True


def run_key(flow: Flow, contact_id: int, key: str, now: datetime) -> str | None:
    """The run's trigger key under the flow's re-entry rule; None when the rule says not now."""
    mode = (flow.reentry or {}).get("mode", "per_trigger")
    if mode == "once":
        return "once"
    if mode == "cooldown":
        since = now - timedelta(days=int(flow.reentry.get("days") or 1))
        recent = db.session.scalar(
            select(FlowRun.id)
            .where(FlowRun.flow_id == flow.id, FlowRun.contact_id == contact_id, FlowRun.started_at >= since)
            .limit(1)
        )
        if recent is not None:
            return None
    return key[:128]


def start_flows(
    *,
    shop_id: int,
    trigger: str,
    contact_id: int,
    key: str,
    context: Mapping[str, Any] | None = None,
    flow_ids: Collection[int] | None = None,
    at: datetime | None = None,
) -> list[int]:
    """Start the contact on each enabled step-engine flow of `trigger` (or of `flow_ids`); the
    new runs' ids (a flow that has this run already, or whose rules say no, starts nothing)."""
    query = select(Flow).where(
        Flow.shop_id == shop_id,
        Flow.trigger == trigger,
        Flow.enabled,
        Flow.engine == FlowEngine.STEPS,
        Flow.current_version_id.is_not(None),
    )
    if flow_ids is not None:
        query = query.where(Flow.id.in_(list(flow_ids)))
    now = utcnow()
    started = []
    for flow in db.session.scalars(query).all():
        if not matches(flow, context):
            continue
        run_id = _start(flow, contact_id, key, context, at or now, now)
        if run_id is not None:
            started.append(run_id)
    if started:
        db.session.info[ADVANCE_AFTER_COMMIT] = True
        log.info("flow_runs_started", shop_id=shop_id, trigger=trigger, runs=len(started))
    return started


def _start(
    flow: Flow, contact_id: int, key: str, context: Mapping[str, Any] | None, due: datetime, now: datetime
) -> int | None:
    trigger_key = run_key(flow, contact_id, key, now)
    if trigger_key is None:
        return None
    steps = db.session.scalar(select(FlowVersion.steps).where(FlowVersion.id == flow.current_version_id))
    if not steps:
        return None
    return insert_or_nothing(
        FlowRun.__table__,
        {
            "shop_id": flow.shop_id,
            "flow_id": flow.id,
            "version_id": flow.current_version_id,
            "contact_id": contact_id,
            "trigger_key": trigger_key,
            "state": FlowRunState.ACTIVE.value,
            "step_id": steps[0]["id"],
            "due_at": due,
            "started_at": now,
            "context_ciphertext": FlowRun.context.seal_json(flow.shop_id, context),
        },
        conflict=("flow_id", "contact_id", "trigger_key"),
        returning="id",
    )
