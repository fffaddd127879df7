"""A shop's automations as the merchant sets them: listed (made on first use), edited (text,
delay, conditions), turned on and off (off cancels what is pending and waiting), their runs
listed, and every one turned off when the shop uninstalls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from sqlalchemy import select, update

from ...errors import NotFound, ValidationFailed
from ...extensions import db
from ...models import Automation, AutomationRun, Campaign, Flow, FlowEngine, RunState, Shop
from ..campaigns.templates import referenced_template
from ..campaigns.waiting import cancel_waiting_rows
from ..ops.pagination import page
from ..sending.rendering import TemplateError, validate_template
from .definitions import CONDITION_LIMITS, DEFINITIONS, LISTED, Definition, carrier_for, create_automation

log = structlog.get_logger(__name__)


def ensure_automations(shop: Shop) -> list[Automation]:
    """Every listed automation of the shop, created disabled with its default text on first use."""
    existing = {a.kind: a for a in db.session.scalars(select(Automation).where(Automation.shop_id == shop.id))}
    missing = [kind for kind in LISTED if kind not in existing]
    for kind in missing:
        create_automation(shop, kind, enabled=False)
    if missing:
        db.session.commit()
    rows = db.session.scalars(select(Automation).where(Automation.shop_id == shop.id, Automation.kind.in_(LISTED)))
    return sorted(rows, key=lambda a: LISTED.index(a.kind))


def get_automation(*, shop: Shop, automation_id: int) -> Automation:
    automation = db.session.scalar(
        select(Automation).where(
            Automation.id == automation_id, Automation.shop_id == shop.id, Automation.kind.in_(LISTED)
        )
    )
    if automation is None:
        raise NotFound("No such automation.", code="automation_not_found")
    return automation


def _invalid(name: str, message: str) -> ValidationFailed:
    return ValidationFailed(details={"fields": {name: [message]}})


def update_automation(*, shop: Shop, automation_id: int, data: Mapping[str, Any]) -> Automation:
    automation = get_automation(shop=shop, automation_id=automation_id)
    definition = DEFINITIONS[automation.kind]
    if data.get("template_id") is not None:
        template = referenced_template(shop=shop, template_id=data["template_id"])
        automation.template_id, automation.body = template.id, template.body
    if data.get("body") is not None:
        automation.body = data["body"]
    try:
        validate_template(automation.body, definition.variables)
    except TemplateError as exc:
        raise _invalid("body", exc.message) from None
    if "delay_minutes" in data:
        automation.delay_minutes = data["delay_minutes"]
    if data.get("conditions") is not None:
        automation.conditions = _conditions(definition, data["conditions"])
    if "enabled" in data:
        _set_enabled(automation, bool(data["enabled"]))
        # The automation's one-step flow shows the same switch (the flow is this automation).
        db.session.execute(
            update(Flow)
            .where(Flow.automation_id == automation.id, Flow.engine == FlowEngine.AUTOMATION)
            .values(enabled=automation.enabled)
        )
    if automation.campaign_id is not None:
        carrier = db.session.get(Campaign, automation.campaign_id)
        if carrier is not None:
            carrier.body = automation.body
    db.session.commit()
    log.info("automation_updated", shop_id=shop.id, automation_id=automation.id, enabled=automation.enabled)
    return automation


def _conditions(definition: Definition, raw: Mapping[str, Any]) -> dict[str, int]:
    unknown = set(raw) - set(definition.conditions)
    if unknown:
        allowed = ", ".join(sorted(definition.conditions)) or "none"
        raise _invalid("conditions", f"Unknown condition(s) {', '.join(sorted(unknown))}; allowed: {allowed}.")
    result = dict(definition.conditions)
    for name, value in raw.items():
        low, high = CONDITION_LIMITS[name]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise _invalid("conditions", f"{name} must be a whole number from {low} to {high}.")
        result[name] = value
    return result


def stop_all_automations(*, shop: Shop) -> None:
    """An uninstalled shop: every automation and flow off (a reinstall starts with them off, as new)."""
    for automation in db.session.scalars(select(Automation).where(Automation.shop_id == shop.id)):
        _set_enabled(automation, False)
    db.session.execute(update(Flow).where(Flow.shop_id == shop.id).values(enabled=False))
    db.session.flush()


def _set_enabled(automation: Automation, enabled: bool) -> None:
    """Turning an automation off stops it: pending runs and queued messages are cancelled."""
    if enabled:
        carrier_for(automation)
    elif automation.enabled:
        # The automation row first: a batch whose call then proves nothing was sent reads it
        # under a share lock before giving its rows back (services/sending.py), so it either
        # waits for this transaction and cancels them itself, or the cancel below finds them.
        automation.enabled = False
        db.session.flush()
        db.session.execute(
            update(AutomationRun)
            .where(AutomationRun.automation_id == automation.id, AutomationRun.state == RunState.PENDING)
            .values(state=RunState.CANCELLED, cancel_reason="automation_disabled")
        )
        if automation.campaign_id is not None:  # what a campaign's cancel cancels, no more
            cancel_waiting_rows(automation.campaign_id, skip_reason="automation_disabled")
    automation.enabled = enabled


def list_runs(*, shop: Shop, automation_id: int, limit: int, cursor: str | None) -> tuple[list[Any], str | None]:
    automation = get_automation(shop=shop, automation_id=automation_id)
    query = select(AutomationRun).where(AutomationRun.automation_id == automation.id)
    return page(query, AutomationRun.id, limit=limit, cursor=cursor)
