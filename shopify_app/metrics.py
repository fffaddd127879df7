"""Prometheus metrics, scraped at `/metrics` (behind `METRICS_TOKEN` when it is set).

Under gunicorn and for RQ workers set `PROMETHEUS_MULTIPROC_DIR` (an empty directory shared by
the processes of one host, wiped at deploy): every process writes its samples there and a
scrape aggregates them (gunicorn.conf.py marks dead workers). Without it the default
in-process registry is used (the embedded default, tests).

Label values are bounded and carry no shop or shopper data: routes are URL rules
(`/api/campaigns/<int:campaign_id>`), never paths; no label holds a shop domain or id.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, current_app, g, request
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily

from .extensions import redis_ext

HTTP_REQUESTS = Counter("http_requests_total", "HTTP requests answered", ["route", "method", "status"])
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WEBHOOKS = Counter("webhooks_total", "Shopify webhooks by topic and outcome", ["topic", "outcome"])
MESSAGES = Counter("messages_total", "Messages by the outcome of a send attempt", ["outcome"])
PROVIDER_CALLS = Counter("provider_requests_total", "Calls to the SMS provider", ["operation", "result"])
PROVIDER_LATENCY = Histogram(
    "provider_request_duration_seconds",
    "SMS provider call latency",
    ["operation"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
RATE_LIMIT_WAITS = Counter("rate_limiter_waits_total", "Send batches that had to wait for tokens")
RATE_LIMIT_WAIT_SECONDS = Counter("rate_limiter_wait_seconds_total", "Seconds send batches were told to wait")
CIRCUIT_STATE = Gauge(
    "circuit_breaker_state",
    "Provider circuit breaker as last seen: 0 closed, 1 half-open, 2 open",
    ["name"],
    multiprocess_mode="mostrecent",
)
JOBS = Counter("jobs_total", "Background jobs run", ["job", "outcome"])
JOB_DURATION = Histogram(
    "job_duration_seconds",
    "Background job run time",
    ["job"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)


class QueueDepthCollector:
    """Jobs waiting per RQ queue, read from Redis at scrape time (no process has to push it)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("queue_depth", "Jobs waiting in each queue", labels=["queue"])
        failed = GaugeMetricFamily("failed_jobs", "Jobs parked in each queue's failed registry", labels=["queue"])
        try:
            for queue in redis_ext.queues():
                family.add_metric([queue.name], float(queue.count))
                failed.add_metric([queue.name], float(queue.failed_job_registry.count))
        except Exception:  # a scrape must not fail because Redis is down; readiness reports that
            return
        yield family
        yield failed


QUEUES = QueueDepthCollector()
REGISTRY.register(QUEUES)  # read at scrape time, in the scraping request's app context


def registry() -> CollectorRegistry:
    """The default registry in one process; the samples of every process in multiprocess mode."""
    if not current_app.config.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(QUEUES)
    return registry


def init_metrics(app: Flask) -> None:
    """Time and count every request (the scrape itself is blueprints/metrics.py)."""

    @app.before_request
    def start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def observe(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        if route != "/metrics":
            HTTP_REQUESTS.labels(route, request.method, str(response.status_code)).inc()
            started = getattr(g, "metrics_started", None)
            if started is not None:
                HTTP_LATENCY.labels(route, request.method).observe(time.perf_counter() - started)
        return response


def observe_job(name: str, started: float, outcome: str) -> None:
    JOBS.labels(name, outcome).inc()
    JOB_DURATION.labels(name).observe(time.perf_counter() - started)


def count_messages(outcome: dict[str, Any]) -> None:
    for key in ("sent", "failed", "skipped", "deferred", "unknown"):
        if outcome.get(key):
            MESSAGES.labels(key).inc(outcome[key])
