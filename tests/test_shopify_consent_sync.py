"""Our SMS consent changes reach the Shopify customer (the loopback fake): recorded first, sent
after, the newest state only, never an echo of Shopify's own change, nothing for an erasure."""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select
from structlog.testing import capture_logs

from shopify_app.extensions import db, sms_backend
from shopify_app.models import Contact, OutboxStatus, ShopifyConsentSync
from shopify_app.services.contacts import shopify_consent

from .conftest import open_shop, settle_jobs
from .payloads import payload
from .shopify_signing import proxy_query, webhook_request

SHOP = "alpha.myshopify.com"
SHOPPER = "+14155550199"
SECRET = "inbound-path-secret-0123456789abcdef01234567"
CONSENT_TEXT = "Text me offers. Reply STOP to opt out."


@pytest.fixture
def synced(make_app, fake_shopify):
    app = make_app(
        SHOPIFY_ADMIN_BASE_URL=fake_shopify.admin_base_url, SHOPIFY_CONSENT_SYNC=1, MITTO_WEBHOOK_SECRET=SECRET
    )
    with app.app_context():
        api, shop = open_shop(app, SHOP, fake_shopify=fake_shopify)
        yield app, api, shop


def the_contact() -> Contact:
    db.session.expire_all()
    return db.session.scalars(select(Contact)).one()


def subscribe(app, api) -> Contact:
    response = api.post("/api/contacts", json={"phone": SHOPPER, "consent_state": "subscribed", "consent_text": "ok"})
    assert response.status_code in (200, 201), response.get_json()
    settle_jobs(app)
    return the_contact()


def set_consent(app, api, contact_id: int, state: str) -> None:
    body = {"consent_state": state, **({"consent_text": "ok"} if state == "subscribed" else {})}
    assert api.patch(f"/api/contacts/{contact_id}", json=body).status_code == 200
    settle_jobs(app, strict=False)


def linked_customer(app, api, fake) -> tuple[Contact, str]:
    """A subscribed contact already linked to its Shopify customer, in step with it."""
    gid = fake.add_customer(SHOP, phone=SHOPPER)
    subscribe(app, api)
    assert fake.customers[gid]["smsMarketingConsent"]["marketingState"] == "SUBSCRIBED"
    fake.customer_calls.clear()
    return the_contact(), gid


def text_stop(app, shop) -> None:
    to = f"+1212555{shop.id % 10000:04d}"
    response = app.test_client().post(f"/mitto/inbound/{SECRET}", json={"from": SHOPPER, "to": to, "text": "STOP"})
    assert response.status_code == 202
    settle_jobs(app)


def sms_consent(fake, gid: str) -> dict:
    return fake.customers[gid]["smsMarketingConsent"]


def test_a_stop_reaches_the_linked_shopify_customer_as_unsubscribed_and_logs_no_phone_or_token(
    synced, fake_shopify, caplog
):
    app, api, shop = synced
    contact, gid = linked_customer(app, api, fake_shopify)
    assert contact.shopify_customer_id == int(gid.rsplit("/", 1)[1])
    caplog.set_level(logging.DEBUG)
    with capture_logs() as logs:
        text_stop(app, shop)
    contact = the_contact()
    assert contact.consent_state.value == "unsubscribed"
    assert sms_consent(fake_shopify, gid)["marketingState"] == "UNSUBSCRIBED"
    assert sms_consent(fake_shopify, gid)["consentUpdatedAt"] == contact.unsubscribed_at.isoformat()
    assert [operation for operation, _ in fake_shopify.customer_calls] == ["customerSmsMarketingConsentUpdate"]
    assert api.get(f"/api/contacts/{contact.id}").get_json()["shopify_sync"] == "synced"
    assert any(entry["event"] == "shopify_consent_pushed" for entry in logs)
    written = repr(logs) + caplog.text
    assert "4155550199" not in written
    assert shop.access_token not in written
    assert "shpat_" not in written


def test_a_confirmed_sign_up_is_found_by_phone_and_subscribed_with_confirmed_opt_in_at_our_time(synced, fake_shopify):
    app, _api, _shop = synced
    gid = fake_shopify.add_customer(SHOP, phone=SHOPPER)
    client = app.test_client()
    form = {"phone": "(415) 555-0199", "consent": "on", "consent_text": CONSENT_TEXT}
    assert client.post("/proxy/subscribe?" + proxy_query(shop=SHOP), data=form).status_code in (200, 201, 302)
    settle_jobs(app)
    assert fake_shopify.customer_calls == []  # pending: nothing confirmed yet
    [message] = sms_backend().sent
    token = parse_qs(urlsplit(message.text.split("tap ")[1].split(" ")[0]).query)["t"][0]
    confirmed = client.post("/proxy/confirm?" + proxy_query(t=token), headers={"Accept": "application/json"})
    assert confirmed.status_code == 200
    settle_jobs(app)
    contact = the_contact()
    assert contact.consent_state.value == "subscribed"
    assert sms_consent(fake_shopify, gid) == {
        "marketingState": "SUBSCRIBED",
        "marketingOptInLevel": "CONFIRMED_OPT_IN",
        "consentUpdatedAt": contact.consented_at.isoformat(),
    }
    lookup, update = fake_shopify.customer_calls
    assert lookup == ("customers", {"query": f"phone:{SHOPPER}"})
    assert update[0] == "customerSmsMarketingConsentUpdate"
    assert contact.shopify_customer_id == int(gid.rsplit("/", 1)[1])  # linked: no lookup next time
    assert contact.shopify_sync == "synced"


def test_no_shopify_customer_and_the_setting_off_is_not_synced_and_creates_nobody(synced, fake_shopify):
    app, api, _shop = synced
    contact = subscribe(app, api)
    assert [operation for operation, _ in fake_shopify.customer_calls] == ["customers"]
    assert fake_shopify.customers == {}
    assert api.get(f"/api/contacts/{contact.id}").get_json()["shopify_sync"] == "not_synced"


def test_with_add_subscribers_on_a_customer_is_created_with_the_sms_consent(synced, fake_shopify):
    app, api, _shop = synced
    assert api.get("/api/settings").get_json()["add_subscribers_to_shopify"] is False
    assert api.patch("/api/settings", json={"add_subscribers_to_shopify": True}).status_code == 200
    contact = subscribe(app, api)
    [(gid, customer)] = fake_shopify.customers.items()
    assert customer["phone"] == SHOPPER
    assert customer["smsMarketingConsent"] == {
        "marketingState": "SUBSCRIBED",
        "marketingOptInLevel": "SINGLE_OPT_IN",
        "consentUpdatedAt": contact.consented_at.isoformat(),
    }
    assert contact.shopify_customer_id == int(gid.rsplit("/", 1)[1])
    assert contact.shopify_sync == "synced"


def test_a_shopify_outage_then_recovery_delivers_exactly_the_latest_state(synced, fake_shopify):
    app, api, _shop = synced
    contact, gid = linked_customer(app, api, fake_shopify)
    fake_shopify.fail_next("graphql", 500, times=1000)  # a mutation's 500 is not retried by the client
    set_consent(app, api, contact.id, "unsubscribed")
    set_consent(app, api, contact.id, "subscribed")
    set_consent(app, api, contact.id, "unsubscribed")
    assert sms_consent(fake_shopify, gid)["marketingState"] == "SUBSCRIBED"  # nothing got through
    assert the_contact().shopify_sync == "pending"
    fake_shopify._failures["graphql"].clear()  # Shopify is back; the retries and the sweep resume
    assert shopify_consent.sweep(older_than=timedelta(0)) == 1
    settle_jobs(app)
    assert [call[1]["input"]["smsMarketingConsent"]["marketingState"] for call in fake_shopify.customer_calls] == [
        "UNSUBSCRIBED"
    ]
    assert sms_consent(fake_shopify, gid)["marketingState"] == "UNSUBSCRIBED"
    statuses = [row.status for row in db.session.scalars(select(ShopifyConsentSync).order_by(ShopifyConsentSync.id))]
    assert statuses[-1] == OutboxStatus.SENT
    assert OutboxStatus.PENDING not in statuses
    assert the_contact().shopify_sync == "synced"


def test_throttled_in_a_200_is_waited_out_and_delivered(synced, fake_shopify):
    app, api, shop = synced
    _contact, gid = linked_customer(app, api, fake_shopify)
    fake_shopify.throttle_next(2)
    text_stop(app, shop)
    assert sms_consent(fake_shopify, gid)["marketingState"] == "UNSUBSCRIBED"


def test_user_errors_leave_the_contact_marked_failed(synced, fake_shopify):
    app, api, _shop = synced
    contact, gid = linked_customer(app, api, fake_shopify)
    error = {"field": ["input", "smsMarketingConsent"], "message": "Not allowed", "code": "INVALID"}
    fake_shopify.user_errors_next("customerSmsMarketingConsentUpdate", [error])
    set_consent(app, api, contact.id, "unsubscribed")
    assert sms_consent(fake_shopify, gid)["marketingState"] == "SUBSCRIBED"
    assert api.get(f"/api/contacts/{contact.id}").get_json()["shopify_sync"] == "failed"
    row = db.session.scalars(select(ShopifyConsentSync).order_by(ShopifyConsentSync.id.desc())).first()
    assert (row.status, row.error) == (OutboxStatus.FAILED, "INVALID")


def test_a_change_that_came_from_shopify_is_not_echoed_back(synced, fake_shopify):
    app, api, _shop = synced
    contact, gid = linked_customer(app, api, fake_shopify)
    rows_before = len(db.session.scalars(select(ShopifyConsentSync)).all())
    consent = {"state": "unsubscribed", "opt_in_level": "unknown", "consent_updated_at": "2099-01-01T00:00:00Z"}
    body = payload(
        "customers_marketing_consent/update",
        id=contact.shopify_customer_id,
        phone=SHOPPER,
        sms_marketing_consent=consent,
    )
    response = app.test_client().post(
        "/webhooks/shopify", **webhook_request("customers_marketing_consent/update", body, shop=SHOP)
    )
    assert response.status_code == 200
    settle_jobs(app)
    assert the_contact().consent_state.value == "unsubscribed"
    assert fake_shopify.customer_calls == []
    assert len(db.session.scalars(select(ShopifyConsentSync)).all()) == rows_before
    assert sms_consent(fake_shopify, gid)["marketingState"] == "SUBSCRIBED"  # untouched by us


def test_an_erasure_sends_nothing_to_shopify(synced, fake_shopify):
    app, api, _shop = synced
    contact, _gid = linked_customer(app, api, fake_shopify)
    body = payload("customers/redact")
    body["customer"] = {**body["customer"], "id": contact.shopify_customer_id, "phone": SHOPPER}
    response = app.test_client().post("/webhooks/shopify", **webhook_request("customers/redact", body, shop=SHOP))
    assert response.status_code == 200
    settle_jobs(app)
    db.session.expire_all()
    assert db.session.scalars(select(Contact)).all() == []
    assert db.session.scalars(select(ShopifyConsentSync)).all() == []
    assert fake_shopify.customer_calls == []


def test_with_the_sync_turned_off_nothing_is_recorded(make_app):
    app = make_app()
    with app.app_context():
        api, _shop = open_shop(app, SHOP)
        contact = subscribe(app, api)
        assert contact.shopify_sync is None
        assert db.session.scalars(select(ShopifyConsentSync)).all() == []


@pytest.mark.parametrize("value", [0, 1, "yes", "true", None])
def test_the_add_subscribers_setting_takes_only_true_or_false(synced, value):
    _app, api, _shop = synced
    response = api.patch("/api/settings", json={"add_subscribers_to_shopify": value})
    assert response.status_code == 422
    assert "add_subscribers_to_shopify" in response.get_json()["error"]["details"]["fields"]
