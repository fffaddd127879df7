"""The intake's signal to processing (webhook_inbox.py): one drain job per burst, a shop's
events in arrival order, nothing lost when a drain hands over, a handler fails or Redis is
flushed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select, update

from jobs.housekeeping import requeue_unprocessed_webhook_events
from shopify_app.extensions import db, redis_ext
from shopify_app.models import WebhookEvent, WebhookStatus
from shopify_app.services.shops.shops import upsert_demo_shop
from shopify_app.services.webhooks import webhook_inbox, webhook_intake

from .conftest import settle_jobs
from .shopify_signing import webhook_request
from .test_jobs import run_burst_worker

SHOP = "alpha.myshopify.com"
TOPIC = "customers/update"
DRAIN = "jobs.webhooks.drain_webhook_inbox"


@pytest.fixture
def app(make_app):
    app = make_app(QUEUE_ASYNC=True)
    with app.app_context():
        upsert_demo_shop(domain=SHOP)
        db.session.commit()
        yield app


@pytest.fixture
def seen(monkeypatch) -> list[int]:
    """The `n` of every payload the topic's handler ran for, in order."""
    order: list[int] = []
    monkeypatch.setitem(webhook_intake.HANDLERS, TOPIC, lambda *, shop, payload, event: order.append(payload["n"]))
    return order


def post(app, n: int) -> None:
    response = app.test_client().post("/webhooks/shopify", **webhook_request(TOPIC, {"n": n}, webhook_id=f"wh-{n}"))
    assert response.status_code == 200, response.get_json()


def queued() -> list[str]:
    return [job.func_name for job in redis_ext.queue("webhooks").jobs]


def statuses() -> list[WebhookStatus]:
    db.session.expire_all()
    return list(db.session.scalars(select(WebhookEvent.status).order_by(WebhookEvent.id)))


def flag_is_up() -> bool:
    return bool(redis_ext.client().exists(webhook_inbox.keys(webhook_inbox.partition_of(SHOP))[1]))


def test_a_burst_is_one_drain_job_processed_in_arrival_order(app, seen):
    for n in range(12):
        post(app, n)
    assert queued() == [DRAIN]  # one job for the burst, not one per event
    assert webhook_inbox.pending(webhook_inbox.partition_of(SHOP)) == 12
    run_burst_worker()
    assert seen == list(range(12))
    assert statuses() == [WebhookStatus.PROCESSED] * 12
    assert webhook_inbox.pending(webhook_inbox.partition_of(SHOP)) == 0
    assert not flag_is_up()
    post(app, 12)  # the inbox drained: the next event starts a new drain
    assert queued() == [DRAIN]
    run_burst_worker()
    assert seen == list(range(13))


def test_an_event_signalled_while_a_drain_runs_is_processed_by_that_drain(app, monkeypatch):
    late = webhook_intake.record_event(
        shop_domain=SHOP, topic=TOPIC, webhook_id="late", event_id=None, api_version=None, body=b'{"n": 99}'
    )
    order: list[int] = []

    def handler(*, shop, payload, event):
        order.append(payload["n"])
        if payload["n"] == 0:
            webhook_inbox.signal(late.event_id, SHOP)  # as a request would, mid-drain
            assert queued() == []  # the flag is up: no second drain

    monkeypatch.setitem(webhook_intake.HANDLERS, TOPIC, handler)
    post(app, 0)
    run_burst_worker()
    assert order == [0, 99]
    assert statuses() == [WebhookStatus.PROCESSED, WebhookStatus.PROCESSED]
    assert not flag_is_up()


def test_a_failing_event_is_retried_as_its_own_job_and_the_rest_go_on(app, monkeypatch):
    order: list[int] = []

    def handler(*, shop, payload, event):
        if payload["n"] == 1:
            raise ConnectionError("Shopify unreachable")
        order.append(payload["n"])

    monkeypatch.setitem(webhook_intake.HANDLERS, TOPIC, handler)
    for n in range(3):
        post(app, n)
    run_burst_worker()
    assert order == [0, 2]
    assert statuses() == [WebhookStatus.PROCESSED, WebhookStatus.RECEIVED, WebhookStatus.PROCESSED]
    retry = ScheduledJobRegistry(queue=redis_ext.queue("webhooks"))
    assert [redis_ext.queue("webhooks").fetch_job(i).func_name for i in retry.get_job_ids()] == [
        "jobs.webhooks.process_webhook_event"
    ]
    monkeypatch.setitem(webhook_intake.HANDLERS, TOPIC, lambda *, shop, payload, event: order.append(payload["n"]))
    settle_jobs(app)
    assert order == [0, 2, 1]
    assert statuses() == [WebhookStatus.PROCESSED] * 3


def test_a_drain_past_its_time_hands_over_to_a_new_job(app, seen):
    for n in range(3):
        post(app, n)
    redis_ext.queue("webhooks").empty()  # run the drain by hand instead
    partition = webhook_inbox.partition_of(SHOP)
    processed = webhook_inbox.drain(partition, lambda id_: webhook_intake.process_event(event_id=id_), seconds=0)
    assert processed == 1
    assert seen == [0]
    assert queued() == [DRAIN]
    assert flag_is_up()
    run_burst_worker()
    assert seen == [0, 1, 2]
    assert not flag_is_up()


def test_events_recorded_before_redis_was_flushed_are_processed_by_the_sweep(app, seen):
    for n in range(3):
        post(app, n)
    redis_ext.client().flushdb()  # the inbox, the flag and the drain job are gone
    run_burst_worker()
    assert seen == []
    assert statuses() == [WebhookStatus.RECEIVED] * 3
    db.session.execute(update(WebhookEvent).values(received_at=datetime.now(UTC) - timedelta(minutes=30)))
    db.session.commit()
    assert requeue_unprocessed_webhook_events() == 3
    run_burst_worker()
    assert sorted(seen) == [0, 1, 2]
    assert statuses() == [WebhookStatus.PROCESSED] * 3
    post(app, 3)  # the flag went with the flush: a new event starts a drain again
    run_burst_worker()
    assert seen[-1] == 3


def test_shops_spread_over_partitions():
    domains = [f"shop-{n}.myshopify.com" for n in range(200)]
    used = {webhook_inbox.partition_of(domain) for domain in domains}
    assert used == set(range(webhook_inbox.PARTITIONS))
    assert all(webhook_inbox.partition_of(d) == webhook_inbox.partition_of(d) for d in domains)
