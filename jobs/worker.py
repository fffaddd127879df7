"""Start an RQ worker on every queue, inside an app context.

    flask --app shopify_app worker                 # all queues, forking worker, scheduler on
    flask --app shopify_app worker -q campaigns --worker-class simple

The RQ scheduler is enabled so delayed jobs and retries fire. Forked work horses inherit the
app context but must not reuse the parent's database connections, so the pool is dropped in
the child right after fork.
"""

from __future__ import annotations

import os

from flask import Flask
from rq import SimpleWorker, Worker

from shopify_app.config import QUEUE_NAMES
from shopify_app.extensions import db, redis_ext

WORKER_CLASSES: dict[str, type[Worker]] = {"fork": Worker, "simple": SimpleWorker}


def run_worker(
    app: Flask,
    *,
    queue_names: tuple[str, ...] = QUEUE_NAMES,
    worker_class: str = "fork",
    burst: bool = False,
    with_scheduler: bool = True,
) -> bool:
    if not app.config["QUEUE_ASYNC"]:
        raise RuntimeError("REDIS_URL is not set: jobs already run inside the web process; no worker is needed")
    with app.app_context():
        # Every engine: the admin one (cross-shop jobs) as well as the app role's.
        os.register_at_fork(after_in_child=lambda: [engine.dispose(close=False) for engine in db.engines.values()])
        queues = [redis_ext.queue(name) for name in queue_names]
        worker = WORKER_CLASSES[worker_class](queues, connection=redis_ext.client())
        return bool(worker.work(burst=burst, with_scheduler=with_scheduler))
