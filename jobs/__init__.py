"""RQ job functions: take ids, run inside an app context, call a service, let errors raise.

A job is declared with `@job("queue")` and is then a `JobFunction` (shopify_app/queueing.py):
called directly it runs, `.delay(*ids)` enqueues it on its queue. Services, blueprints and the
schedule enqueue through the references of shopify_app/job_names.py (the web side never
imports this package; see tests/test_job_registry.py).

A job may run in three places: an RQ worker started by `flask worker` (app context already
pushed for the process), a plain `rq worker` (no context: we build the app once per process),
or synchronously inside the request that enqueued it (the request's context is reused).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, overload

from flask import Flask, current_app, has_app_context
from rq import get_current_job

from shopify_app import create_app
from shopify_app.extensions import db
from shopify_app.metrics import observe_job
from shopify_app.queueing import JobFunction
from shopify_app.tenancy import PRIVILEGED, decode, reset_scope, set_scope

P = ParamSpec("P")
R = TypeVar("R")


@functools.cache
def _app_for_process() -> Flask:
    """One app per worker process that was started without `flask worker`."""
    return create_app()


@overload
def job(func: Callable[P, R], /) -> JobFunction[P, R]: ...
@overload
def job(queue: str, /, *, cross_shop: bool = False) -> Callable[[Callable[P, R]], JobFunction[P, R]]: ...


def job(queue: str | Callable[P, R] = "default", /, *, cross_shop: bool = False) -> Any:
    """Declare a job on `queue`: it runs in an app context (reusing the current one), in the
    database scope it was enqueued with (shopify_app/tenancy.py), or privileged for
    `cross_shop` housekeeping that walks every shop's rows. Bare `@job`: the default queue."""
    if callable(queue):
        return _declare(queue, queue="default", cross_shop=False)
    return functools.partial(_declare, queue=queue, cross_shop=cross_shop)


def _declare(func: Callable[P, R], *, queue: str, cross_shop: bool) -> JobFunction[P, R]:
    name = f"{func.__module__}.{func.__qualname__}"

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if has_app_context():
            return _observed(func, name, cross_shop, *args, **kwargs)
        with _app_for_process().app_context():
            return _observed(func, name, cross_shop, *args, **kwargs)

    return JobFunction(wrapper, queue=queue)


def _observed(func: Callable[P, R], name: str, cross_shop: bool, *args: P.args, **kwargs: P.kwargs) -> R:
    meta = _count_run()
    token = set_scope(PRIVILEGED) if cross_shop else _enqueued_scope(meta)
    started = time.perf_counter()
    try:
        result = func(*args, **kwargs)
    except BaseException:
        observe_job(name, started, "failed")
        raise
    finally:
        if meta is not None:
            _end_transaction()
        if token is not None:
            reset_scope(token)
    observe_job(name, started, "succeeded")
    return result


def _end_transaction() -> None:
    """A worker runs job after job on one session: whatever a job left uncommitted (a read
    transaction, a half-done change before an error) must not leak into the next job, which
    may run for another shop; the rollback also empties the identity map, so the next job
    reads its rows anew through its own scope's policies. Inline jobs (no Redis) belong to the
    request that enqueued them and leave its transaction alone."""
    if current_app.config["QUEUE_ASYNC"]:
        db.session.rollback()


def _enqueued_scope(meta: dict[str, Any] | None) -> Any:
    """Enter the scope recorded at enqueue time; a direct call (no RQ job) keeps the caller's."""
    if meta is None or "db_scope" not in meta:
        return None
    return set_scope(decode(meta["db_scope"]))


def _count_run() -> dict[str, Any] | None:
    """Runs so far, kept on the RQ job: a parked failure says how many times it was tried.
    Returns the job's meta (None outside RQ)."""
    current = get_current_job()
    if current is None:
        return None
    current.meta["runs"] = int(current.meta.get("runs", 0)) + 1
    current.save_meta()
    return dict(current.meta)
