"""Kill a real worker process (SIGKILL) before, during and after the provider call: every
recipient gets at most one provider call, totals add up, nothing stays `submitting`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from shopify_app.bulk import on_postgresql
from shopify_app.extensions import db
from shopify_app.models import Message, MessageState, SendAttempt
from shopify_app.services.billing import credits
from shopify_app.services.sending.batches import enqueue_batch
from shopify_app.services.sending.state import LEASE
from shopify_app.services.sending.sweeper import sweep

from .conftest import mitto_config, settle_jobs, shop_ready_to_send

pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a real Redis shared with the worker")

RECIPIENTS = 10


@pytest.fixture
def crash_app(make_app, fake_mitto):
    settings = mitto_config(fake_mitto, MITTO_READ_TIMEOUT_SECONDS=60)
    app = make_app(**settings)
    with app.app_context():
        api, shop = shop_ready_to_send(app, recipients=RECIPIENTS, credits=100)
        yield app, api, shop, settings


def start_worker(app, settings, point: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        **{k: str(v) for k, v in settings.items()},
        "CRASH_POINT": point,
        "DATABASE_URL": app.config["DATABASE_URL"],
        "REDIS_URL": app.config["REDIS_URL"],
        "LOG_LEVEL": "WARNING",
    }
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return subprocess.Popen(
        [sys.executable, "-m", "tests.crash_worker"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("the worker never reached the crash point")


def rows() -> list[Message]:
    db.session.expire_all()
    return list(db.session.scalars(select(Message)))


def read_line_containing(proc: subprocess.Popen[str], marker: str) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        if marker in line:
            return
    raise AssertionError(f"worker exited before {marker}")


@pytest.mark.parametrize("point", ["before", "during", "after"])
def test_sigkill_never_causes_a_second_provider_call(crash_app, fake_mitto, point):
    app, api, shop, settings = crash_app
    if point == "during":
        fake_mitto.timeout_next(times=1, seconds=30)  # Mitto accepts, then holds the answer
    campaign = api.post("/api/campaigns", json={"name": "Crash", "body": "Hi!"}).get_json()
    assert api.post(f"/api/campaigns/{campaign['id']}/launch").status_code == 200
    worker = start_worker(app, settings, point)
    try:
        if point == "before":
            read_line_containing(worker, "CLAIMED")
        elif point == "during":
            wait_for(lambda: len(fake_mitto.received) == RECIPIENTS)
        else:
            read_line_containing(worker, "ANSWERED")
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    # Before the call nothing was written (the rows were only locked); after it, the attempt
    # was: on PostgreSQL as a record beside the rows (they stay `queued`), else on the rows.
    records = on_postgresql()
    expected = MessageState.QUEUED if point == "before" or records else MessageState.SUBMITTING
    assert {m.state for m in rows()} == {expected}
    if records:
        assert len(db.session.scalars(select(SendAttempt)).all()) == (0 if point == "before" else 1)
    calls_at_crash = len(fake_mitto.received)

    # A batch of the same range (the sweeper re-enqueues queued rows) before the lease expires
    # sends nothing the dead batch may have sent.
    enqueue_batch(campaign["id"], min(m.id for m in rows()), max(m.id for m in rows()) + 1)
    settle_jobs(app)
    assert len(fake_mitto.received) == calls_at_crash or point == "before"

    # The lease expires; the sweeper decides from attempted_at, and the campaign finishes.
    sweep(now=datetime.now(UTC) + LEASE + timedelta(seconds=1))
    settle_jobs(app)
    sweep()
    settle_jobs(app)

    final = Counter(m.state.value for m in rows())
    assert "submitting" not in final
    per_recipient = Counter(message["destination"] for message in fake_mitto.received)
    assert set(per_recipient.values()) <= {1}  # at most one provider call per recipient, ever
    if point == "before":
        assert calls_at_crash == 0
        assert final == {"sent": RECIPIENTS}  # nothing was called, so the sweeper sent them once
    else:
        assert calls_at_crash == RECIPIENTS
        assert final == {"unknown": RECIPIENTS}  # maybe accepted: never resent, held for an operator
    assert sum(final.values()) == RECIPIENTS
    held = api.get(f"/api/campaigns/{campaign['id']}").get_json()
    assert held["state"] == "completed"
    assert credits.balance(shop_id=shop.id) >= 0
    if point != "before":  # the unknown rows keep their cost, for an operator's resolution
        assert {(m.attempts, m.credits, m.error_code) for m in rows()} == {(1, 1, "worker_lost")}
        assert credits.held_for(campaign_id=campaign["id"]) == RECIPIENTS
    # Every row says what it went (or may have gone) from, a dead batch's unknown rows too.
    assert {m.sender for m in rows()} == {f"+1212555{shop.id % 10000:04d}"}
    assert db.session.scalars(select(SendAttempt)).all() == []
