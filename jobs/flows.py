"""Flow jobs: advance the runs that are due (their wait ended, or they just started)."""

from __future__ import annotations

from shopify_app.services.flows import engine

from . import job

CHUNK = 500
MAX_CHUNKS = 200  # a tick's bound; the next tick (a minute later) takes the rest


@job("automations", cross_shop=True)
def advance() -> dict[str, int]:
    total: dict[str, int] = {}
    for _ in range(MAX_CHUNKS):  # drain in chunks; each chunk commits (and enqueues its sends)
        summary = engine.advance_due(limit=CHUNK)
        for key, value in summary.items():
            total[key] = total.get(key, 0) + value
        if summary["claimed"] < CHUNK:
            break
    return total
