"""SIGTERM to a real worker process: the job in progress finishes, then the worker exits cleanly
(RQ's warm shutdown); nothing is left half done or started twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from rq.job import JobStatus

from shopify_app.extensions import redis_ext
from shopify_app.queueing import enqueue

needs_real_redis = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a Redis shared with the worker")


def sigterm_once_started(app, project_root, keys: list[str], *options: str) -> None:
    """Start `flask worker -q default *options`, send SIGTERM once every job in `keys` has
    started, and check that the worker then exits cleanly."""
    env = {
        **os.environ,
        "DATABASE_URL": app.config["DATABASE_URL"],
        "REDIS_URL": app.config["REDIS_URL"],
        "SHOPIFY_API_SECRET": app.config["SHOPIFY_API_SECRET"],
    }
    command = [sys.executable, "-m", "flask", "--app", "shopify_app", "worker", "-q", "default", *options]
    worker = subprocess.Popen(
        command, cwd=project_root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while any(redis_ext.client().get(key) != b"started" for key in keys):
            assert time.monotonic() < deadline, "the jobs never started"
            assert worker.poll() is None, worker.stderr.read()[-2000:]
            time.sleep(0.05)
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert code == 0, worker.stderr.read()[-2000:]


@needs_real_redis
@pytest.mark.parametrize("worker_class", ["simple", "fork"])
def test_sigterm_lets_the_running_job_finish_then_exits(app, project_root, worker_class):
    key = f"graceful:{worker_class}"
    job = enqueue("default", "tests.job_probes.slow_marker", key, 2.0)
    second = enqueue("default", "tests.job_probes.slow_marker", key + ":next", 0.1)
    sigterm_once_started(app, project_root, [key], "--worker-class", worker_class)
    assert redis_ext.client().get(key) == b"finished"
    assert job.get_status(refresh=True) == JobStatus.FINISHED
    assert second.get_status(refresh=True) == JobStatus.QUEUED  # not started: left for the next worker


@needs_real_redis
@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="threaded: PostgreSQL")
def test_sigterm_lets_a_threaded_worker_finish_every_job_in_flight(app, project_root):
    """Both threads busy when the signal comes: both jobs finish, the third is never taken."""
    keys = ["graceful:threaded:a", "graceful:threaded:b"]
    running = [enqueue("default", "tests.job_probes.slow_marker", key, 2.0) for key in keys]
    waiting = enqueue("default", "tests.job_probes.slow_marker", "graceful:threaded:c", 0.1)
    sigterm_once_started(app, project_root, keys, "--worker-class", "threaded", "--threads", "2")
    assert [redis_ext.client().get(key) for key in keys] == [b"finished", b"finished"]
    assert [job.get_status(refresh=True) for job in running] == [JobStatus.FINISHED] * 2
    assert waiting.get_status(refresh=True) == JobStatus.QUEUED


def test_gunicorn_finishes_the_request_in_flight_on_sigterm(tmp_path, project_root):
    """gunicorn.conf.py as deployed: SIGTERM during a 2 s request, the request still answers."""
    import threading
    import urllib.request

    from .processes import free_port, wait_for_http

    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'g.sqlite3'}",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "APP_ENV": "development",
    }
    env.pop("REDIS_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "tests.slow_wsgi:app"],
        cwd=project_root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    answers: list[str] = []
    try:
        assert wait_for_http(f"http://127.0.0.1:{port}/health", timeout=30) is not None

        def request() -> None:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/__slow", timeout=15) as response:
                answers.append(response.read().decode())

        thread = threading.Thread(target=request)
        thread.start()
        time.sleep(0.5)  # the request is in the worker now
        server.send_signal(signal.SIGTERM)
        thread.join(timeout=20)
        code = server.wait(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    assert answers == ["finished"]
    assert code == 0, server.stderr.read()[-2000:]
