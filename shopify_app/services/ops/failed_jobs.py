"""Failed jobs: every queue's parked failures, and retrying or discarding them.

The dead-letter rule lives in `queueing.enqueue`: a job that raises is retried with backoff up
to `JOB_MAX_ATTEMPTS` runs in all, then RQ parks it in the queue's failed registry with its
error, where it stays (never retried forever) until an operator retries or discards it here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from rq.exceptions import NoSuchJobError
from rq.job import Job

from ...errors import NotFound
from ...extensions import redis_ext


@dataclass(frozen=True)
class FailedJob:
    id: str
    queue: str
    func: str
    error: str  # the exception's last line: class and message, as the job raised it
    failed_at: str | None
    attempts: int


def _describe(job: Job, queue: str) -> FailedJob:
    exc = (job.latest_result().exc_string if job.latest_result() else None) or job.exc_info or ""
    last = next((line for line in reversed(exc.strip().splitlines()) if line.strip()), "")
    runs = int(job.meta.get("runs", 1))  # counted by the @job wrapper on every run
    return FailedJob(
        id=job.id,
        queue=queue,
        func=job.func_name,
        error=last[:300],
        failed_at=job.ended_at.isoformat() if job.ended_at else None,
        attempts=max(runs, 1),
    )


def list_failed(queue_name: str | None = None) -> list[FailedJob]:
    found = []
    for queue in redis_ext.queues():
        if queue_name and queue.name != queue_name:
            continue
        registry = queue.failed_job_registry
        for job_id in registry.get_job_ids():
            try:
                job = Job.fetch(job_id, connection=redis_ext.client())
            except NoSuchJobError:
                registry.remove(job_id)
                continue
            found.append(_describe(job, queue.name))
    return found


def _find(job_id: str) -> tuple[Any, str]:
    for queue in redis_ext.queues():
        if job_id in queue.failed_job_registry.get_job_ids():
            return queue.failed_job_registry, queue.name
    raise NotFound("No such failed job.", code="failed_job_not_found")


def retry(job_id: str) -> str:
    registry, queue = _find(job_id)
    registry.requeue(job_id)
    return queue


def discard(job_id: str) -> str:
    registry, queue = _find(job_id)
    registry.remove(job_id, delete_job=True)
    return queue


def as_dicts(jobs: list[FailedJob]) -> list[dict[str, Any]]:
    return [asdict(job) for job in jobs]
