"""Automation jobs: turn due runs into messages, and the daily birthday / win-back pass."""

from __future__ import annotations

from shopify_app.services.automations import automations

from . import job


@job("automations", cross_shop=True)
def dispatch() -> dict[str, int]:
    total = {"queued": 0, "cancelled": 0}
    while True:  # drain in chunks; each chunk commits and enqueues its batches
        summary = automations.dispatch_due()
        for key in total:
            total[key] += summary[key]
        if summary["queued"] + summary["cancelled"] < 1000:
            return total


@job("automations", cross_shop=True)
def daily() -> dict[str, int]:
    return automations.daily_tick()
