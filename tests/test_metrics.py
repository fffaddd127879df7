"""/metrics: the counters move with the traffic, carry no shop data, honour METRICS_TOKEN, and
aggregate across processes in multiprocess mode."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

from prometheus_client.parser import text_string_to_metric_families

from .conftest import mitto_config, settle_jobs, shop_ready_to_send
from .payloads import payload
from .shopify_signing import webhook_request


def samples(client, **headers) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200
    result = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            result[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return result


def value(scraped, metric: str, **labels: str) -> float:
    return scraped.get((metric, tuple(sorted(labels.items()))), 0.0)


def test_traffic_moves_the_counters_and_no_shop_data_is_a_label(make_app, fake_mitto):
    app = make_app(**mitto_config(fake_mitto))
    with app.app_context():
        client = app.test_client()
        before = samples(client)
        api, shop = shop_ready_to_send(app, recipients=2, credits=10)
        api.get("/api/shop")
        campaign = api.post("/api/campaigns", json={"name": "C", "body": "Hello"}).get_json()
        api.post(f"/api/campaigns/{campaign['id']}/launch")
        settle_jobs(app)
        client.post("/webhooks/shopify", **webhook_request("orders/create", payload("orders/create")))
        settle_jobs(app)
        after = samples(client)
        route = {"route": "/api/shop", "method": "GET", "status": "200"}
        assert value(after, "http_requests_total", **route) == value(before, "http_requests_total", **route) + 1
        launch = {"route": "/api/campaigns/<int:campaign_id>/launch", "method": "POST", "status": "200"}
        assert value(after, "http_requests_total", **launch) > value(before, "http_requests_total", **launch)
        assert value(after, "messages_total", outcome="sent") >= value(before, "messages_total", outcome="sent") + 2
        ok = {"operation": "bulk", "result": "ok"}
        assert value(after, "provider_requests_total", **ok) > value(before, "provider_requests_total", **ok)
        recorded = {"topic": "orders/create", "outcome": "recorded"}
        assert value(after, "webhooks_total", **recorded) == value(before, "webhooks_total", **recorded) + 1
        assert value(after, "circuit_breaker_state", name="mitto") == 0
        job = {"job": "jobs.campaigns.send_batch", "outcome": "succeeded"}
        assert value(after, "jobs_total", **job) > value(before, "jobs_total", **job)
        assert ("queue_depth", (("queue", "campaigns"),)) in after
        text = client.get("/metrics").get_data(as_text=True)
        assert shop.domain not in text
        assert "alpha" not in text
        assert not re.search(r"\+?1415555\d{4}", text)


def test_a_metrics_token_is_required_when_configured(make_app):
    app = make_app(METRICS_TOKEN="scrape-token-0123456789")
    client = app.test_client()
    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert refused.get_json()["error"]["code"] == "metrics_token_required"
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer scrape-token-0123456789"}).status_code == 200


def test_multiprocess_mode_aggregates_what_other_processes_counted(tmp_path, migrated_database):
    """One process serves three requests and exits; another scrapes and sees them."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    env.pop("REDIS_URL", None)
    script = textwrap.dedent(
        f"""
        import sys
        from tests.conftest import base_test_config
        from shopify_app import create_app
        app = create_app(base_test_config({migrated_database!r}, REDIS_URL=None))
        client = app.test_client()
        if sys.argv[1] == "serve":
            for _ in range(3):
                assert client.get("/health").status_code == 200
        else:
            print(client.get("/metrics").get_data(as_text=True))
        """
    )
    subprocess.run([sys.executable, "-c", script, "serve"], env=env, check=True, timeout=60)
    scraped = subprocess.run(
        [sys.executable, "-c", script, "scrape"], env=env, check=True, timeout=60, capture_output=True, text=True
    ).stdout
    assert list(tmp_path.iterdir())  # the serving process wrote its samples to the directory
    assert re.search(r'http_requests_total\{method="GET",route="/health",status="200"\} 3\.0', scraped)


def test_the_mitto_callbacks_are_labelled_by_route_never_by_their_secret(make_app):
    secret = "mitto-path-secret-0123456789abcdef"
    client = make_app(MITTO_WEBHOOK_SECRET=secret).test_client()
    client.post(f"/mitto/dlr/{secret}", json=[])
    client.post(f"/mitto/inbound/{secret}-wrong", json={})
    scraped = samples(client)
    assert value(scraped, "http_requests_total", route="/mitto/dlr/<secret>", method="POST", status="202") >= 1
    assert value(scraped, "http_requests_total", route="/mitto/inbound/<secret>", method="POST", status="404") >= 1
    assert secret not in client.get("/metrics").get_data(as_text=True)
