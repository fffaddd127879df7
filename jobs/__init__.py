"""RQ job functions: take ids, run inside an app context, call a service, let errors raise.

A job may run in three places: an RQ worker started by `flask worker` (app context already
pushed for the process), a plain `rq worker` (no context: we build the app once per process),
or synchronously inside the request that enqueued it (the request's context is reused).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flask import Flask, has_app_context

P = ParamSpec("P")
R = TypeVar("R")


@functools.cache
def _app_for_process() -> Flask:
    """One app per worker process that was started without `flask worker`."""
    from shopify_app import create_app

    return create_app()


def job(func: Callable[P, R]) -> Callable[P, R]:
    """Run `func` in an app context, reusing the current one when there is one."""

    name = f"{func.__module__}.{func.__qualname__}"

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if has_app_context():
            return _observed(func, name, *args, **kwargs)
        with _app_for_process().app_context():
            return _observed(func, name, *args, **kwargs)

    return wrapper


def _observed(func: Callable[P, R], name: str, *args: P.args, **kwargs: P.kwargs) -> R:
    from shopify_app.metrics import observe_job

    _count_run()
    started = time.perf_counter()
    try:
        result = func(*args, **kwargs)
    except BaseException:
        observe_job(name, started, "failed")
        raise
    observe_job(name, started, "succeeded")
    return result


def _count_run() -> None:
    """Runs so far, kept on the RQ job: a parked failure says how many times it was tried."""
    from rq import get_current_job

    current = get_current_job()
    if current is not None:
        current.meta["runs"] = int(current.meta.get("runs", 0)) + 1
        current.save_meta()
