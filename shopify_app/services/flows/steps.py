"""What each step does to a run, inside the run's transaction: a send records the step's
automation run (the send path then applies consent, quiet hours, credits and exactly-once), a
wait sets when the run is next due, a condition picks a branch, a tag step changes tags.

Each function returns a `Taken`: the outcome and detail the step's row records, and where the
run goes next. None of them commits.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ...extensions import db
from ...models import Automation, AutomationKind, Contact, FlowRun, Shop
from ..automations.triggers import trigger
from ..contacts.contacts import change_tags
from .conditions import answer
from .graph import Position


@dataclass(frozen=True)
class Taken:
    outcome: str  # sent | skipped | waited | yes | no | tagged | untagged | exited
    detail: dict[str, Any] = field(default_factory=dict)
    next_step: str | None = None
    due_at: datetime | None = None  # a wait: when the next step runs
    automation_run_id: int | None = None
    exit_reason: str | None = None  # an exit step


def send_key(run_id: int, step_id: str) -> str:
    return f"flow:{run_id}:{step_id}"


def run_context(run: FlowRun) -> dict[str, Any]:
    raw = run.context
    return json.loads(raw) if raw else {}


def take(position: Position, run: FlowRun, contact: Contact, shop: Shop, now: datetime) -> Taken:
    step = position.step
    kind = step.get("type")
    if kind == "send":
        return _send(step, run, position.following)
    if kind == "wait":
        until = wait_until(step, contact, shop, now)
        return Taken("waited", {"until": until.isoformat()}, position.following, due_at=until)
    if kind == "condition":
        result = answer(step.get("if") or {}, run, contact)
        branch = position.yes if result.yes else position.no
        return Taken("yes" if result.yes else "no", {"reason": result.reason}, branch)
    if kind == "tag":
        return _tag(step, contact, position.following)
    if kind == "exit":
        return Taken("exited", {"reason": "exit_step"}, None, exit_reason="exit_step")
    raise ValueError(f"unknown step type {kind!r}")


def _send(step: Mapping[str, Any], run: FlowRun, following: str | None) -> Taken:
    automation = db.session.get(Automation, step.get("automation_id") or 0)
    if automation is None or automation.flow_id != run.flow_id:
        return Taken("skipped", {"reason": "step_text_missing"}, following)
    automation_run_id = trigger(
        shop_id=run.shop_id,
        kind=AutomationKind.FLOW_STEP,
        contact_id=run.contact_id,
        key=send_key(run.id, str(step["id"])),
        context=run_context(run),
        automation=automation,
    )
    if automation_run_id is None:
        reason = "step_text_off" if not automation.enabled else "already_sent"
        return Taken("skipped", {"reason": reason}, following)
    return Taken("sent", {}, following, automation_run_id=automation_run_id)


def _tag(step: Mapping[str, Any], contact: Contact, following: str | None) -> Taken:
    tag = str(step.get("tag") or "")
    if step.get("action") == "remove":
        change_tags(contact, remove=[tag])
        return Taken("untagged", {"tag": tag}, following)
    change_tags(contact, add=[tag])
    return Taken("tagged", {"tag": tag}, following)


def zone_of(contact: Contact, shop: Shop) -> ZoneInfo:
    """The subscriber's time zone, else the shop's, else UTC (an unknown name counts as none)."""
    for name in (contact.timezone, shop.timezone):
        if name:
            try:
                return ZoneInfo(name)
            except (KeyError, ValueError):
                continue
    return ZoneInfo("UTC")


def wait_until(step: Mapping[str, Any], contact: Contact, shop: Shop, now: datetime) -> datetime:
    """When a wait ends: now + minutes, or the next HH:MM on the subscriber's clock (UTC)."""
    if step.get("minutes") is not None:
        return now + timedelta(minutes=int(step["minutes"]))
    return next_local_time(str(step["until"]), zone_of(contact, shop), now)


def next_local_time(hhmm: str, zone: ZoneInfo, now: datetime) -> datetime:
    """The first moment after `now` that the zone's clocks show `hhmm`. Built from the local
    date (never by adding 24 hours), so a DST change keeps the wall time; a time the clocks
    skip (spring forward) falls just after the gap, a time they show twice is the first."""
    hour, minute = (int(part) for part in hhmm.split(":"))
    today: date = now.astimezone(zone).date()
    for days in (0, 1, 2):
        local = datetime.combine(today + timedelta(days=days), time(hour, minute), tzinfo=zone)
        moment = local.astimezone(UTC)
        if moment > now:
            return moment
    raise AssertionError("a time of day recurs within two days")
