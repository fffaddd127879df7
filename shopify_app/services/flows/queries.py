"""What the flow screens read and the few changes only the API makes: the flow list and page,
a flow's runs and the steps a run took, the catalog the editor offers, deleting a flow.

Each read is a handful of queries whatever the number of flows or runs (version numbers and
active-run counts come grouped, never one query per row). Nothing here answers a phone or a
trigger's context: a run names its contact by id, and the screens link to the subscriber.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import structlog
from sqlalchemy import delete, func, select

from ...errors import Conflict, NotFound, ValidationFailed
from ...extensions import db
from ...models import Automation, Flow, FlowEngine, FlowRun, FlowRunState, FlowRunStep, FlowVersion, Shop
from ...models.types import utcnow
from ..ops.pagination import page
from .definition import CONDITION_KINDS, REENTRY_MODES, STEP_TYPES, TRIGGERS, walk
from .engine import failed_attempts
from .legacy import ensure_flows
from .versions import current_steps, get_flow

log = structlog.get_logger(__name__)

CONDITION_LABELS = {
    "ordered": "Placed an order since the flow began",
    "clicked": "Clicked a link in this flow's texts",
    "has_tag": "Has a tag",
    "spent_over": "Has spent more than",
    "in_segment": "Is in a segment",
}


def catalog() -> dict[str, Any]:
    """The triggers (with the variables their texts may use and their settings), the step types,
    conditions and re-entry modes: everything the editor offers, from definition.py."""
    return {
        "triggers": [
            {"key": key, "label": t.label, "variables": list(t.variables), "config": dict(t.config or {})}
            for key, t in TRIGGERS.items()
        ],
        "step_types": list(STEP_TYPES),
        "condition_kinds": [{"key": kind, "label": CONDITION_LABELS[kind]} for kind in CONDITION_KINDS],
        "reentry_modes": list(REENTRY_MODES),
    }


def public_steps(steps: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The tree as the merchant wrote it: send steps without their automation's id."""
    out = []
    for step in steps:
        clean = {key: value for key, value in step.items() if key != "automation_id"}
        if step.get("type") == "condition":
            clean["yes"] = public_steps(step.get("yes") or [])
            clean["no"] = public_steps(step.get("no") or [])
        out.append(clean)
    return out


def _versions(version_ids: Iterable[int | None]) -> dict[int, FlowVersion]:
    ids = [version_id for version_id in set(version_ids) if version_id is not None]
    if not ids:
        return {}
    return {version.id: version for version in db.session.scalars(select(FlowVersion).where(FlowVersion.id.in_(ids)))}


def _active_runs(flow_ids: Sequence[int]) -> dict[int, int]:
    if not flow_ids:
        return {}
    rows = db.session.execute(
        select(FlowRun.flow_id, func.count())
        .where(FlowRun.flow_id.in_(list(flow_ids)), FlowRun.state == FlowRunState.ACTIVE)
        .group_by(FlowRun.flow_id)
    ).all()
    return {flow_id: int(count) for flow_id, count in rows}


def _summary(flow: Flow, version: FlowVersion | None, active: int) -> dict[str, Any]:
    steps = version.steps if version is not None else []
    return {
        "id": flow.id,
        "name": flow.name,
        "trigger": flow.trigger,
        "trigger_label": TRIGGERS[flow.trigger].label if flow.trigger in TRIGGERS else flow.trigger,
        "trigger_config": flow.trigger_config or {},
        "reentry": flow.reentry or {},
        "exit_on_order": flow.exit_on_order,
        "enabled": flow.enabled,
        "engine": flow.engine.value,
        "from_automation": flow.automation_id is not None,
        "template": flow.template,
        "steps_count": sum(1 for _ in walk(steps)),
        "active_runs": active,
        "created_at": flow.created_at,
        "updated_at": flow.updated_at,
    }


def list_flows(*, shop: Shop, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the shop's flows, newest first (its automations' one-step flows made first)."""
    ensure_flows(shop)
    rows, next_cursor = page(select(Flow).where(Flow.shop_id == shop.id), Flow.id, limit=limit, cursor=cursor)
    versions = _versions(flow.current_version_id for flow in rows)
    active = _active_runs([flow.id for flow in rows])
    items = []
    for flow in rows:
        version = versions.get(flow.current_version_id or 0)
        items.append({**_summary(flow, version, active.get(flow.id, 0)), "version": version.number if version else 0})
    return items, next_cursor


def flow_detail(*, shop: Shop, flow_id: int) -> dict[str, Any]:
    flow = get_flow(shop=shop, flow_id=flow_id)
    version = _versions([flow.current_version_id]).get(flow.current_version_id or 0)
    detail = _summary(flow, version, _active_runs([flow.id]).get(flow.id, 0))
    detail["version"] = (
        {"id": version.id, "number": version.number, "created_at": version.created_at} if version else None
    )
    detail["steps"] = public_steps(version.steps if version else [])
    return detail


def checked_patch(*, shop: Shop, flow_id: int, data: Mapping[str, Any]) -> dict[str, Any]:
    """The edit as versions.update_flow takes it. A flow made from an automation keeps its
    trigger (the automation is that trigger): asking for another is refused by name, not
    ignored. A new trigger without new steps re-checks the current steps against it (a text
    may use a variable the new trigger does not provide); unchanged, they make no version."""
    flow = get_flow(shop=shop, flow_id=flow_id)
    data = dict(data)
    if "trigger" not in data or data["trigger"] == flow.trigger:
        return data
    if flow.automation_id is not None:
        raise ValidationFailed(
            "A flow made from an automation keeps its trigger; create a new flow for another trigger.",
            code="flow_trigger_fixed",
            details={"fields": {"trigger": ["This flow's trigger cannot change."]}},
        )
    data.setdefault("steps", public_steps(current_steps(flow)))
    return data


def delete_flow(*, shop: Shop, flow_id: int) -> None:
    """Delete a step-engine flow the merchant made, once it is off. Its send steps' automations
    are retired, not deleted: their carrier campaigns keep the texts' history and report."""
    flow = get_flow(shop=shop, flow_id=flow_id)
    if flow.automation_id is not None or flow.engine != FlowEngine.STEPS:
        raise Conflict(
            "A flow made from an automation cannot be deleted; turn it off instead.", code="flow_from_automation"
        )
    if flow.enabled:
        raise Conflict("Turn the flow off before deleting it.", code="flow_enabled")
    now = utcnow()
    for automation in db.session.scalars(
        select(Automation).where(Automation.flow_id == flow.id, Automation.shop_id == shop.id)
    ):
        automation.enabled = False
        automation.retired_at = automation.retired_at or now
    db.session.execute(delete(Flow).where(Flow.id == flow.id, Flow.shop_id == shop.id))
    db.session.commit()
    log.info("flow_deleted", shop_id=shop.id, flow_id=flow_id)


def retries(run: FlowRun) -> int:
    """How many times the engine has retried the run's current step (0 when none)."""
    return failed_attempts(run) if run.state == FlowRunState.ACTIVE else 0


def _run_fields(run: FlowRun, number: int) -> dict[str, Any]:
    return {
        "id": run.id,
        "flow_id": run.flow_id,
        "contact_id": run.contact_id,
        "state": run.state.value,
        "step_id": run.step_id,
        "due_at": run.due_at if run.state == FlowRunState.ACTIVE else None,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
        # An active run's exit_reason holds the engine's "retry:N" after a failed step: shown as
        # `retries`, never as an exit.
        "exit_reason": run.exit_reason if run.state != FlowRunState.ACTIVE else None,
        "retries": retries(run),
        "version": number,
        "version_id": run.version_id,
    }


def list_runs(
    *, shop: Shop, flow_id: int, limit: int, cursor: str | None, state: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    flow = get_flow(shop=shop, flow_id=flow_id)
    query = select(FlowRun).where(FlowRun.flow_id == flow.id, FlowRun.shop_id == shop.id)
    if state is not None:
        query = query.where(FlowRun.state == FlowRunState(state))
    rows, next_cursor = page(query, FlowRun.id, limit=limit, cursor=cursor)
    numbers = {version_id: version.number for version_id, version in _versions(r.version_id for r in rows).items()}
    return [_run_fields(run, numbers.get(run.version_id, 0)) for run in rows], next_cursor


def run_detail(*, shop: Shop, flow_id: int, run_id: int) -> dict[str, Any]:
    """The run and every step it took, in the order taken, with the outcome and its reason."""
    flow = get_flow(shop=shop, flow_id=flow_id)
    run = db.session.scalar(
        select(FlowRun).where(FlowRun.id == run_id, FlowRun.flow_id == flow.id, FlowRun.shop_id == shop.id)
    )
    if run is None:
        raise NotFound("No such run of this flow.", code="flow_run_not_found")
    version = db.session.get(FlowVersion, run.version_id)
    taken = db.session.scalars(
        select(FlowRunStep).where(FlowRunStep.run_id == run.id, FlowRunStep.shop_id == shop.id).order_by(FlowRunStep.id)
    )
    steps = [
        {
            "step_id": row.step_id,
            "step_type": row.step_type,
            "outcome": row.outcome,
            "detail": row.detail or {},
            "created_at": row.created_at,
        }
        for row in taken
    ]
    # The tree the run follows (its own version's, which an edit since may have changed).
    version_steps = public_steps(version.steps) if version else []
    return {**_run_fields(run, version.number if version else 0), "steps": steps, "version_steps": version_steps}
