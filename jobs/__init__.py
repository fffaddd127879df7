"""RQ job functions: take ids, run inside an app context, call a service, let errors raise.

A job may run in three places: an RQ worker started by `flask worker` (app context already
pushed for the process), a plain `rq worker` (no context: we build the app once per process),
or synchronously inside the request that enqueued it (the request's context is reused).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, overload

from flask import Flask, has_app_context

P = ParamSpec("P")
R = TypeVar("R")


@functools.cache
def _app_for_process() -> Flask:
    """One app per worker process that was started without `flask worker`."""
    from shopify_app import create_app

    return create_app()


@overload
def job(func: Callable[P, R], /) -> Callable[P, R]: ...
@overload
def job(*, cross_shop: bool) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def job(func: Callable[P, R] | None = None, /, *, cross_shop: bool = False) -> Any:
    """Run `func` in an app context (reusing the current one), in the database scope it was
    enqueued with (shopify_app/tenancy.py), or privileged for `cross_shop` housekeeping that
    walks every shop's rows."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        name = f"{func.__module__}.{func.__qualname__}"

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if has_app_context():
                return _observed(func, name, cross_shop, *args, **kwargs)
            with _app_for_process().app_context():
                return _observed(func, name, cross_shop, *args, **kwargs)

        return wrapper

    return decorate if func is None else decorate(func)


def _observed(func: Callable[P, R], name: str, cross_shop: bool, *args: P.args, **kwargs: P.kwargs) -> R:
    from shopify_app.metrics import observe_job
    from shopify_app.tenancy import PRIVILEGED, reset_scope, set_scope

    meta = _count_run()
    token = set_scope(PRIVILEGED) if cross_shop else _enqueued_scope(meta, set_scope)
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
    from flask import current_app

    from shopify_app.extensions import db

    if current_app.config["QUEUE_ASYNC"]:
        db.session.rollback()


def _enqueued_scope(meta: dict[str, Any] | None, set_scope: Callable[[Any], Any]) -> Any:
    """Enter the scope recorded at enqueue time; a direct call (no RQ job) keeps the caller's."""
    from shopify_app.tenancy import decode

    if meta is None or "db_scope" not in meta:
        return None
    return set_scope(decode(meta["db_scope"]))


def _count_run() -> dict[str, Any] | None:
    """Runs so far, kept on the RQ job: a parked failure says how many times it was tried.
    Returns the job's meta (None outside RQ)."""
    from rq import get_current_job

    current = get_current_job()
    if current is None:
        return None
    current.meta["runs"] = int(current.meta.get("runs", 0)) + 1
    current.save_meta()
    return dict(current.meta)
