"""Enqueue jobs by dotted path, carrying ids only; `JobRef` is a job as its enqueuers know it.

With Redis the job goes to a worker; without it the queue is synchronous and the job has
finished (or failed into RQ's failed registry) when `enqueue` returns. Delayed jobs go to RQ's
scheduled registry either way; the periodic scheduler promotes them when they fall due, which
is what makes `delay=` work in the embedded default, where no RQ worker runs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Generic, ParamSpec, TypeVar

import structlog
from redis.client import Pipeline
from rq import Queue, Retry
from rq.job import Job, JobStatus

from .config import QUEUE_NAMES, current_config
from .extensions import redis_ext
from .tenancy import Scope, current_scope, encode

log = structlog.get_logger(__name__)
INHERIT = object()
P = ParamSpec("P")
R = TypeVar("R")
# The periodic scheduler's leader lease (jobs/scheduler.py holds it, `flask doctor` reads it).
SCHEDULER_LEADER_KEY = "sms_blossom:scheduler:leader"


def enqueue(
    queue_name: str,
    func: str,
    *args: Any,
    delay: timedelta | None = None,
    job_id: str | None = None,
    scope: Scope | object = INHERIT,
    **options: Any,
) -> Job:
    """`scope`: the database scope the job runs in (shopify_app/tenancy.py); by default the
    enqueuer's, so work a request starts for its shop stays walled to that shop."""
    queue = redis_ext.queue(queue_name)
    options = _with_defaults(options, scope)
    if delay is not None and delay > timedelta(0):
        job = queue.enqueue_in(delay, func, *args, job_id=job_id, **options)
    else:
        job = queue.enqueue(func, *args, job_id=job_id, **options)
    log.info("job_enqueued", queue=queue_name, func=func, job_id=job.id, delayed=delay is not None)
    return job


def _with_defaults(options: dict[str, Any], scope: Scope | object) -> dict[str, Any]:
    job_scope = current_scope() if scope is INHERIT else scope
    options["meta"] = {**options.get("meta", {}), "db_scope": encode(job_scope)}  # type: ignore[arg-type]
    # The dead-letter rule: a job that raises runs again after 10 s, 1 min, 5 min... up to
    # JOB_MAX_ATTEMPTS runs in all, then stays parked in the failed registry with its error.
    if "retry" not in options:
        attempts = int(current_config()["JOB_MAX_ATTEMPTS"])
        if attempts > 1:
            options["retry"] = Retry(max=attempts - 1, interval=[10, 60, 300, 900][: attempts - 1])
    return options


def enqueue_many(
    queue_name: str,
    func: str,
    calls: list[tuple[tuple[Any, ...], str]],
    pipeline: Pipeline,
    *,
    scope: Scope | object = INHERIT,
    at: datetime | None = None,
) -> None:
    """Enqueue one job per (args, job id) in `pipeline` (executed by the caller): thousands of
    jobs in one round trip; `at`: scheduled for then instead (RQ's scheduler enqueues them).
    Async queues only; a synchronous queue would run each job while the pipeline is still
    unsent, so callers loop over `enqueue` there."""
    queue = redis_ext.queue(queue_name)
    if not queue.is_async:
        raise ValueError("enqueue_many needs an asynchronous queue")
    defaults = _with_defaults({}, scope)  # the same meta and retry rule for every job
    if at is not None:
        for args, job_id in calls:
            meta, retry = dict(defaults["meta"]), defaults.get("retry")
            job = queue.create_job(func, args=args, job_id=job_id, meta=meta, retry=retry, status=JobStatus.SCHEDULED)
            queue.schedule_job(job, at, pipeline=pipeline)
        log.info("jobs_scheduled", queue=queue_name, func=func, count=len(calls), at=at.isoformat())
        return
    datas = [
        Queue.prepare_data(func, args=args, job_id=job_id, meta=dict(defaults["meta"]), retry=defaults.get("retry"))
        for args, job_id in calls
    ]
    queue.enqueue_many(datas, pipeline=pipeline)
    log.info("jobs_enqueued", queue=queue_name, func=func, count=len(calls))


class JobRef:
    """A job as its enqueuers know it: the dotted path a worker imports, and its queue.

    Services sit below jobs/ and may not import them: they enqueue through the references of
    `job_names.py` instead, and tests/test_job_registry.py proves each one resolves, in a fresh
    interpreter, to a job declared on the same queue."""

    def __init__(self, name: str, *, queue: str) -> None:
        if queue not in QUEUE_NAMES:
            raise ValueError(f"job {name!r}: no queue named {queue!r} (config.QUEUE_NAMES)")
        self.name = name
        self.queue = queue

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, queue={self.queue!r})"

    def delay(self, *args: Any, **options: Any) -> Job:
        """Enqueue one run with these ids; `options` are `enqueue`'s (delay, job_id, scope, job_timeout...)."""
        return enqueue(self.queue, self.name, *args, **options)

    def enqueue_many(
        self,
        calls: list[tuple[tuple[Any, ...], str]],
        pipeline: Pipeline,
        *,
        scope: Scope | object = INHERIT,
        at: datetime | None = None,
    ) -> None:
        enqueue_many(self.queue, self.name, calls, pipeline, scope=scope, at=at)


class JobFunction(JobRef, Generic[P, R]):
    """A job function (jobs/__init__.py `@job`): called directly it runs, `.delay()` enqueues it.
    RQ imports it by its dotted path and calls it."""

    def __init__(self, func: Callable[P, R], *, queue: str) -> None:
        super().__init__(f"{func.__module__}.{func.__qualname__}", queue=queue)
        self.func = func
        functools.update_wrapper(self, func)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.func(*args, **kwargs)
