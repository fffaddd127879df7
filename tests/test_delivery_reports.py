"""Mitto delivery reports: both spellings, forward-only, unknown ids, batches, the poller."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from shopify_app.extensions import db
from shopify_app.models import DeliveryEvent, Message, MessageState

from .conftest import mitto_config, settle_jobs, shop_ready_to_send

SECRET = "dlr-path-secret-0123456789abcdef0123456789"


@pytest.fixture
def sent(make_app):
    """Three messages sent through the memory backend; returns (app, api, {provider id: message id})."""
    app = make_app(MITTO_WEBHOOK_SECRET=SECRET, SEND_RATE_PER_ACCOUNT=0, SEND_RATE_PER_SHOP=0)
    with app.app_context():
        api, _shop = shop_ready_to_send(app, recipients=3, credits=100)
        campaign = api.post("/api/campaigns", json={"name": "C", "body": "Hi"}).get_json()
        api.post(f"/api/campaigns/{campaign['id']}/launch")
        settle_jobs(app)
        ids = {m.provider_message_id: m.id for m in db.session.scalars(select(Message))}
        assert len(ids) == 3
        yield app, api, campaign["id"], ids


def post(app, body, secret=SECRET, **kwargs):
    response = app.test_client().post(f"/mitto/dlr/{secret}", json=body, **kwargs)
    settle_jobs(app)
    return response


def state_of(message_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Message, message_id).state.value


def test_a_wrong_or_unset_secret_is_404(sent, make_app):
    app, *_ = sent
    assert app.test_client().post("/mitto/dlr/guess", json={}).status_code == 404
    unconfigured = make_app(MITTO_WEBHOOK_SECRET=None)
    assert unconfigured.test_client().post("/mitto/dlr/anything", json={}).status_code == 404


def test_a_single_camel_case_report_delivers(sent):
    app, api, campaign_id, ids = sent
    provider_id, message_id = next(iter(ids.items()))
    response = post(app, {"messageId": provider_id, "deliveryStatus": "Delivered", "updatedAt": "2026-11-27T10:00:00Z"})
    assert response.status_code == 202
    assert state_of(message_id) == "delivered"
    counters = api.get(f"/api/campaigns/{campaign_id}").get_json()["counters"]
    assert (counters["delivered"], counters["sent"]) == (1, 2)


def test_an_array_in_both_spellings_and_any_case(sent):
    app, _api, _cid, ids = sent
    (p1, m1), (p2, m2), (p3, m3) = ids.items()
    body = [
        {"message_id": p1, "status": "DELIVERED"},
        {"messageId": p2, "deliveryStatus": "failure", "error": "EC_UNKNOWN_SUBSCRIBER", "description": "x"},
        {"messageId": p3, "deliveryStatus": "Expired", "extra": {"ignored": True}},
    ]
    assert post(app, body).status_code == 202
    assert [state_of(m) for m in (m1, m2, m3)] == ["delivered", "failed", "failed"]
    assert db.session.get(Message, m2).error_code == "EC_UNKNOWN_SUBSCRIBER"


def test_states_only_move_forward(sent):
    app, _api, _cid, ids = sent
    (p1, m1), (p2, m2), _ = ids.items()
    post(app, {"messageId": p1, "deliveryStatus": "Delivered"})
    post(app, [{"messageId": p1, "deliveryStatus": "Pending"}, {"messageId": p1, "deliveryStatus": "Failed"}])
    assert state_of(m1) == "delivered"
    post(app, {"messageId": p2, "deliveryStatus": "Failed"})
    post(app, {"messageId": p2, "deliveryStatus": "Delivered"})
    assert state_of(m2) == "failed"


def test_pending_and_unknown_statuses_change_nothing_but_are_recorded(sent):
    app, _api, _cid, ids = sent
    provider_id, message_id = next(iter(ids.items()))
    post(
        app,
        [
            {"messageId": provider_id, "deliveryStatus": "Buffered"},
            {"messageId": provider_id, "deliveryStatus": "Teleported"},
        ],
    )
    assert state_of(message_id) == "sent"
    results = [e.result for e in db.session.scalars(select(DeliveryEvent).order_by(DeliveryEvent.id))]
    assert results == ["no_change", "no_change"]


def test_duplicated_reports_are_harmless(sent):
    app, _api, _cid, ids = sent
    provider_id, message_id = next(iter(ids.items()))
    report = {"messageId": provider_id, "deliveryStatus": "Delivered"}
    post(app, [report, report])
    post(app, report)
    assert state_of(message_id) == "delivered"
    assert len(db.session.scalars(select(DeliveryEvent)).all()) == 3


def test_unknown_message_ids_are_recorded_and_ignored(sent):
    app, *_ = sent
    assert post(app, {"messageId": "not-ours", "deliveryStatus": "Delivered"}).status_code == 202
    [event] = db.session.scalars(select(DeliveryEvent)).all()
    assert (event.result, event.message_id) == ("unknown_message", None)


def test_a_report_is_matched_on_our_reference_when_the_provider_id_is_unknown(sent):
    """We send every message with `reference` = its id; a report carrying it back is applied to
    that message even when the provider's message id is one we never stored."""
    app, _api, _cid, ids = sent
    message_id = next(iter(ids.values()))
    report = {"messageId": "unknown-to-us", "reference": str(message_id), "deliveryStatus": "Delivered"}
    assert post(app, report).status_code == 202
    assert state_of(message_id) == "delivered"
    [event] = db.session.scalars(select(DeliveryEvent)).all()
    assert (event.message_id, event.reference, event.result) == (message_id, str(message_id), "delivered")


def test_a_reference_that_is_not_ours_falls_back_to_the_provider_id(sent):
    app, _api, _cid, ids = sent
    (p1, m1), (p2, m2), _ = ids.items()
    post(
        app,
        [
            {"messageId": p1, "reference": "not-a-message-id", "deliveryStatus": "Delivered"},
            {"messageId": p2, "reference": str(m1), "deliveryStatus": "Failed"},  # m1 is known by p1, not p2
        ],
    )
    assert (state_of(m1), state_of(m2)) == ("delivered", "failed")


@pytest.mark.parametrize("body", [b"not json", b'"a string"', b"42"])
def test_a_body_that_is_not_an_object_or_array_is_400(sent, body):
    app, *_ = sent
    response = app.test_client().post(f"/mitto/dlr/{SECRET}", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_body"


def test_no_valid_report_is_400_but_valid_ones_are_applied_beside_invalid(sent):
    app, _api, _cid, ids = sent
    assert post(app, [{"deliveryStatus": "Delivered"}, "junk"]).status_code == 400
    provider_id, message_id = next(iter(ids.items()))
    response = post(app, [{"deliveryStatus": "Delivered"}, {"messageId": provider_id, "status": "Delivered"}])
    assert response.status_code == 202
    assert response.get_json() == {"accepted": 1, "invalid": 1}
    assert state_of(message_id) == "delivered"


def test_an_empty_array_is_202(sent):
    app, *_ = sent
    assert post(app, []).status_code == 202


def test_the_poller_asks_mitto_about_messages_stuck_in_sent(make_app, fake_mitto):
    from shopify_app.clients.mitto import MittoClient, MittoSettings
    from shopify_app.models.types import utcnow
    from shopify_app.services.sending.delivery import poll_stale

    app = make_app(**mitto_config(fake_mitto))
    with app.app_context():
        api, _shop = shop_ready_to_send(app, recipients=1, credits=10)
        campaign = api.post("/api/campaigns", json={"name": "C", "body": "Hi"}).get_json()
        api.post(f"/api/campaigns/{campaign['id']}/launch")
        settle_jobs(app)
        [message] = db.session.scalars(select(Message)).all()
        message.sent_at = utcnow() - timedelta(hours=3)
        db.session.commit()
        fake_mitto.statuses[message.provider_message_id] = "Delivered"
        client = MittoClient(MittoSettings.from_config(app.config))
        assert poll_stale(client=client, older_than=timedelta(hours=2)) == {"delivered": 1}
        db.session.expire_all()
        assert db.session.get(Message, message.id).state == MessageState.DELIVERED


@pytest.mark.parametrize(("plan", "refunded"), [(None, 0), ("Starter", 1)])
def test_a_failed_delivery_is_refunded_once_when_the_plan_says_so(sent, plan, refunded):
    from shopify_app.models import Shop
    from shopify_app.services.billing import credits

    app, _api, _campaign_id, ids = sent
    shop = db.session.scalars(select(Shop)).one()
    shop.subscription_name, shop.subscription_status = plan, "ACTIVE" if plan else None
    db.session.commit()
    before = credits.balance(shop_id=shop.id)
    provider_id, message_id = next(iter(ids.items()))
    failure = {"messageId": provider_id, "deliveryStatus": "Undelivered"}
    post(app, [failure, failure])
    post(app, failure)  # replayed later: still one refund
    assert state_of(message_id) == "failed"
    assert credits.balance(shop_id=shop.id) == before + refunded
