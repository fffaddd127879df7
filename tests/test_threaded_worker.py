"""The threaded worker (`flask worker --worker-class threaded`): several jobs at once in one
process, each with its own app context, and still every recipient sent exactly once."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import weakref

import pytest
from rq import SimpleWorker
from rq.job import JobStatus
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from jobs.worker import ThreadedWorker, run_worker, warm_up
from shopify_app.extensions import db, redis_ext
from shopify_app.models import Campaign, CampaignState, Message
from shopify_app.queueing import enqueue
from shopify_app.runtime import GC_THRESHOLDS, tune_gc
from shopify_app.services.billing import credits
from shopify_app.services.sending import claim as sending

from .conftest import mitto_config, shop_ready_to_send
from .test_sending import launch, provider_calls_per_recipient, states

needs_queues = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="a worker needs Redis queues")
on_postgresql = os.environ.get("DATABASE_URL", "").startswith("postgres")
needs_postgresql = pytest.mark.skipif(not on_postgresql, reason="the threaded worker runs on PostgreSQL")


def threaded(app, threads: int = 2) -> ThreadedWorker:
    return ThreadedWorker(redis_ext.queues(), connection=redis_ext.client(), app=app, threads=threads)


@needs_queues
def test_jobs_run_at_the_same_time_in_one_process(app):
    jobs = [enqueue("default", "tests.job_probes.meet", "meet:threaded", 2) for _ in range(2)]
    assert threaded(app).work(burst=True)
    assert [job.get_status(refresh=True) for job in jobs] == [JobStatus.FINISHED] * 2
    assert [job.return_value() for job in jobs] == [2, 2]


@needs_queues
def test_a_simple_worker_runs_the_same_jobs_one_after_the_other(app):
    """The control for the test above: the probe fails when its jobs cannot meet."""
    job = enqueue("default", "tests.job_probes.meet", "meet:simple", 2, 1.0, retry=None)
    SimpleWorker(redis_ext.queues(), connection=redis_ext.client()).work(burst=True)
    assert job.get_status(refresh=True) == JobStatus.FAILED
    assert "ran at the same time" in (job.latest_result().exc_string or "")


@needs_queues
def test_a_job_over_its_timeout_is_stopped_inside_its_thread(app):
    """Signals reach only the main thread: the timeout must come from a timer."""
    job = enqueue("default", "tests.job_probes.spin", "spin:timeout", 30, job_timeout=1, retry=None)
    threaded(app).work(burst=True)
    assert job.get_status(refresh=True) == JobStatus.FAILED
    assert "JobTimeoutException" in (job.latest_result().exc_string or "")
    assert redis_ext.client().get("spin:timeout") in (b"started", "started")


@needs_queues
def test_the_worker_beats_at_most_once_a_second_outside_pipelines(app, monkeypatch):
    """RQ beats three times a job on its own (two round trips each); the worker's key expires
    only after worker_ttl + 60 s, so one beat a second is enough. Beats inside RQ's pipelines
    (with a job's timeout) all go out."""
    worker = threaded(app)
    beats = []
    original = SimpleWorker.heartbeat

    def counted(self, timeout=None, pipeline=None):
        beats.append((timeout, pipeline))
        return original(self, timeout, pipeline)

    monkeypatch.setattr(SimpleWorker, "heartbeat", counted)
    for n in range(6):
        enqueue("default", "tests.job_probes.create_shop", f"beat{n}.myshopify.com")
    assert worker.work(burst=True)
    lone = [beat for beat in beats if beat == (None, None)]
    assert 1 <= len(lone) < 6  # RQ asked for about 20 lone beats: the first went out
    assert len(beats) - len(lone) >= 6  # one per job at least, in a pipeline
    worker._last_beat = float("-inf")  # a second later: the next one goes out again
    worker.heartbeat()
    assert beats[-1] == (None, None)
    assert redis_ext.client().ttl(worker.key) > worker.worker_ttl


@pytest.mark.skipif(not on_postgresql, reason="warming a PostgreSQL pool")
def test_warm_up_opens_the_pool_and_compiles_the_batch_statements(app):
    engine = db.engines[None]
    engine.dispose()
    engine.clear_compiled_cache()
    warm_up(engine, connections=4)
    assert engine.pool.checkedin() == 4  # the first batches find their connections open
    assert engine.pool.checkedout() == 0
    hits = []
    listener = lambda conn, cursor, statement, params, context, many: hits.append(str(context.cache_hit))  # noqa: E731
    event.listen(engine, "after_cursor_execute", listener)
    try:
        with Session(bind=engine) as session:
            session.execute(sending._read_only_statement(), {"campaign_id": 0})
            session.connection().execute(
                sending._claim_statement(), {"campaign_id": 0, "low": 0, "high": 0, "now": None}
            )
    finally:
        event.remove(engine, "after_cursor_execute", listener)
    assert hits[-2:] == ["CacheStats.CACHE_HIT"] * 2  # compiled before the first batch


@needs_queues
def test_a_failing_job_does_not_stop_the_others(app):
    failing = enqueue("default", "tests.job_probes.always_fails", retry=None)
    fine = [enqueue("default", "tests.job_probes.create_shop", f"s{n}.myshopify.com") for n in range(3)]
    assert threaded(app).work(burst=True)
    assert failing.get_status(refresh=True) == JobStatus.FAILED
    assert [job.get_status(refresh=True) for job in fine] == [JobStatus.FINISHED] * 3


@pytest.mark.skipif(on_postgresql, reason="SQLite only")
def test_the_threaded_worker_refuses_sqlite(make_app):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0", QUEUE_ASYNC=True)  # never reached
    with pytest.raises(RuntimeError, match="needs PostgreSQL"):
        run_worker(app, queue_names=("campaigns",), worker_class="threaded", burst=True)


@pytest.fixture
def campaign_app(make_app, fake_mitto):
    """Batches of 3 for 20 recipients: 7 jobs, several in flight at once."""
    app = make_app(**mitto_config(fake_mitto, SMS_BATCH_SIZE=3))
    with app.app_context():
        api, shop = shop_ready_to_send(app, recipients=20, credits=1000, first_names=True)
        yield app, api, shop


@needs_queues
@needs_postgresql
def test_a_campaign_sent_by_a_threaded_worker_reaches_each_recipient_once(campaign_app, fake_mitto):
    app, api, _shop = campaign_app
    campaign_id = launch(api)
    assert threaded(app, threads=3).work(burst=True)
    assert states() == {"sent": 20}
    assert set(provider_calls_per_recipient(fake_mitto).values()) == {1}
    assert len({message["bulkId"] for message in fake_mitto.received}) == 7  # one call per batch
    db.session.expire_all()
    assert db.session.get(Campaign, campaign_id).state == CampaignState.COMPLETED
    spent = sum(db.session.scalars(select(Message.credits)))
    assert credits.spent_for(campaign_id=campaign_id) == spent == 20


@needs_queues
@needs_postgresql
def test_flask_worker_runs_a_threaded_worker(campaign_app, fake_mitto, project_root):
    app, api, _shop = campaign_app
    launch(api)
    env = {
        **os.environ,
        **{name: str(value) for name, value in mitto_config(fake_mitto, SMS_BATCH_SIZE=3).items()},
        "DATABASE_URL": app.config["DATABASE_URL"],
        "REDIS_URL": app.config["REDIS_URL"],
        "SHOPIFY_API_SECRET": app.config["SHOPIFY_API_SECRET"],
    }
    command = [sys.executable, "-m", "flask", "--app", "shopify_app", "worker", "--burst", "-q", "campaigns"]
    command += ["--worker-class", "threaded", "--threads", "3", "--without-scheduler"]
    result = subprocess.run(
        command, cwd=project_root, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert states() == {"sent": 20}
    assert set(provider_calls_per_recipient(fake_mitto).values()) == {1}


class _Probe:
    cycle: object = None


@pytest.fixture
def restored_gc():
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_workers_freeze_startup_objects_and_collect_less_often(restored_gc):
    gc.disable()  # nothing collects the cycle below before tune_gc does
    try:
        garbage = _Probe()
        garbage.cycle = garbage  # only a collection frees a cycle
        probe = weakref.ref(garbage)
        del garbage
        tune_gc()
    finally:
        gc.enable()
    assert gc.get_threshold() == GC_THRESHOLDS
    assert gc.get_freeze_count() > 0
    assert probe() is None  # startup's garbage is collected first, not frozen for good
