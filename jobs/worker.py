"""Start an RQ worker on every queue, inside an app context.

    flask --app shopify_app worker                 # all queues, forking worker, scheduler on
    flask --app shopify_app worker -q campaigns --worker-class simple
    flask --app shopify_app worker -q campaigns --worker-class threaded --threads 3   # PostgreSQL

The RQ scheduler is enabled so delayed jobs and retries fire. Forked work horses inherit the
app context but must not reuse the parent's database connections, so the pool is dropped in
the child right after fork.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Flask
from rq import SimpleWorker, Worker
from rq.exceptions import StopRequested
from rq.job import Job
from rq.queue import Queue
from rq.timeouts import TimerDeathPenalty
from rq.worker import WorkerStatus
from sqlalchemy import Engine
from sqlalchemy.orm import configure_mappers

from shopify_app.bulk import on_postgresql
from shopify_app.config import QUEUE_NAMES
from shopify_app.extensions import db, redis_ext
from shopify_app.runtime import tune_gc
from shopify_app.services.sending import batch as sending
from shopify_app.tenancy import shop_scope


class ThreadedWorker(SimpleWorker):
    """A non-forking worker that runs up to `threads` jobs at once, each in a thread of its own
    with its own app context (so its own database session and connection).

    A campaign batch spends about half its time waiting on PostgreSQL and on Mitto; a second
    batch in flight uses that time and the machine's other core. Each job is still one batch,
    run exactly as a SimpleWorker runs it: the per-batch protocol (row locks, the attempt
    committed before the call) is what makes concurrent batches safe, in one process or in many.

    RQ keeps one `execution` per worker; here it is per thread. Job timeouts use a timer
    (signals reach only the main thread). Shutdown: a SIGTERM while the main thread waits for
    a job stops at once, as an idle worker does; while every thread is busy it takes no new job.
    Either way the jobs in flight finish before the process exits (threads cannot be killed,
    so a second signal waits for them too; a batch is bounded by the provider's timeouts)."""

    death_penalty_class = TimerDeathPenalty
    # RQ beats three times per job outside any pipeline (after handing a job over, before and
    # after each dequeue): an EXPIRE and an HSET each, six round trips a job on the main thread.
    # The key lives `worker_ttl` + 60 s (8 minutes by default); one beat a second keeps it and
    # `last_heartbeat` as current as any monitor reads them. Beats inside RQ's pipelines (with a
    # job's own timeout) always go out.
    heartbeat_interval = 1.0

    def __init__(self, *args: Any, app: Flask, threads: int = 3, **kwargs: Any) -> None:
        self._local = threading.local()
        self._app = app
        self._slots = threading.BoundedSemaphore(threads)
        self._lock = threading.RLock()  # the signal handler may ask for the state while it is held
        self._busy = 0
        self._dequeuing = False
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="rq-job")
        self._last_beat = float("-inf")
        super().__init__(*args, **kwargs)

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        if timeout is None and pipeline is None:
            beat = time.monotonic()
            if beat - self._last_beat < self.heartbeat_interval:
                return
            self._last_beat = beat
        super().heartbeat(timeout, pipeline)

    @property  # type: ignore[override]
    def execution(self) -> Any:
        return getattr(self._local, "execution", None)

    @execution.setter
    def execution(self, value: Any) -> None:
        self._local.execution = value

    def get_state(self) -> str:
        with self._lock:
            return WorkerStatus.BUSY if self._busy else super().get_state()

    def _shutdown(self) -> None:
        if self._dequeuing:  # waiting on Redis for a job: stop now; teardown waits for the rest
            if self.scheduler:
                self.stop_scheduler()
            raise StopRequested()
        super()._shutdown()

    def dequeue_job_and_maintain_ttl(self, timeout: int | None, max_idle_time: int | None = None) -> Any:
        """Take a job only once a thread is free (a job never waits inside this process), and
        none after a stop was requested."""
        self._slots.acquire()
        result = None
        try:
            if not self._stop_requested:
                self._dequeuing = True
                try:
                    result = super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
                finally:
                    self._dequeuing = False
        finally:
            if result is None:
                self._slots.release()
        return result

    def execute_job(self, job: Job, queue: Queue) -> None:
        with self._lock:
            self._busy += 1
        self._pool.submit(self._run, job, queue)

    def _run(self, job: Job, queue: Queue) -> None:
        try:
            with self._app.app_context():
                super().execute_job(job, queue)  # perform_job records the job's own errors
        except BaseException:
            self.log.exception("Worker %s: job %s escaped its handlers", self.name, job.id)
        finally:
            with self._lock:
                self._busy -= 1
            self._slots.release()

    def teardown(self) -> None:
        self._pool.shutdown(wait=True)  # the jobs in flight finish first
        super().teardown()


# The tables a send batch touches: planning a statement over them loads a new PostgreSQL
# backend's catalog caches (relations, indexes, policies) without reading a row.
_SEND_TABLES = "messages, contacts, campaigns, shops, send_attempts, credit_ledger, short_links"


def warm_up(engine: Engine, *, connections: int) -> None:
    """Before the first job: configure the ORM's mappers (17 ms on first use), compile a send
    batch's reading statements, open the pool's connections and warm their backends. Otherwise
    the first batch of each thread configured and compiled all that at once under the GIL,
    connected twice (its session and its attempt record), and each new backend built its
    caches on the batch's own statements."""
    if engine.dialect.name != "postgresql":
        return
    configure_mappers()
    with shop_scope(0):  # the app engine, where no row is shop 0's
        sending.prepare_statements()
        db.session.rollback()
    held = [engine.connect() for _ in range(min(connections, engine.pool.size()))]
    try:
        for connection in held:
            connection.exec_driver_sql(f"EXPLAIN SELECT 1 FROM {_SEND_TABLES}")  # noqa: S608 (a constant)
            connection.rollback()
    finally:
        for connection in held:
            connection.close()


WORKER_CLASSES: dict[str, type[Worker]] = {"fork": Worker, "simple": SimpleWorker, "threaded": ThreadedWorker}


def run_worker(
    app: Flask,
    *,
    queue_names: tuple[str, ...] = QUEUE_NAMES,
    worker_class: str = "fork",
    burst: bool = False,
    with_scheduler: bool = True,
    threads: int = 3,
) -> bool:
    if not app.config["QUEUE_ASYNC"]:
        raise RuntimeError("REDIS_URL is not set: jobs already run inside the web process; no worker is needed")
    with app.app_context():
        # Every engine: the admin one (cross-shop jobs) as well as the app role's.
        os.register_at_fork(after_in_child=lambda: [engine.dispose(close=False) for engine in db.engines.values()])
        queues = [redis_ext.queue(name) for name in queue_names]
        options: dict[str, Any] = {}
        if worker_class == "threaded":
            if not on_postgresql():  # SQLite has one writer: concurrent batches would only wait
                raise RuntimeError("--worker-class threaded needs PostgreSQL (DATABASE_URL)")
            options = {"app": app, "threads": threads}
            warm_up(db.engines[None], connections=2 * threads)
        worker = WORKER_CLASSES[worker_class](queues, connection=redis_ext.client(), **options)
        tune_gc()
        return bool(worker.work(burst=burst, with_scheduler=with_scheduler))
