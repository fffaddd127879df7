"""The periodic scheduler: exactly one leader at a time, chosen through a Redis lock.

`rq cron` takes no lock, so running two of it double-fires every job. This loop holds a
leader lease in Redis (renewed every tick); followers wait and take over when the lease
expires. Each tick it (1) enqueues the periodic jobs of `schedule.py` that fell due, and
(2) moves due delayed jobs (`enqueue_in`) from RQ's scheduled registries onto their queues,
which is the only way they run when the queues are synchronous (no Redis, no RQ worker).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable
from datetime import UTC, datetime

import structlog
from croniter import croniter
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from shopify_app.extensions import redis_ext
from shopify_app.queueing import enqueue
from shopify_app.tenancy import privileged

from .schedule import PERIODIC_JOBS, PeriodicJob

log = structlog.get_logger(__name__)

LEADER_KEY = "sms_blossom:scheduler:leader"
LAST_RUN_KEY = "sms_blossom:scheduler:last_run:{name}"

# Renew only our own lease; a Lua script keeps compare-and-extend atomic.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""


class Scheduler:
    def __init__(self, *, jobs: Iterable[PeriodicJob] = PERIODIC_JOBS, lease_seconds: float = 30.0):
        self.jobs = tuple(jobs)
        self.lease_ms = int(lease_seconds * 1000)
        self.token = secrets.token_hex(16)
        self.redis = redis_ext.client()
        self._renew = self.redis.register_script(_RENEW)

    def acquire_leadership(self) -> bool:
        if self._renew(keys=[LEADER_KEY], args=[self.token, self.lease_ms]):
            return True
        return bool(self.redis.set(LEADER_KEY, self.token, nx=True, px=self.lease_ms))

    def release_leadership(self) -> None:
        if self.redis.get(LEADER_KEY) == self.token.encode():
            self.redis.delete(LEADER_KEY)

    def tick(self, now: datetime | None = None) -> list[str]:
        """One round; returns the names of what was enqueued (empty when not the leader)."""
        now = now or datetime.now(UTC)
        if not self.acquire_leadership():
            return []
        enqueued = [job.name for job in self.jobs if self._fire_if_due(job, now)]
        enqueued.extend(promote_due_delayed_jobs(now))
        return enqueued

    def _fire_if_due(self, job: PeriodicJob, now: datetime) -> bool:
        key = LAST_RUN_KEY.format(name=job.name)
        raw = self.redis.get(key)
        if raw is None:
            # First sight: start the clock instead of firing every job at start-up.
            self.redis.set(key, now.timestamp())
            return False
        last = datetime.fromtimestamp(float(raw), UTC)
        due = last + job.every if job.every is not None else croniter(job.cron, last).get_next(datetime)
        if now < due:
            return False
        self.redis.set(key, now.timestamp())
        enqueue(job.queue, job.func)
        return True

    def run(self, *, interval: float, stop: threading.Event) -> None:
        with privileged():  # cross-shop by nature, also as a thread of a web process
            self._run(interval=interval, stop=stop)

    def _run(self, *, interval: float, stop: threading.Event) -> None:
        log.info("scheduler_started", jobs=[job.name for job in self.jobs], interval=interval)
        try:
            while not stop.is_set():
                try:
                    fired = self.tick()
                    if fired:
                        log.info("scheduler_tick", enqueued=fired)
                except Exception:  # a bad tick (Redis blip) must not kill the only scheduler
                    log.exception("scheduler_tick_failed")
                stop.wait(interval)
        finally:
            self.release_leadership()
            log.info("scheduler_stopped")


def promote_due_delayed_jobs(now: datetime | None = None) -> list[str]:
    """Enqueue delayed jobs whose time has come onto their (possibly synchronous) queues."""
    timestamp = int((now or datetime.now(UTC)).timestamp())
    promoted: list[str] = []
    for queue in redis_ext.queues():
        registry = ScheduledJobRegistry(queue=queue)
        for job_id in registry.get_jobs_to_schedule(timestamp):
            registry.remove(job_id)
            job = Job.fetch(job_id, connection=queue.connection)
            queue.enqueue_job(job)
            promoted.append(f"{queue.name}:{job.func_name}")
    return promoted
