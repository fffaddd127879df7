"""`flask doctor`: a table of checks; exit 1 when any fails."""

from __future__ import annotations

import os

import pytest
from rq import Worker

from shopify_app.extensions import redis_ext

from .conftest import mitto_config


def doctor(app):
    result = app.test_cli_runner().invoke(args=["doctor"])
    lines = result.output.splitlines()
    table = lines[next(i for i, line in enumerate(lines) if line.startswith("check ")) + 2 :]
    rows = {line.split()[0]: line.split(maxsplit=2)[1:] for line in table if line.strip() and "[" not in line[:30]}
    return result.exit_code, rows, result.output


def test_without_redis_the_embedded_default_passes_with_warnings(make_app):
    app = make_app(REDIS_URL=None)
    code, rows, output = doctor(app)
    assert code == 0, output
    assert rows["database"][0] == "ok"
    assert rows["migrations"][0] == "ok"
    assert rows["redis"][0] == "warn"
    assert rows["shopify_api"][0] == "ok"
    assert "2026-10" in output


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="worker heartbeats need a real Redis")
def test_with_redis_a_missing_worker_and_scheduler_fail_then_pass(make_app, fake_mitto):
    app = make_app(**mitto_config(fake_mitto))
    with app.app_context():
        code, rows, output = doctor(app)
        assert code == 1, output
        assert rows["workers"][0] == "FAIL"
        assert rows["scheduler"][0] == "FAIL"
        assert rows["mitto"][0] == "ok"
        worker = Worker(redis_ext.queues(), connection=redis_ext.client(), name="doctor-test-worker")
        worker.register_birth()
        worker.heartbeat()
        from jobs.scheduler import LEADER_KEY

        redis_ext.client().set(LEADER_KEY, "token", px=30_000)
        try:
            code, rows, output = doctor(app)
        finally:
            worker.register_death()
        assert code == 0, output
        assert rows["workers"][0] == "ok"
        assert rows["scheduler"][0] == "ok"


def test_refused_mitto_credentials_and_an_old_api_version_fail(make_app, fake_mitto):
    app = make_app(**{**mitto_config(fake_mitto), "MITTO_API_KEY": "wrong-key"}, SHOPIFY_API_VERSION="2023-01")
    with app.app_context():
        code, rows, output = doctor(app)
    assert code == 1
    assert rows["mitto"][0] == "FAIL"
    assert "credentials refused" in output
    assert "no longer supported" in output
    assert "wrong-key" not in output
