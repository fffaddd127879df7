from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from shopify_app.extensions import db
from shopify_app.models import Shop, WebhookEvent, WebhookStatus
from shopify_app.services.shops.shops import upsert_demo_shop
from shopify_app.services.webhooks import webhook_intake

from .shopify_signing import webhook_request
from .test_jobs import drain_if_async

SHOP = "alpha.myshopify.com"


@pytest.fixture
def shop(app) -> Shop:
    shop = upsert_demo_shop(domain=SHOP)
    shop.access_token_ciphertext = "v1.k.token"
    shop.refresh_token_ciphertext = "v1.k.refresh"
    db.session.commit()
    return shop


def events() -> list[WebhookEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(WebhookEvent).order_by(WebhookEvent.id)))


def test_published_shopify_hmac_vector_is_accepted(make_app):
    app = make_app(SHOPIFY_API_SECRET="test_secret_key")
    response = app.test_client().post(
        "/webhooks/shopify",
        data=b'{"foo": "bar"}',
        headers={
            "X-Shopify-Hmac-Sha256": "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=",
            "X-Shopify-Topic": "unknown/topic",
            "X-Shopify-Shop-Domain": SHOP,
            "X-Shopify-Webhook-Id": "vector-1",
        },
    )
    assert response.status_code == 200, response.get_json()


def test_valid_webhook_is_recorded_processed_and_acknowledged(app, client, shop):
    response = client.post("/webhooks/shopify", **webhook_request("app/uninstalled", {"id": 1, "domain": SHOP}))
    assert response.status_code == 200
    assert response.get_json() == {"status": "accepted"}
    drain_if_async(app)
    [event] = events()
    assert (event.topic, event.shop_id, event.status) == ("app/uninstalled", shop.id, WebhookStatus.PROCESSED)
    assert event.payload_ciphertext is None  # PII dropped once processed
    assert event.event_id
    assert event.api_version == "2026-10"
    db.session.refresh(shop)
    assert shop.uninstalled_at is not None
    assert shop.access_token_ciphertext is None
    assert shop.refresh_token_ciphertext is None


def test_replayed_webhook_is_200_and_processed_once(app, client, shop):
    request = webhook_request("app/scopes_update", {"current": ["read_orders"]}, webhook_id="same-id")
    assert client.post("/webhooks/shopify", **request).get_json() == {"status": "accepted"}
    drain_if_async(app)
    replay = client.post("/webhooks/shopify", **request)
    assert replay.status_code == 200
    assert replay.get_json() == {"status": "duplicate"}
    drain_if_async(app)
    [event] = events()
    assert event.attempts == 1


def test_racing_replays_record_one_event(make_app, shop):
    app = make_app()
    request = webhook_request("orders/create", {"id": 9}, webhook_id="race-id")
    barrier = threading.Barrier(4)
    statuses: list[str] = []

    def deliver() -> None:
        client = app.test_client()
        barrier.wait()
        statuses.append(client.post("/webhooks/shopify", **request).get_json()["status"])

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == ["accepted", "duplicate", "duplicate", "duplicate"]
    assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 1


def test_wrong_hmac_is_401_and_nothing_is_recorded(client, shop):
    request = webhook_request("app/uninstalled", {"id": 1}, secret="another-app-secret-0123456789abcdef")
    response = client.post("/webhooks/shopify", **request)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_hmac"
    assert events() == []


def test_missing_hmac_is_401(client, shop):
    request = webhook_request("app/uninstalled", {"id": 1})
    del request["headers"]["X-Shopify-Hmac-Sha256"]
    assert client.post("/webhooks/shopify", **request).status_code == 401


def test_tampered_body_is_401(client, shop):
    request = webhook_request("app/uninstalled", {"id": 1})
    request["data"] = request["data"].replace(b"1", b"2")
    assert client.post("/webhooks/shopify", **request).status_code == 401


def test_previous_secret_is_accepted_during_rotation(make_app):
    old_secret = "old-shopify-api-secret-0123456789abcdef012"
    app = make_app(SHOPIFY_API_SECRET_PREVIOUS=old_secret)
    response = app.test_client().post("/webhooks/shopify", **webhook_request("shop/update", {}, secret=old_secret))
    assert response.status_code == 200


@pytest.mark.parametrize("header", ["X-Shopify-Topic", "X-Shopify-Shop-Domain", "X-Shopify-Webhook-Id"])
def test_missing_required_header_is_400(client, header):
    request = webhook_request("shop/update", {})
    del request["headers"][header]
    response = client.post("/webhooks/shopify", **request)
    assert response.status_code == 400
    assert response.get_json()["error"]["details"] == {"headers": [header]}


def test_invalid_shop_header_is_400(client):
    response = client.post("/webhooks/shopify", **webhook_request("shop/update", {}, shop="evil.com"))
    assert response.status_code == 400


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"\xff\xfe"])
def test_body_that_is_not_a_json_object_is_400(client, body):
    response = client.post("/webhooks/shopify", **webhook_request("shop/update", None, body=body))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_json"
    assert events() == []


def test_get_is_405(client):
    assert client.get("/webhooks/shopify").status_code == 405


def test_unknown_topic_is_recorded_and_acknowledged(app, client):
    response = client.post("/webhooks/shopify", **webhook_request("carts/create", {"id": "c1"}))
    assert response.status_code == 200
    drain_if_async(app)
    [event] = events()
    assert event.shop_id is None  # unknown shops are recorded too
    assert event.status == WebhookStatus.PROCESSED


def test_compliance_webhook_naming_another_shop_is_401(client, shop):
    payload = {"shop_id": 1, "shop_domain": "other.myshopify.com"}
    response = client.post("/webhooks/shopify", **webhook_request("shop/redact", payload))
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "shop_mismatch"
    assert events() == []


def test_payload_is_stored_encrypted_until_processed(app, shop):
    recorded = webhook_intake.record_event(
        shop_domain=SHOP,
        topic="customers/create",
        webhook_id="enc-1",
        event_id=None,
        api_version=None,
        body=b'{"phone": "+14155550142", "email": "shopper@example.com"}',
    )
    event = db.session.get(WebhookEvent, recorded.event_id)
    assert "5550142" not in event.payload_ciphertext
    assert "shopper" not in event.payload_ciphertext
    assert event.payload_ciphertext.startswith("v1.")


def test_a_failing_handler_keeps_the_event_for_retry_then_parks_it(app, shop, monkeypatch):
    def explode(**_kwargs):
        raise RuntimeError("handler bug")

    monkeypatch.setitem(webhook_intake.HANDLERS, "shop/update", explode)
    recorded = webhook_intake.record_event(
        shop_domain=SHOP, topic="shop/update", webhook_id="fail-1", event_id=None, api_version=None, body=b"{}"
    )
    for attempt in range(1, webhook_intake.MAX_ATTEMPTS + 1):
        with pytest.raises(RuntimeError):
            webhook_intake.process_event(event_id=recorded.event_id)
        [event] = events()
        assert event.attempts == attempt
        assert event.error == "RuntimeError"
    assert event.status == WebhookStatus.FAILED
    assert webhook_intake.process_event(event_id=recorded.event_id) == "skipped"


def test_unprocessed_events_are_requeued_by_housekeeping(app, shop, monkeypatch):
    from jobs.housekeeping import requeue_unprocessed_webhook_events

    old = datetime.now(UTC) - timedelta(minutes=30)
    db.session.add(
        WebhookEvent(shop_domain=SHOP, topic="app/uninstalled", webhook_id="lost-1", shop_id=shop.id, received_at=old)
    )
    db.session.commit()
    assert requeue_unprocessed_webhook_events() == 1
    drain_if_async(app)
    [event] = events()
    assert event.status == WebhookStatus.PROCESSED
    db.session.refresh(shop)
    assert shop.uninstalled_at is not None
