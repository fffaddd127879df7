"""Automations: messages that send themselves when something happens in the shop.

A trigger (a Shopify webhook, a new subscriber, the daily tick) records an `automation_runs` row,
unique per (automation, contact, trigger key), due after the automation's delay. `dispatch_due`
(periodic, and a second after a trigger) turns due runs into message rows of the automation's
carrier campaign and enqueues them on the campaign send path, which applies consent, quiet
hours, caps, credits, rate limits and exactly-once like any campaign. A re-delivered webhook or
a re-run tick finds its run already recorded and sends nothing.

This module holds no code: it is the package's front door for callers outside it (jobs,
webhooks, blueprints, schemas, contacts, the demo), the names in `__all__` imported from the
modules that own them. Modules inside the package import those modules directly, never this one.
"""

from __future__ import annotations

from .daily import daily_tick
from .definitions import CONDITION_LIMITS, DEFINITIONS, LISTED, MAX_DELAY_MINUTES
from .dispatch import dispatch_due
from .inbox import inbox_automation, reply
from .notices import send_notice
from .settings import ensure_automations, get_automation, list_runs, stop_all_automations, update_automation
from .triggers import on_checkout, on_order, on_subscribed, trigger

__all__ = [
    "CONDITION_LIMITS",
    "DEFINITIONS",
    "LISTED",
    "MAX_DELAY_MINUTES",
    "daily_tick",
    "dispatch_due",
    "ensure_automations",
    "get_automation",
    "inbox_automation",
    "list_runs",
    "on_checkout",
    "on_order",
    "on_subscribed",
    "reply",
    "send_notice",
    "stop_all_automations",
    "trigger",
    "update_automation",
]
