"""The dead-letter rule (a job that always fails is parked after JOB_MAX_ATTEMPTS runs, with its
error, and never retried again) and the operator tools around it: CLI and /ops."""

from __future__ import annotations

import pytest
from rq.job import Job, JobStatus

from shopify_app.extensions import redis_ext
from shopify_app.queueing import enqueue
from shopify_app.services.ops import failed_jobs

from .conftest import settle_jobs

TOKEN = "operator-token-0123456789abcdef"


@pytest.fixture
def ops_app(make_app):
    app = make_app(QUEUE_ASYNC=True, JOB_MAX_ATTEMPTS=3, OPERATOR_TOKEN=TOKEN)
    with app.app_context():
        yield app


def park_one(app) -> Job:
    job = enqueue("default", "tests.job_probes.always_fails")
    settle_jobs(app, rounds=10, strict=False)
    return Job.fetch(job.id, connection=redis_ext.client())


def test_a_job_that_always_fails_is_parked_after_n_runs_with_its_error(ops_app):
    job = park_one(ops_app)
    assert job.get_status(refresh=True) == JobStatus.FAILED
    assert job.meta["runs"] == 3
    [parked] = failed_jobs.list_failed()
    assert (parked.id, parked.queue, parked.attempts) == (job.id, "default", 3)
    assert parked.func == "tests.job_probes.always_fails"
    assert parked.error == "RuntimeError: this job fails on purpose"
    settle_jobs(ops_app, rounds=5, strict=False)  # nothing brings it back by itself
    assert Job.fetch(job.id, connection=redis_ext.client()).meta["runs"] == 3


def test_operators_list_retry_and_discard_over_http(ops_app):
    job = park_one(ops_app)
    client = ops_app.test_client()
    assert client.get("/ops/jobs/failed").status_code == 401
    assert client.get("/ops/jobs/failed", headers={"Authorization": "Bearer wrong"}).status_code == 401
    auth = {"Authorization": f"Bearer {TOKEN}"}
    listed = client.get("/ops/jobs/failed", headers=auth).get_json()
    assert listed["count"] == 1
    assert listed["items"][0]["id"] == job.id
    assert client.post(f"/ops/jobs/failed/{job.id}/retry", headers=auth).get_json()["status"] == "requeued"
    assert job.get_status(refresh=True) == JobStatus.QUEUED
    settle_jobs(ops_app, rounds=10, strict=False)  # fails again, parked again
    assert client.delete(f"/ops/jobs/failed/{job.id}", headers=auth).get_json()["status"] == "discarded"
    assert client.get("/ops/jobs/failed", headers=auth).get_json()["count"] == 0
    assert client.delete("/ops/jobs/failed/nope", headers=auth).status_code == 404


def test_without_an_operator_token_ops_does_not_exist(make_app):
    assert make_app().test_client().get("/ops/jobs/failed").status_code == 404


def test_the_cli_lists_and_discards(ops_app):
    job = park_one(ops_app)
    runner = ops_app.test_cli_runner()
    listed = runner.invoke(args=["jobs", "failed"])
    assert job.id in listed.output
    assert "RuntimeError: this job fails on purpose" in listed.output
    assert "1 failed job(s)" in listed.output
    assert runner.invoke(args=["jobs", "discard"]).exit_code != 0  # ids or --all
    assert job.id in runner.invoke(args=["jobs", "discard", "--all"]).output
    assert "0 failed job(s)" in runner.invoke(args=["jobs", "failed"]).output
