"""POST /api/campaigns/<id>/test-send: the campaign's text, as a sample shopper would get it, to
the merchant's own phone, through the send path (services/test_sends.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shopify_app.extensions import db, redis_ext
from shopify_app.models import AuditLog, Campaign, CampaignKind, Contact, CreditLedger, LedgerKind, Message, TestSend
from shopify_app.services.contacts.contacts import ConsentChange, apply_consent, create_or_merge, parse_phone, suppress
from shopify_app.services.contacts.pii import phone_hash
from shopify_app.services.sending import batch as sending

from .conftest import ApiClient, install_shop, mitto_config, open_shop, quiet_hours_now, settle_jobs

MERCHANT = "+14155550123"
BODY = "Hi {{first_name}}, 20% off at {{shop_name}} today"


@pytest.fixture
def shop_app(make_app, fake_mitto):
    app = make_app(**mitto_config(fake_mitto, TEST_SENDS_PER_DAY=3))
    with app.app_context():
        api, shop = open_shop(app, credits=100)
        yield app, api, shop


def draft(api, body: str = BODY) -> int:
    response = api.post("/api/campaigns", json={"name": "Spring sale", "body": body})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def send_test(app, api, campaign_id: int, phone: str = MERCHANT, **headers: str):
    """The request, then every job it enqueued (a worker's, when Redis is configured)."""
    response = api.post(f"/api/campaigns/{campaign_id}/test-send", json={"phone": phone}, headers=headers)
    settle_jobs(app)
    return response


def latest(api, campaign_id: int) -> dict:
    """The campaign's newest test as GET .../test-sends answers it (after its send)."""
    response = api.get(f"/api/campaigns/{campaign_id}/test-sends")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"][0]


def texts(fake_mitto, phone: str = MERCHANT) -> list[str]:
    return [m["text"] for m in fake_mitto.received if m["destination"] == phone]


def test_a_draft_is_sent_to_the_merchant_as_a_shopper_would_get_it_and_charged(shop_app, fake_mitto):
    app, api, shop = shop_app
    campaign_id = draft(api)
    response = send_test(app, api, campaign_id)
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["state"] in ("queued", "sent")  # sent already when jobs run inline
    body = latest(api, campaign_id)
    assert body["id"] == response.get_json()["id"]
    assert body["state"] == "sent"
    assert body["phone"] == "+1******0123"
    assert (body["campaign_id"], body["segments"], body["credits"]) == (campaign_id, 1, 1)
    assert (body["daily_limit"], body["sent_today"]) == (3, 1)
    preview = api.post("/api/templates/preview", json={"body": BODY}).get_json()["text"]
    assert texts(fake_mitto) == [preview] == ["Hi Alex, 20% off at Alpha today Reply STOP to opt out"]
    # Charged through the ledger like any message: held, then debited.
    assert api.get("/api/billing").get_json()["balance"] == 99
    debit = db.session.scalars(select(CreditLedger).where(CreditLedger.kind == LedgerKind.DEBIT)).one()
    assert debit.message_id == body["message_id"]
    # A message of the hidden test carrier, no contact; the campaign itself is still a draft.
    message = db.session.get(Message, body["message_id"])
    carrier = db.session.get(Campaign, message.campaign_id)
    assert (carrier.kind, message.contact_id) == (CampaignKind.TEST, None)
    assert api.get(f"/api/campaigns/{campaign_id}").get_json()["state"] == "draft"
    assert [c["id"] for c in api.get("/api/campaigns").get_json()["items"]] == [campaign_id]
    assert db.session.scalars(select(Contact)).all() == []  # the merchant's phone is no subscriber
    # The test's record keeps the number sealed, never in clear.
    test = db.session.scalars(select(TestSend)).one()
    assert MERCHANT not in test.context_ciphertext
    assert test.phone_hash == phone_hash(MERCHANT, shop_id=shop.id)


def test_links_are_shortened_as_in_a_real_send(shop_app, fake_mitto):
    app, api, _shop = shop_app
    campaign_id = draft(api, "New in: https://alpha.myshopify.com/products/tee")
    assert send_test(app, api, campaign_id).status_code == 202
    [sent] = texts(fake_mitto)
    assert sent.startswith("Alpha: New in: https://app.example.test/r/")
    assert "myshopify" not in sent


def test_a_test_is_not_held_back_by_quiet_hours(shop_app, fake_mitto):
    app, api, _shop = shop_app
    quiet_hours_now(api)
    campaign_id = draft(api)
    send_test(app, api, campaign_id)
    assert latest(api, campaign_id)["state"] == "sent"
    assert len(texts(fake_mitto)) == 1


def test_a_retried_request_with_the_same_idempotency_key_sends_once(shop_app, fake_mitto):
    app, api, _shop = shop_app
    campaign_id = draft(api)
    first = send_test(app, api, campaign_id, **{"Idempotency-Key": "k-1"})
    again = send_test(app, api, campaign_id, **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 202
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["sent_today"] == 1
    assert len(texts(fake_mitto)) == 1


def test_past_the_daily_limit_is_429_and_the_count_survives_a_flushed_redis(shop_app, fake_mitto):
    app, api, _shop = shop_app
    campaign_id = draft(api)
    for _ in range(3):
        assert send_test(app, api, campaign_id).status_code == 202
    redis_ext.client().flushdb()
    response = send_test(app, api, campaign_id)
    assert response.status_code == 429
    error = response.get_json()["error"]
    assert error["code"] == "test_send_limit_reached"
    assert "3 test messages a day" in error["message"]
    assert error["details"] == {"limit": 3, "used": 3, "retry_after": int(response.headers["Retry-After"])}
    assert 0 < int(response.headers["Retry-After"]) <= 25 * 3600
    assert len(texts(fake_mitto)) == 3


def test_without_enough_credits_it_is_402_with_the_figures_and_nothing_is_sent(make_app, fake_mitto):
    app = make_app(**mitto_config(fake_mitto))
    with app.app_context():
        api, _shop = open_shop(app, credits=0)
        response = send_test(app, api, draft(api))
        assert response.status_code == 402
        error = response.get_json()["error"]
        assert error["code"] == "insufficient_credits"
        assert error["details"] == {"required": 1, "available": 0}
        assert fake_mitto.received == []
        assert db.session.scalars(select(Message)).all() == []


def test_a_number_that_opted_out_of_the_shop_is_409(shop_app, fake_mitto):
    app, api, shop = shop_app
    contact = create_or_merge(shop=shop, phone=parse_phone(shop, MERCHANT), data={}, consent=None)[0]
    apply_consent(contact, ConsentChange(state=contact.consent_state.UNSUBSCRIBED, source="keyword"))
    db.session.commit()
    response = send_test(app, api, draft(api))
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "phone_opted_out"
    assert fake_mitto.received == []


def test_a_suppressed_number_is_409(shop_app, fake_mitto):
    app, api, shop = shop_app
    suppress(shop_id=shop.id, phone_digest=phone_hash("+14155550124", shop_id=shop.id), reason="opted_out")
    db.session.commit()
    response = send_test(app, api, draft(api), phone="+1 415 555 0124")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "phone_opted_out"


def test_a_stop_between_the_request_and_the_send_wins(shop_app, fake_mitto, monkeypatch):
    app, api, shop = shop_app
    enqueued = []
    monkeypatch.setattr(
        "shopify_app.services.campaigns.test_sends.enqueue_batch", lambda *args, **kw: enqueued.append(args)
    )
    response = send_test(app, api, draft(api))
    assert response.get_json()["state"] == "queued"
    suppress(shop_id=shop.id, phone_digest=phone_hash(MERCHANT, shop_id=shop.id), reason="opted_out")
    db.session.commit()
    [(carrier_id, low, high)] = enqueued
    sending.send_batch(campaign_id=carrier_id, low=low, high=high)
    message = db.session.get(Message, response.get_json()["message_id"])
    assert (message.state.value, message.skip_reason) == ("skipped", "not_subscribed")
    assert fake_mitto.received == []
    assert api.get("/api/billing").get_json()["balance"] == 100


@pytest.mark.parametrize("phone", ["not a phone", "+1 415", "", "+999 1234 5678"])
def test_an_invalid_phone_is_422_on_the_phone_field(shop_app, phone):
    app, api, _shop = shop_app
    response = send_test(app, api, draft(api), phone=phone)
    assert response.status_code == 422
    assert "phone" in response.get_json()["error"]["details"]["fields"]


def test_a_national_number_takes_the_shops_country(shop_app, fake_mitto):
    app, api, _shop = shop_app
    assert send_test(app, api, draft(api), phone="(415) 555-0123").status_code == 202
    assert len(texts(fake_mitto)) == 1


def test_another_shops_campaign_is_404(shop_app, fake_mitto):
    app, api, _shop = shop_app
    campaign_id = draft(api)
    other = ApiClient(app.test_client(), install_shop("beta.myshopify.com").domain)
    response = send_test(app, other, campaign_id)
    assert response.status_code == 404
    assert fake_mitto.received == []


def test_a_shop_without_a_sender_for_the_country_is_409(make_app, fake_mitto):
    app = make_app(**mitto_config(fake_mitto))
    with app.app_context():
        shop = install_shop("gamma.myshopify.com", number=None)
        from shopify_app.services.billing import credits

        credits.grant(shop_id=shop.id, amount=10, key="grant:test")
        db.session.commit()
        api = ApiClient(app.test_client(), shop.domain)
        response = send_test(app, api, draft(api))
        assert response.status_code == 409
        assert response.get_json()["error"]["code"] == "no_sender_for_country"


def test_a_campaign_with_a_broken_text_is_409(shop_app, fake_mitto):
    app, api, _shop = shop_app
    campaign_id = draft(api)
    db.session.get(Campaign, campaign_id).body = "Hi {{nope}}"
    db.session.commit()
    response = send_test(app, api, campaign_id)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "campaign_text_invalid"


def test_the_test_is_audited_without_the_number(shop_app, fake_mitto):
    app, api, _shop = shop_app
    campaign_id = draft(api)
    send_test(app, api, campaign_id)
    row = db.session.scalars(select(AuditLog).where(AuditLog.action == "test_send_campaign")).one()
    assert (row.target_type, row.target_id) == ("campaign", str(campaign_id))
    assert "0123" not in str(row.details)


def test_the_tests_of_another_shops_campaign_are_404(shop_app, fake_mitto):
    app, api, _shop = shop_app
    campaign_id = draft(api)
    send_test(app, api, campaign_id)
    other = ApiClient(app.test_client(), install_shop("beta.myshopify.com").domain)
    assert other.get(f"/api/campaigns/{campaign_id}/test-sends").status_code == 404
