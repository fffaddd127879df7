"""Crash tests for the flow engine: a real worker process is SIGKILLed in the middle of an
advance (before a wait; between a branch and its send) and Redis is flushed while a run waits.
Runs are claimed from PostgreSQL, so the periodic tick finds them again: every step is taken
once, every text sent once, and each step has one row."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from jobs.schedule import PERIODIC_JOBS
from jobs.scheduler import Scheduler
from shopify_app.extensions import db, redis_ext
from shopify_app.job_names import FLOWS_ADVANCE
from shopify_app.models import AutomationRun, FlowRun, FlowRunStep
from shopify_app.services.automations import automations
from shopify_app.services.flows import runs

from .conftest import mitto_config, settle_jobs
from .test_automations import SHOPPER, shop_app  # noqa: F401 (shop_app is a fixture)
from .test_crash_safety import read_line_containing, wait_for
from .test_flow_engine import CART_SERIES, _contact, flow_runs, make_flow, taken, texts
from .test_sending import needs_postgres_and_redis

pytestmark = needs_postgres_and_redis
CART = {"checkout_url": "https://alpha.myshopify.com/checkouts/t1"}


def start_worker(app, fake_mitto, crash_step: str | None) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        **{k: str(v) for k, v in mitto_config(fake_mitto).items()},
        "DATABASE_URL": app.config["DATABASE_URL"],
        "DATABASE_ADMIN_URL": app.config["DATABASE_ADMIN_URL"],  # cross-shop jobs run privileged
        "REDIS_URL": app.config["REDIS_URL"],
        "LOG_LEVEL": "WARNING",
    }
    env.pop("CRASH_STEP", None)
    if crash_step:
        env["CRASH_STEP"] = crash_step
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return subprocess.Popen(
        [sys.executable, "-m", "tests.flow_crash_worker"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def kill_at_pause(app, fake_mitto, crash_step: str) -> None:
    """The advance job, taken by a real worker that is SIGKILLed before `crash_step`."""
    FLOWS_ADVANCE.delay()
    worker = start_worker(app, fake_mitto, crash_step)
    try:
        read_line_containing(worker, "PAUSED")
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()


def periodic_tick(app) -> None:
    """The scheduler's flows-advance entry firing (its clock starts at first sight, as after a
    flush), then a restarted worker taking the job; repeated until PostgreSQL has released the
    dead worker's row lock (SKIP LOCKED passes over a run still locked)."""
    [entry] = [job for job in PERIODIC_JOBS if job.name == "flows-advance"]
    scheduler = Scheduler(jobs=[entry])
    clock = datetime.now(UTC)

    def advanced() -> bool:
        nonlocal clock
        before = _steps()
        scheduler.tick(clock)
        clock += entry.every + timedelta(seconds=1)
        assert "flows-advance" in scheduler.tick(clock)
        settle_jobs(app)
        automations.dispatch_due()
        settle_jobs(app)
        return _steps() > before

    wait_for(advanced)


def _steps() -> int:
    db.session.expire_all()
    return int(db.session.scalar(select(func.count()).select_from(FlowRunStep)))


def one_row_per_step(run_id: int) -> None:
    counts = Counter(step for step, _outcome, _detail in taken(run_id))
    assert set(counts.values()) == {1}


def test_a_run_killed_before_its_wait_and_flushed_during_it_sends_each_text_once(shop_app, fake_mitto):  # noqa: F811
    app, _api, shop = shop_app
    flow = make_flow(shop, "abandoned_checkout", CART_SERIES, exit_on_order=True)
    runs.start_flows(shop_id=shop.id, trigger="abandoned_checkout", contact_id=_contact(shop), key="c:t1", context=CART)
    db.session.commit()
    kill_at_pause(app, fake_mitto, "day")  # the reminder was taken, not committed
    [run] = flow_runs(flow.id)
    assert (run.step_id, taken(run.id)) == ("first", [])
    assert db.session.scalars(select(AutomationRun)).all() == []
    redis_ext.client().flushdb()  # the after-commit advance, the dispatch: all gone
    periodic_tick(app)
    [reminder] = texts(fake_mitto)  # once, though the killed worker had taken it
    assert reminder.startswith("Your cart at Alpha: https://")
    [run] = flow_runs(flow.id)
    assert (run.state.value, run.step_id) == ("active", "bought")
    redis_ext.client().flushdb()  # a flush during the wait loses nothing: the run is a row
    db.session.execute(update(FlowRun).values(due_at=datetime.now(UTC) - timedelta(seconds=1)))  # the day passed
    db.session.commit()
    periodic_tick(app)
    assert len(sent := texts(fake_mitto)) == 2
    assert sent[1] == "Still thinking? CART10 takes 10% off."
    assert Counter(m["destination"] for m in fake_mitto.received) == {SHOPPER: 2}
    [run] = flow_runs(flow.id)
    assert run.state.value == "completed"
    assert [step for step, _o, _d in taken(run.id)] == ["first", "day", "bought", "discount"]
    one_row_per_step(run.id)


def test_a_worker_killed_between_the_branch_and_the_send_redoes_them_once(shop_app, fake_mitto):  # noqa: F811
    app, _api, shop = shop_app
    flow = make_flow(shop, "abandoned_checkout", CART_SERIES, exit_on_order=True)
    runs.start_flows(shop_id=shop.id, trigger="abandoned_checkout", contact_id=_contact(shop), key="c:t1", context=CART)
    db.session.commit()
    settle_jobs(app)
    automations.dispatch_due()
    settle_jobs(app)
    assert len(texts(fake_mitto)) == 1
    [run] = flow_runs(flow.id)
    assert run.step_id == "bought"
    db.session.execute(update(FlowRun).values(due_at=datetime.now(UTC) - timedelta(seconds=1)))  # the day passed
    db.session.commit()
    kill_at_pause(app, fake_mitto, "discount")  # the branch was taken ("no"), the send not yet
    [run] = flow_runs(flow.id)
    assert (run.state.value, run.step_id) == ("active", "bought")  # rolled back with the worker
    assert [step for step, _o, _d in taken(run.id)] == ["first", "day"]
    periodic_tick(app)
    assert texts(fake_mitto)[1:] == ["Still thinking? CART10 takes 10% off."]
    [run] = flow_runs(flow.id)
    assert run.state.value == "completed"
    assert [(step, outcome) for step, outcome, _d in taken(run.id)] == [
        ("first", "sent"),
        ("day", "waited"),
        ("bought", "no"),
        ("discount", "sent"),
    ]
    one_row_per_step(run.id)
    assert len(db.session.scalars(select(AutomationRun)).all()) == 2
