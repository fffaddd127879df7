"""Operator alerts: a Mitto outage opens the breaker and posts exactly one alert per cool-down;
failed jobs past the threshold and failed campaigns alert too; no shop or shopper data."""

from __future__ import annotations

import json

import pytest
from pytest_httpserver import HTTPServer
from rq.job import Job

from shopify_app.extensions import redis_ext
from shopify_app.services.ops import alerts
from shopify_app.services.sending.plan import breaker

from .conftest import mitto_config, settle_jobs, shop_ready_to_send


@pytest.fixture
def slack(httpserver: HTTPServer) -> HTTPServer:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    return httpserver


def posted(server: HTTPServer) -> list[str]:
    return [json.loads(request.data)["text"] for request, _ in server.log]


def test_a_mitto_outage_sends_one_alert_per_cooldown(make_app, fake_mitto, slack):
    app = make_app(
        **mitto_config(fake_mitto, SMS_BATCH_SIZE=2),
        ALERT_WEBHOOK_URL=slack.url_for("/hook"),
        ALERT_COOLDOWN_SECONDS=600,
    )
    with app.app_context():
        api, shop = shop_ready_to_send(app, recipients=8, credits=100)
        fake_mitto.fail_next(503, times=100)
        for n in range(2):  # two campaigns, many failing batches, the breaker opening more than once
            campaign = api.post("/api/campaigns", json={"name": f"C{n}", "body": "Hi"}).get_json()
            api.post(f"/api/campaigns/{campaign['id']}/launch")
            settle_jobs(app, rounds=6, strict=False)
            circuit = breaker()
            circuit.record_success()
            for _ in range(circuit.threshold):
                circuit.record_failure()  # opened again within the cool-down
        texts = posted(slack)
        assert len(texts) == 1
        assert "mitto circuit breaker opened" in texts[0]
        assert shop.domain not in texts[0]
        redis_ext.client().delete(alerts.KEY.format(key="circuit:mitto"))  # the cool-down passed
        breaker().record_success()
        for _ in range(breaker().threshold):
            breaker().record_failure()
        assert len(posted(slack)) == 2


def test_failed_jobs_past_the_threshold_alert_once(make_app, slack):
    app = make_app(ALERT_WEBHOOK_URL=slack.url_for("/hook"), ALERT_FAILED_JOBS_THRESHOLD=2)
    with app.app_context():
        queue = redis_ext.queue("webhooks")
        for _ in range(2):
            job = Job.create("tests.job_probes.always_fails", connection=redis_ext.client(), origin="webhooks")
            job.save()
            queue.failed_job_registry.add(job, ttl=3600, exc_string="RuntimeError")
        assert alerts.check_failed_jobs()["webhooks"] == 2
        alerts.check_failed_jobs()
        texts = posted(slack)
        assert texts == ["SMS Blossom: 2 failed jobs parked on the webhooks queue (`flask jobs failed`)."]


def test_without_a_webhook_url_nothing_is_sent(make_app, slack):
    app = make_app()
    with app.app_context():
        assert alerts.alert("x", "y") is False
    assert posted(slack) == []


def test_an_unreachable_alert_endpoint_breaks_nothing(make_app):
    app = make_app(ALERT_WEBHOOK_URL="http://127.0.0.1:9/hook")
    with app.app_context():
        assert alerts.alert("circuit:mitto", "text") is False


def test_a_scheduled_campaign_that_fails_alerts(make_app, slack):
    from datetime import timedelta

    from shopify_app.models.types import utcnow
    from shopify_app.services.campaigns.campaigns import launch_due_scheduled

    app = make_app(ALERT_WEBHOOK_URL=slack.url_for("/hook"))
    with app.app_context():
        api, _shop = shop_ready_to_send(app, recipients=3, credits=1)  # 1 credit for 3: the launch fails
        campaign = api.post("/api/campaigns", json={"name": "Later", "body": "Hi"}).get_json()
        soon = (utcnow() + timedelta(seconds=1)).isoformat()
        assert api.post(f"/api/campaigns/{campaign['id']}/launch", json={"send_at": soon}).status_code == 200
        launch_due_scheduled(now=utcnow() + timedelta(minutes=1))
        assert api.get(f"/api/campaigns/{campaign['id']}").get_json()["state"] == "failed"
    assert posted(slack) == [f"SMS Blossom: campaign {campaign['id']} failed (insufficient_credits)."]
