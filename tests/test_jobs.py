from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from rq.job import JobStatus
from rq.registry import FailedJobRegistry, ScheduledJobRegistry
from sqlalchemy import select

from jobs.schedule import PeriodicJob
from jobs.scheduler import LEADER_KEY, Scheduler, promote_due_delayed_jobs
from shopify_app.extensions import db, redis_ext
from shopify_app.models import Shop, WebhookEvent, WebhookStatus
from shopify_app.queueing import enqueue

from .conftest import settle_jobs

needs_real_redis = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a real Redis (REDIS_URL)")
sync_only = pytest.mark.skipif(bool(os.environ.get("REDIS_URL")), reason="synchronous queues only without Redis")


def shop_domains() -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(Shop.domain).order_by(Shop.domain)))


def run_burst_worker() -> None:
    """Drain the queues in-process the way a real worker would (no fork)."""
    from rq import SimpleWorker

    SimpleWorker(redis_ext.queues(), connection=redis_ext.client()).work(burst=True)


def drain_if_async(app) -> None:
    if app.config["QUEUE_ASYNC"]:
        run_burst_worker()


def test_all_five_queues_exist(app):
    assert [queue.name for queue in redis_ext.queues()] == [
        "default",
        "campaigns",
        "webhooks",
        "automations",
        "housekeeping",
    ]
    assert all(queue.is_async == bool(app.config["REDIS_URL"]) for queue in redis_ext.queues())


def test_an_enqueued_job_runs_and_its_outcome_is_in_the_database(app):
    job = enqueue("default", "tests.job_probes.create_shop", "queued-shop.myshopify.com")
    drain_if_async(app)
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED
    assert shop_domains() == ["queued-shop.myshopify.com"]


def test_a_failing_job_lands_in_the_failed_registry(app):
    job = enqueue("default", "tests.job_probes.always_fails")
    settle_jobs(app, rounds=10, strict=False)  # its retries (tests/test_failed_jobs.py) included
    assert job.get_status(refresh=True) == JobStatus.FAILED
    assert job.id in FailedJobRegistry(queue=redis_ext.queue("default")).get_job_ids()
    assert "fails on purpose" in (job.latest_result().exc_string or "")


@sync_only
def test_synchronous_queues_run_the_job_before_enqueue_returns(app):
    enqueue("default", "tests.job_probes.create_shop", "inline-shop.myshopify.com")
    assert shop_domains() == ["inline-shop.myshopify.com"]


def test_a_delayed_job_waits_until_the_scheduler_promotes_it(app):
    job = enqueue("default", "tests.job_probes.create_shop", "later.myshopify.com", delay=timedelta(seconds=30))
    assert job.id in ScheduledJobRegistry(queue=redis_ext.queue("default")).get_job_ids()
    assert promote_due_delayed_jobs(datetime.now(UTC)) == []
    drain_if_async(app)
    assert shop_domains() == []

    promoted = promote_due_delayed_jobs(datetime.now(UTC) + timedelta(seconds=31))
    assert promoted == ["default:tests.job_probes.create_shop"]
    drain_if_async(app)
    assert shop_domains() == ["later.myshopify.com"]
    assert ScheduledJobRegistry(queue=redis_ext.queue("default")).get_job_ids() == []


def test_only_one_scheduler_leads_at_a_time(app):
    first, second = Scheduler(jobs=()), Scheduler(jobs=())
    assert first.acquire_leadership() is True
    assert second.acquire_leadership() is False
    assert first.acquire_leadership() is True  # renewal by the leader
    first.release_leadership()
    assert second.acquire_leadership() is True
    assert redis_ext.client().get(LEADER_KEY) == second.token.encode()


def test_periodic_jobs_fire_when_due_and_only_on_the_leader(app):
    periodic = PeriodicJob(name="probe", func="jobs.housekeeping.cleanup_webhook_events", every=timedelta(minutes=5))
    leader, standby = Scheduler(jobs=[periodic]), Scheduler(jobs=[periodic])
    start = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert leader.tick(start) == []  # first sight starts the clock
    assert standby.tick(start + timedelta(minutes=10)) == []
    assert leader.tick(start + timedelta(minutes=4)) == []
    assert leader.tick(start + timedelta(minutes=5)) == ["probe"]
    assert leader.tick(start + timedelta(minutes=6)) == []


def test_cron_periodic_jobs_follow_their_schedule(app):
    periodic = PeriodicJob(name="nightly", func="jobs.housekeeping.cleanup_webhook_events", cron="17 3 * * *")
    scheduler = Scheduler(jobs=[periodic])
    start = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)
    scheduler.tick(start)
    assert scheduler.tick(start + timedelta(minutes=16)) == []
    assert scheduler.tick(start + timedelta(minutes=17)) == ["nightly"]


def test_periodic_job_declaration_needs_exactly_one_timing():
    with pytest.raises(ValueError, match="exactly one"):
        PeriodicJob(name="bad", func="x.y")
    with pytest.raises(ValueError, match="exactly one"):
        PeriodicJob(name="bad", func="x.y", every=timedelta(seconds=1), cron="* * * * *")


def test_webhook_event_cleanup_keeps_recent_and_unprocessed_events(app):
    now = datetime.now(UTC)
    for webhook_id, status, age in [
        ("old-processed", WebhookStatus.PROCESSED, timedelta(days=8)),
        ("new-processed", WebhookStatus.PROCESSED, timedelta(days=6)),
        ("old-failed", WebhookStatus.FAILED, timedelta(days=31)),
        ("recent-failed", WebhookStatus.FAILED, timedelta(days=20)),
        ("old-received", WebhookStatus.RECEIVED, timedelta(days=40)),
    ]:
        db.session.add(
            WebhookEvent(
                shop_domain="a.myshopify.com",
                topic="shop/update",
                webhook_id=webhook_id,
                status=status,
                received_at=now - age,
            )
        )
    db.session.commit()
    enqueue("housekeeping", "jobs.housekeeping.cleanup_webhook_events")
    drain_if_async(app)
    db.session.expire_all()
    remaining = set(db.session.scalars(select(WebhookEvent.webhook_id)))
    assert remaining == {"new-processed", "recent-failed", "old-received"}


@needs_real_redis
def test_flask_worker_process_runs_queued_jobs(app, project_root):
    job = enqueue("default", "tests.job_probes.create_shop", "worker-shop.myshopify.com")
    env = {
        **os.environ,
        "DATABASE_URL": app.config["DATABASE_URL"],
        "REDIS_URL": app.config["REDIS_URL"],
        "SHOPIFY_API_SECRET": app.config["SHOPIFY_API_SECRET"],
    }
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "shopify_app", "worker", "--burst", "-q", "default"],
        cwd=project_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert job.get_status(refresh=True) == JobStatus.FINISHED
    assert shop_domains() == ["worker-shop.myshopify.com"]


def test_every_periodic_job_points_at_a_real_job_on_a_real_queue():
    import importlib

    from jobs.schedule import PERIODIC_JOBS
    from shopify_app.config import QUEUE_NAMES

    for periodic in PERIODIC_JOBS:
        module, _, name = periodic.func.rpartition(".")
        assert callable(getattr(importlib.import_module(module), name)), periodic.name
        assert periodic.queue in QUEUE_NAMES
    assert len({periodic.name for periodic in PERIODIC_JOBS}) == len(PERIODIC_JOBS)


def test_every_periodic_job_runs_on_an_empty_database(app):
    """A tick must never crash on a fresh install (outcomes are checked by each feature's tests)."""
    from rq.job import JobStatus

    from jobs.schedule import PERIODIC_JOBS

    for periodic in PERIODIC_JOBS:
        job = enqueue(periodic.queue, periodic.func)
        drain_if_async(app)
        assert job.get_status(refresh=True) == JobStatus.FINISHED, (periodic.name, job.latest_result())
