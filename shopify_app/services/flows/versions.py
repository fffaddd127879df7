"""Creating flows, saving edits as versions, turning flows on and off.

Every edit that changes the steps writes a new immutable version and points the flow at it;
runs in progress keep the version they started on (`flow_runs.version_id`). Each send step
gets an automation of kind `flow_step` (the carrier of its texts and its report): a step that
keeps its id and text across versions keeps its automation, so its report continues.

Turning a flow off cancels the texts its steps have not sent yet and its runs end at their next
step (engine.py checks); turning it on again starts new runs only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from sqlalchemy import func, select, update

from ...errors import NotFound
from ...extensions import db
from ...models import Automation, AutomationKind, AutomationRun, Flow, FlowEngine, FlowVersion, RunState, Shop
from ..automations.definitions import carrier_for
from ..automations.settings import update_automation
from ..campaigns.waiting import cancel_waiting_rows
from .definition import check_settings, check_steps, walk
from .legacy import retire, save_one_step

log = structlog.get_logger(__name__)


def get_flow(*, shop: Shop, flow_id: int) -> Flow:
    flow = db.session.scalar(select(Flow).where(Flow.id == flow_id, Flow.shop_id == shop.id))
    if flow is None:
        raise NotFound("No such flow.", code="flow_not_found")
    return flow


def current_steps(flow: Flow) -> list[dict[str, Any]]:
    return db.session.scalar(select(FlowVersion.steps).where(FlowVersion.id == flow.current_version_id)) or []


def create_flow(*, shop: Shop, data: Mapping[str, Any]) -> Flow:
    """A new step-engine flow, off, at version 1 (validated: settings, then steps)."""
    config, reentry = check_settings(data.get("trigger"), data.get("trigger_config"), data.get("reentry"))
    steps = check_steps(data.get("steps"), data["trigger"])
    flow = Flow(
        shop_id=shop.id,
        name=data["name"],
        trigger=data["trigger"],
        trigger_config=config,
        reentry=reentry,
        exit_on_order=bool(data.get("exit_on_order", False)),
        enabled=False,
        engine=FlowEngine.STEPS,
        template=data.get("template"),
    )
    db.session.add(flow)
    db.session.flush()
    _write_version(flow, steps)
    db.session.commit()
    log.info("flow_created", shop_id=shop.id, flow_id=flow.id, trigger=flow.trigger)
    return flow


def update_flow(*, shop: Shop, flow_id: int, data: Mapping[str, Any]) -> Flow:
    """Name, settings and steps; changed steps become a new version. The trigger of a flow made
    from an automation stays (the automation is that trigger)."""
    flow = get_flow(shop=shop, flow_id=flow_id)
    trigger = data.get("trigger", flow.trigger) if flow.automation_id is None else flow.trigger
    config, reentry = check_settings(
        trigger, data.get("trigger_config", flow.trigger_config), data.get("reentry", flow.reentry)
    )
    steps = check_steps(data["steps"], trigger) if "steps" in data else None
    flow.trigger, flow.trigger_config, flow.reentry = trigger, config, reentry
    for name in ("name", "exit_on_order"):
        if name in data:
            setattr(flow, name, data[name])
    if steps is not None and steps != _without_automations(current_steps(flow)):
        if flow.engine == FlowEngine.STEPS or not save_one_step(shop, flow, steps):
            retire(flow)
        _write_version(flow, steps)
    if "enabled" in data:
        set_enabled(flow, bool(data["enabled"]))
    db.session.commit()
    log.info("flow_updated", shop_id=shop.id, flow_id=flow.id, enabled=flow.enabled)
    return flow


def _without_automations(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tree as the merchant wrote it (send steps without the automation they got)."""
    out = []
    for step in steps:
        clean = {k: v for k, v in step.items() if k != "automation_id"}
        if step["type"] == "condition":
            clean["yes"], clean["no"] = _without_automations(step["yes"]), _without_automations(step["no"])
        out.append(clean)
    return out


def _write_version(flow: Flow, steps: list[dict[str, Any]]) -> FlowVersion:
    """Version N+1 with `steps`; a step-engine flow's send steps get their automations."""
    if flow.engine == FlowEngine.STEPS:
        _assign_automations(flow, steps)
    number = db.session.scalar(select(func.max(FlowVersion.number)).where(FlowVersion.flow_id == flow.id)) or 0
    version = FlowVersion(shop_id=flow.shop_id, flow_id=flow.id, number=number + 1, steps=steps)
    db.session.add(version)
    db.session.flush()
    flow.current_version_id = version.id
    return version


def _assign_automations(flow: Flow, steps: list[dict[str, Any]]) -> None:
    """Each send step's automation: the one of the same step with the same text, else a new one."""
    existing = {
        (a.flow_step, a.body): a for a in db.session.scalars(select(Automation).where(Automation.flow_id == flow.id))
    }
    for step in walk(steps):
        if step["type"] != "send":
            continue
        automation = existing.get((step["id"], step["body"]))
        if automation is None:
            automation = Automation(
                shop_id=flow.shop_id,
                kind=AutomationKind.FLOW_STEP,
                enabled=True,
                body=step["body"],
                delay_minutes=0,
                conditions={},
                flow_id=flow.id,
                flow_step=step["id"],
            )
            db.session.add(automation)
            db.session.flush()
            existing[(step["id"], step["body"])] = automation
        step["automation_id"] = automation.id  # type: ignore[index]


def set_enabled(flow: Flow, enabled: bool) -> None:
    """On: new triggers start runs. Off: texts not sent yet are cancelled, runs end at their next
    step, and an automation-engine flow turns its automation off (which cancels its pending)."""
    if flow.automation_id is not None and (flow.engine == FlowEngine.AUTOMATION or not enabled):
        shop = db.session.get(Shop, flow.shop_id)
        automation = db.session.get(Automation, flow.automation_id)
        if automation is not None and automation.enabled != enabled and shop is not None:
            update_automation(shop=shop, automation_id=automation.id, data={"enabled": enabled})
    if enabled and flow.engine == FlowEngine.STEPS:
        # Its steps' automations on again (an uninstall turned every automation off).
        for automation in db.session.scalars(
            select(Automation).where(Automation.flow_id == flow.id, Automation.retired_at.is_(None))
        ):
            automation.enabled = True
            carrier_for(automation)
    if not enabled and flow.enabled and flow.engine == FlowEngine.STEPS:
        _cancel_unsent(flow)
    flow.enabled = enabled


def _cancel_unsent(flow: Flow) -> None:
    automation_ids = select(Automation.id).where(Automation.flow_id == flow.id).scalar_subquery()
    db.session.execute(
        update(AutomationRun)
        .where(AutomationRun.automation_id.in_(automation_ids), AutomationRun.state == RunState.PENDING)
        .values(state=RunState.CANCELLED, cancel_reason="flow_disabled"),
        execution_options={"synchronize_session": False},
    )
    for campaign_id in db.session.scalars(
        select(Automation.campaign_id).where(Automation.flow_id == flow.id, Automation.campaign_id.is_not(None))
    ):
        cancel_waiting_rows(campaign_id, skip_reason="flow_disabled")
