"""The pre-flow automations as flows: each listed automation of a shop is a one-step flow
(engine "automation") that the automation itself keeps running, exactly as before flows.

An edit that keeps the one-step shape (a wait, then a send) is written to the automation (its
text and delay); an edit with more steps moves the flow to the step engine and retires the
automation: no new runs start on it, and the ones already pending still send.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from ...bulk import insert_or_nothing
from ...extensions import db
from ...models import Automation, Flow, FlowEngine, FlowVersion, Shop
from ...models.types import utcnow
from ..automations.definitions import MAX_DELAY_MINUTES
from ..automations.settings import ensure_automations, update_automation

# Flow names of the listed automations, and whether an order ends their runs.
NAMES = {
    "welcome": ("Welcome", False),
    "abandoned_checkout": ("Abandoned checkout", True),
    "order_confirmation": ("Order confirmation", False),
    "shipping_update": ("Shipping update", False),
    "birthday": ("Birthday", False),
    "back_in_stock": ("Back in stock", False),
    "win_back": ("Win-back", True),
}


def one_step(body: str, delay_minutes: int) -> list[dict[str, Any]]:
    """An automation's steps: a wait when it has a delay, then its send."""
    send = {"id": "send", "type": "send", "body": body}
    return ([{"id": "wait", "type": "wait", "minutes": delay_minutes}] if delay_minutes else []) + [send]


def one_step_shape(steps: Sequence[dict[str, Any]]) -> tuple[str, int] | None:
    """(text, delay) when the steps are what an automation runs (an optional wait of minutes,
    then one send); None when they need the step engine."""
    if len(steps) == 2 and steps[0]["type"] == "wait" and steps[0].get("minutes") and steps[1]["type"] == "send":
        return steps[1]["body"], int(steps[0]["minutes"])
    if len(steps) == 1 and steps[0]["type"] == "send":
        return steps[0]["body"], 0
    return None


def ensure_flows(shop: Shop) -> None:
    """A flow for each of the shop's listed automations that has none yet (concurrent-safe)."""
    automations = ensure_automations(shop)
    have = set(db.session.scalars(select(Flow.automation_id).where(Flow.shop_id == shop.id)))
    missing = [automation for automation in automations if automation.id not in have]
    for automation in missing:
        _create(shop, automation)
    if missing:
        db.session.commit()


def _create(shop: Shop, automation: Automation) -> None:
    name, exit_on_order = NAMES[automation.kind.value]
    now = utcnow()
    flow_id = insert_or_nothing(
        Flow.__table__,
        {
            "shop_id": shop.id,
            "name": name,
            "trigger": automation.kind.value,
            "trigger_config": {},
            "reentry": {"mode": "per_trigger"},
            "exit_on_order": exit_on_order,
            "enabled": automation.enabled,
            "engine": FlowEngine.AUTOMATION.value,
            "automation_id": automation.id,
            "created_at": now,
            "updated_at": now,
        },
        conflict=("automation_id",),
        returning="id",
    )
    if flow_id is None:
        return
    version = FlowVersion(
        shop_id=shop.id, flow_id=flow_id, number=1, steps=one_step(automation.body, automation.delay_minutes)
    )
    db.session.add(version)
    db.session.flush()
    db.session.get(Flow, flow_id).current_version_id = version.id


def save_one_step(shop: Shop, flow: Flow, steps: list[dict[str, Any]]) -> bool:
    """Write a one-step edit to the flow's automation; False when the steps need the engine."""
    shape = one_step_shape(steps)
    if shape is None or flow.automation_id is None:
        return False
    body, delay = shape
    if delay > MAX_DELAY_MINUTES:  # longer than an automation may wait: the engine runs it
        return False
    update_automation(shop=shop, automation_id=flow.automation_id, data={"body": body, "delay_minutes": delay})
    return True


def retire(flow: Flow) -> None:
    """The flow moves to the step engine: its automation starts no new runs (pending ones send)."""
    flow.engine = FlowEngine.STEPS
    if flow.automation_id is not None:
        automation = db.session.get(Automation, flow.automation_id)
        if automation is not None and automation.retired_at is None:
            automation.retired_at = utcnow()
            flow.enabled = automation.enabled  # on or off as the merchant last set it
            if flow.trigger == "win_back" and "days" in automation.conditions:  # its lapse, kept
                flow.trigger_config = {**(flow.trigger_config or {}), "days": automation.conditions["days"]}
