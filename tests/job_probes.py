"""Job functions for the queue tests, importable by dotted path like real jobs."""

from __future__ import annotations

from jobs import job
from shopify_app.services.shops import upsert_demo_shop


@job
def create_shop(domain: str) -> int:
    return upsert_demo_shop(domain=domain).id


@job
def always_fails() -> None:
    raise RuntimeError("this job fails on purpose")
