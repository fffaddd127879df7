"""What a flow is made of, as data, and the check every saved version passes.

Steps form a tree, written as nested lists (a vertical list with branches, the shape the
editor shows): a list runs top to bottom; a `condition` step ends its list and continues down
its `yes` or `no` list; a list's last step ends that branch (an empty branch ends at once).

    send       {"id", "type": "send", "body"}                    a text through the send path
    wait       {"id", "type": "wait", "minutes": N}              a duration
               {"id", "type": "wait", "until": "HH:MM"}          the next such time in the subscriber's zone
    condition  {"id", "type": "condition", "if": {...}, "yes": [...], "no": [...]}
    tag        {"id", "type": "tag", "action": "add" | "remove", "tag"}
    exit       {"id", "type": "exit"}

Conditions (`if`): {"kind": "ordered"} placed an order since the run began; {"kind": "clicked"}
clicked a link of this run's texts; {"kind": "has_tag", "tag"}; {"kind": "spent_over",
"amount"} lifetime spend above an amount in the shop's currency; {"kind": "in_segment",
"segment_id"}.

The check (`check_steps`) refuses what could not run as drawn: unknown types or fields, duplicate
ids, steps after an exit or a condition (unreachable), a branch that ends on a wait (nothing
follows it), texts with variables the trigger does not provide, and trees deeper or larger
than the limits. Errors name the step (`step_errors`), so the editor can mark it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import ValidationFailed
from ..sending.rendering import VARIABLES, TemplateError, validate_template

MAX_STEPS = 40
MAX_DEPTH = 6
MAX_WAIT_MINUTES = 60 * 24 * 90
STEP_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
TIME_OF_DAY = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
TAG_MAX = 64
STEP_TYPES = ("send", "wait", "condition", "tag", "exit")
CONDITION_KINDS = ("ordered", "clicked", "has_tag", "spent_over", "in_segment")
REENTRY_MODES = ("per_trigger", "once", "cooldown")
CHECKOUT = ("checkout_url",)
ORDER = ("order_number",)
PRODUCT = ("product_title", "product_url")


@dataclass(frozen=True)
class Trigger:
    label: str
    variables: tuple[str, ...] = VARIABLES
    config: Mapping[str, Any] | None = None  # the trigger's settings and their defaults


# The triggers a flow can start from. The first seven are the pre-flow automations' kinds.
TRIGGERS: dict[str, Trigger] = {
    "welcome": Trigger("Subscribed (any sign-up)"),
    "joined": Trigger("Joined by keyword or form", config={"sources": ["keyword", "proxy_form"]}),
    "abandoned_checkout": Trigger("Abandoned checkout", (*VARIABLES, *CHECKOUT)),
    "order_confirmation": Trigger("Order paid", (*VARIABLES, *ORDER)),
    "shipping_update": Trigger("Order shipped", (*VARIABLES, *ORDER, "tracking_url")),
    "birthday": Trigger("Birthday"),
    "back_in_stock": Trigger("Back in stock", (*VARIABLES, *PRODUCT)),
    "win_back": Trigger("No order for a while", config={"days": 90}),
    "tag_added": Trigger("Tag added", config={"tag": ""}),
    "browsed_product": Trigger("Viewed a product, did not buy", (*VARIABLES, *PRODUCT), config={"window_minutes": 60}),
}
JOIN_SOURCES = ("keyword", "proxy_form")
WINDOW_MINUTES = (15, 60 * 24 * 7)
WIN_BACK_DAYS = (7, 3650)


class StepErrors:
    """Collects (step id, message) pairs; `raise_if_any` turns them into one 422."""

    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, step_id: str, message: str) -> None:
        self.items.append({"step": step_id, "message": message})

    def raise_if_any(self) -> None:
        if self.items:
            messages = [f"{item['step']}: {item['message']}" for item in self.items]
            raise ValidationFailed(details={"fields": {"steps": messages}, "step_errors": self.items})


def walk(steps: Sequence[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    """Every step of the tree, depth first, in the order the editor lists them."""
    for step in steps:
        yield step
        if step.get("type") == "condition":
            yield from walk(step.get("yes") or [])
            yield from walk(step.get("no") or [])


def check_steps(steps: Any, trigger: str) -> list[dict[str, Any]]:
    """The tree as saved (known fields only), or ValidationFailed naming each bad step."""
    errors = StepErrors()
    if not isinstance(steps, list) or not steps:
        errors.add("-", "A flow needs at least one step.")
        errors.raise_if_any()
    variables = TRIGGERS[trigger].variables if trigger in TRIGGERS else VARIABLES
    seen: set[str] = set()
    clean = _check_list(steps, variables, seen, errors, depth=1)
    if len(seen) > MAX_STEPS:
        errors.add("-", f"A flow has at most {MAX_STEPS} steps.")
    if not any(step.get("type") == "send" for step in walk(clean)):
        errors.add("-", "A flow needs at least one send step.")
    errors.raise_if_any()
    return clean


def _check_list(
    steps: Any, variables: Sequence[str], seen: set[str], errors: StepErrors, *, depth: int
) -> list[dict[str, Any]]:
    if not isinstance(steps, list):
        errors.add("-", "A branch must be a list of steps.")
        return []
    if depth > MAX_DEPTH:
        errors.add("-", f"Branches nest at most {MAX_DEPTH} deep.")
        return []
    clean = []
    for index, step in enumerate(steps):
        checked = _check_step(step, variables, seen, errors, depth=depth)
        clean.append(checked)
        last = index == len(steps) - 1
        if checked.get("type") in ("condition", "exit") and not last:
            errors.add(
                str(steps[index + 1].get("id", "-")) if isinstance(steps[index + 1], dict) else "-",
                "Unreachable: nothing runs after an exit or a condition in the same branch.",
            )
        if checked.get("type") == "wait" and last:
            errors.add(checked["id"], "A branch cannot end with a wait: nothing follows it.")
    return clean


def _check_step(
    step: Any, variables: Sequence[str], seen: set[str], errors: StepErrors, *, depth: int
) -> dict[str, Any]:
    if not isinstance(step, dict):
        errors.add("-", "Each step must be an object.")
        return {}
    step_id = step.get("id")
    if not isinstance(step_id, str) or not STEP_ID.match(step_id):
        errors.add(str(step_id)[:32], "Step ids are 1-32 lowercase letters, digits, - or _.")
        step_id = str(step_id)[:32]
    elif step_id in seen:
        errors.add(step_id, "Two steps share this id.")
    seen.add(step_id)
    kind = step.get("type")
    if kind not in STEP_TYPES:
        errors.add(step_id, f"Unknown step type; one of {', '.join(STEP_TYPES)}.")
        return {"id": step_id, "type": str(kind)}
    checker = _CHECKS[kind]
    clean = checker(step, step_id, variables, seen, errors, depth)
    return {"id": step_id, "type": kind, **clean}


def _send(
    step: Mapping[str, Any], step_id: str, variables: Sequence[str], _seen: Any, errors: StepErrors, _depth: int
) -> dict[str, Any]:
    body = step.get("body")
    try:
        validate_template(body, variables)  # type: ignore[arg-type]
    except TemplateError as exc:
        errors.add(step_id, exc.message)
    clean: dict[str, Any] = {"body": body}
    if isinstance(step.get("automation_id"), int):
        clean["automation_id"] = step["automation_id"]
    return clean


def _wait(
    step: Mapping[str, Any], step_id: str, _variables: Sequence[str], _seen: Any, errors: StepErrors, _d: int
) -> dict[str, Any]:
    minutes, until = step.get("minutes"), step.get("until")
    if (minutes is None) == (until is None):
        errors.add(step_id, "A wait has either minutes or a time of day (until), not both.")
        return {}
    if until is not None:
        if not isinstance(until, str) or not TIME_OF_DAY.match(until):
            errors.add(step_id, "until is a time of day, HH:MM (24-hour).")
        return {"until": until}
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= MAX_WAIT_MINUTES:
        errors.add(step_id, f"minutes is a whole number from 1 to {MAX_WAIT_MINUTES} (90 days).")
    return {"minutes": minutes}


def _condition(
    step: Mapping[str, Any], step_id: str, variables: Sequence[str], seen: set[str], errors: StepErrors, depth: int
) -> dict[str, Any]:
    test = step.get("if")
    clean_if = check_condition(test, step_id, errors)
    yes = _check_list(step.get("yes") if step.get("yes") is not None else [], variables, seen, errors, depth=depth + 1)
    no = _check_list(step.get("no") if step.get("no") is not None else [], variables, seen, errors, depth=depth + 1)
    return {"if": clean_if, "yes": yes, "no": no}


def check_condition(test: Any, step_id: str, errors: StepErrors) -> dict[str, Any]:
    if not isinstance(test, dict) or test.get("kind") not in CONDITION_KINDS:
        errors.add(step_id, f"A condition's kind is one of {', '.join(CONDITION_KINDS)}.")
        return {}
    kind = test["kind"]
    if kind == "has_tag":
        return {"kind": kind, "tag": _tag(test.get("tag"), step_id, errors)}
    if kind == "spent_over":
        amount = test.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int | float) or not 0 <= amount <= 10_000_000:
            errors.add(step_id, "amount is a number from 0 to 10,000,000.")
        return {"kind": kind, "amount": amount}
    if kind == "in_segment":
        segment_id = test.get("segment_id")
        if isinstance(segment_id, bool) or not isinstance(segment_id, int) or segment_id < 1:
            errors.add(step_id, "segment_id names one of the shop's segments.")
        return {"kind": kind, "segment_id": segment_id}
    return {"kind": kind}


def _tag(value: Any, step_id: str, errors: StepErrors) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > TAG_MAX:
        errors.add(step_id, f"A tag is 1-{TAG_MAX} characters.")
        return str(value)[:TAG_MAX] if value is not None else ""
    return value.strip()


def _tag_step(
    step: Mapping[str, Any], step_id: str, _v: Sequence[str], _s: Any, errors: StepErrors, _d: int
) -> dict[str, Any]:
    action = step.get("action")
    if action not in ("add", "remove"):
        errors.add(step_id, "action is add or remove.")
    return {"action": action, "tag": _tag(step.get("tag"), step_id, errors)}


def _exit(_step: Any, _id: str, _v: Any, _seen: Any, _errors: StepErrors, _depth: int) -> dict[str, Any]:
    return {}


_CHECKS = {"send": _send, "wait": _wait, "condition": _condition, "tag": _tag_step, "exit": _exit}


def check_settings(trigger: Any, config: Any, reentry: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The trigger's settings (defaults filled in) and the re-entry rule, or ValidationFailed."""
    fields: dict[str, list[str]] = {}
    if trigger not in TRIGGERS:
        raise ValidationFailed(details={"fields": {"trigger": [f"One of {', '.join(TRIGGERS)}."]}})
    clean_config = dict(TRIGGERS[trigger].config or {})
    clean_config.update({k: v for k, v in (config or {}).items() if k in clean_config})
    unknown = set(config or {}) - set(clean_config)
    if unknown:
        fields["trigger_config"] = [f"Unknown setting(s): {', '.join(sorted(unknown))}."]
    _check_config(trigger, clean_config, fields)
    reentry = dict(reentry or {"mode": "per_trigger"})
    if reentry.get("mode") not in REENTRY_MODES:
        fields["reentry"] = [f"mode is one of {', '.join(REENTRY_MODES)}."]
    elif reentry["mode"] == "cooldown":
        days = reentry.get("days")
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
            fields["reentry"] = ["A cooldown is 1 to 365 days."]
        reentry = {"mode": "cooldown", "days": days}
    else:
        reentry = {"mode": reentry["mode"]}
    if fields:
        raise ValidationFailed(details={"fields": fields})
    return clean_config, reentry


def _check_config(trigger: str, config: dict[str, Any], fields: dict[str, list[str]]) -> None:
    if trigger == "tag_added":
        tag = config.get("tag")
        if not isinstance(tag, str) or not tag.strip() or len(tag) > TAG_MAX:
            fields["trigger_config"] = [f"tag is 1-{TAG_MAX} characters."]
        else:
            config["tag"] = tag.strip()
    elif trigger == "joined":
        sources = config.get("sources")
        if not isinstance(sources, list) or not sources or not set(sources) <= set(JOIN_SOURCES):
            fields["trigger_config"] = [f"sources is a non-empty list of {', '.join(JOIN_SOURCES)}."]
    elif trigger == "browsed_product":
        minutes = config.get("window_minutes")
        low, high = WINDOW_MINUTES
        if isinstance(minutes, bool) or not isinstance(minutes, int) or not low <= minutes <= high:
            fields["trigger_config"] = [f"window_minutes is a whole number from {low} to {high}."]
    elif trigger == "win_back":
        days = config.get("days")
        low, high = WIN_BACK_DAYS
        if isinstance(days, bool) or not isinstance(days, int) or not low <= days <= high:
            fields["trigger_config"] = [f"days is a whole number from {low} to {high}."]
