"""Every job the code names resolves, in a fresh interpreter, to a `@job` declared on the queue
it is enqueued on; and no job's dotted name is spelled outside shopify_app/job_names.py.

A worker (a plain `rq worker` included) knows a job only by the dotted name stored in Redis: a
name that does not import, or a job moved to another queue than its enqueuers use, fails only
when the job runs. Each job module gets an interpreter of its own whose first import is the
name itself, as in a worker that has run nothing yet.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import subprocess
import sys
from collections import defaultdict
from datetime import timedelta

import pytest
from rq.registry import ScheduledJobRegistry

import jobs
from jobs.schedule import PERIODIC_JOBS, PeriodicJob
from shopify_app import job_names
from shopify_app.config import QUEUE_NAMES
from shopify_app.extensions import redis_ext
from shopify_app.queueing import JobFunction, JobRef

from .conftest import settle_jobs
from .job_probes import create_shop

ANY_QUEUE = "*"
# Periodic entries that put their job on another queue than its own, on purpose.
QUEUE_OVERRIDES = {"apply-delivery-reports": "housekeeping"}  # on demand it runs on `default`
PRODUCT_CODE = ("shopify_app", "jobs", "bench")
JOB_NAME = re.compile(r"""["'](jobs\.\w+\.\w+)["']""")

RESOLVE = """
import importlib, sys

failed, resolved = [], {}
for argument in sys.argv[1:]:
    name, _, queue = argument.partition("=")
    module, _, attribute = name.rpartition(".")
    try:
        resolved[name] = (getattr(importlib.import_module(module), attribute), queue)
    except Exception as exc:
        failed.append(f"{name}: {type(exc).__name__}: {exc}")

from rq.utils import import_attribute
from shopify_app.queueing import JobFunction

for name, (target, queue) in resolved.items():
    if not isinstance(target, JobFunction):
        failed.append(f"{name}: not a @job but {type(target).__name__}")
    elif target.name != name or import_attribute(name) is not target:
        failed.append(f"{name}: resolves to the job named {target.name}")
    elif queue != "*" and target.queue != queue:
        failed.append(f"{name}: declared on {target.queue!r}, enqueued on {queue!r}")
print("\\n".join(failed))
"""


def declared_jobs() -> list[JobFunction]:
    found: dict[str, JobFunction] = {}
    for info in pkgutil.walk_packages(jobs.__path__, "jobs."):
        for value in vars(importlib.import_module(info.name)).values():
            if isinstance(value, JobFunction):
                found[value.name] = value
    return [found[name] for name in sorted(found)]


def references() -> list[JobRef]:
    return [value for value in vars(job_names).values() if isinstance(value, JobRef)]


def named_jobs() -> list[tuple[str, str]]:
    """(dotted name, queue) for every way the code names a job: the references, the schedule,
    and every job declared in jobs/ under its own name."""
    named = [(ref.name, ref.queue) for ref in references()]
    named += [(periodic.func, _expected_queue(periodic)) for periodic in PERIODIC_JOBS]
    named += [(declared.name, declared.queue) for declared in declared_jobs()]
    return sorted(set(named))


def _expected_queue(periodic: PeriodicJob) -> str:
    return ANY_QUEUE if periodic.name in QUEUE_OVERRIDES else periodic.queue


def test_every_named_job_resolves_to_a_job_on_its_queue_in_a_fresh_interpreter(project_root):
    by_module: dict[str, list[str]] = defaultdict(list)
    for name, queue in named_jobs():
        by_module[name.rpartition(".")[0]].append(f"{name}={queue}")
    running = [
        subprocess.Popen(
            [sys.executable, "-c", RESOLVE, *arguments],
            cwd=project_root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for arguments in by_module.values()
    ]
    failures = []
    for process in running:
        out, err = process.communicate(timeout=300)
        failures += [line for line in out.splitlines() if line] or ([err.strip()[-2000:]] if process.returncode else [])
    assert failures == []
    assert len(by_module) >= 10  # the walk found the job modules


def test_the_registry_names_each_job_once_and_the_schedule_uses_real_queues():
    names = [ref.name for ref in references()]
    assert len(names) == len(set(names))
    assert {ref.name for ref in references()} <= {declared.name for declared in declared_jobs()}
    for periodic in PERIODIC_JOBS:
        assert periodic.queue in QUEUE_NAMES, periodic.name
        assert QUEUE_OVERRIDES.get(periodic.name, periodic.queue) == periodic.queue, periodic.name


def test_no_job_name_is_spelled_outside_the_registry(project_root):
    spelled: dict[str, list[str]] = defaultdict(list)
    for package in PRODUCT_CODE:
        for path in sorted((project_root / package).rglob("*.py")):
            for name in JOB_NAME.findall(path.read_text(encoding="utf-8")):
                spelled[name].append(path.relative_to(project_root).as_posix())
    registry = "shopify_app/job_names.py"
    assert {name: places for name, places in spelled.items() if places != [registry]} == {}
    assert sorted(spelled) == sorted(ref.name for ref in references())


def test_a_reference_to_a_queue_that_does_not_exist_fails_at_import():
    with pytest.raises(ValueError, match="no queue named 'nightly'"):
        JobRef("jobs.housekeeping.cleanup_webhook_events", queue="nightly")


def test_a_job_runs_when_called_and_enqueues_itself_by_name_with_the_usual_guarantees(app):
    assert create_shop.name == "tests.job_probes.create_shop"
    assert create_shop.queue == "default"
    enqueued = create_shop.delay("by-delay.myshopify.com")
    assert enqueued.func_name == "tests.job_probes.create_shop"
    assert enqueued.origin == "default"
    assert "db_scope" in enqueued.meta  # the tenancy scope travels with it, as with enqueue()
    assert enqueued.retries_left == int(app.config["JOB_MAX_ATTEMPTS"]) - 1
    settle_jobs(app)
    assert isinstance(create_shop("direct.myshopify.com"), int)


def test_a_delayed_job_waits_in_the_scheduled_registry(app):
    enqueued = create_shop.delay("later.myshopify.com", delay=timedelta(seconds=30))
    assert enqueued.id in ScheduledJobRegistry(queue=redis_ext.queue("default")).get_job_ids()
