"""Job functions for the queue tests, importable by dotted path like real jobs."""

from __future__ import annotations

from jobs import job
from shopify_app.services.shops.shops import upsert_demo_shop


@job
def create_shop(domain: str) -> int:
    return upsert_demo_shop(domain=domain).id


@job
def always_fails() -> None:
    raise RuntimeError("this job fails on purpose")


@job
def slow_marker(key: str, seconds: float) -> str:
    """Marks `key` started, works for `seconds`, marks it finished (graceful-shutdown tests)."""
    import time

    from shopify_app.extensions import redis_ext

    redis_ext.client().set(key, "started")
    time.sleep(seconds)
    redis_ext.client().set(key, "finished")
    return "done"


@job
def record_scope() -> list[object]:
    """The database scope the job ran in, and how many contacts it could see there."""
    from sqlalchemy import func, select

    from shopify_app.extensions import db
    from shopify_app.models import Contact
    from shopify_app.tenancy import current_scope, encode

    return [encode(current_scope()), db.session.scalar(select(func.count()).select_from(Contact))]


@job
def meet(key: str, parties: int, wait: float = 10.0) -> int:
    """Counts itself in under `key`, then waits (`wait` s at most) until `parties` jobs with the
    same key are running at the same time; raises if it ran alone."""
    import time

    from shopify_app.extensions import redis_ext

    client = redis_ext.client()
    client.incr(key)
    deadline = time.monotonic() + wait
    while int(client.get(key) or 0) < parties:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no other job under {key} ran at the same time")
        time.sleep(0.01)
    return parties


@job
def spin(key: str, seconds: float) -> str:
    """Like slow_marker, in short sleeps: an exception sent to its thread lands within 10 ms."""
    import time

    from shopify_app.extensions import redis_ext

    redis_ext.client().set(key, "started")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.01)
    redis_ext.client().set(key, "finished")
    return "done"
