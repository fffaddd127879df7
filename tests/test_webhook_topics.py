"""Every subscribed topic: real payload shapes, replays, wrong HMAC and rotated secrets."""

from __future__ import annotations

import tomllib
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from shopify_app.extensions import db
from shopify_app.models import Checkout, ConsentEvent, Contact, Order, Shop, WebhookEvent, WebhookStatus

from .payloads import BY_TOPIC, SHOP, payload
from .shopify_signing import webhook_request
from .test_jobs import drain_if_async

OLD_SECRET = "previous-shopify-secret-0123456789abcdef0"


def deliver(app, client, topic: str, body: dict, **kwargs) -> WebhookEvent:
    response = client.post("/webhooks/shopify", **webhook_request(topic, body, shop=SHOP, **kwargs))
    assert response.status_code == 200, response.get_json()
    drain_if_async(app)
    db.session.expire_all()
    return db.session.scalars(select(WebhookEvent).order_by(WebhookEvent.id.desc())).first()


@pytest.fixture
def client(app, shop):
    return app.test_client()


def contact_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Contact))


def the_contact() -> Contact:
    db.session.expire_all()
    return db.session.scalars(select(Contact)).one()


def test_every_topic_in_the_toml_has_an_example_payload_here(project_root):
    config = tomllib.loads((project_root / "shopify.app.toml").read_text())
    topics = {t for sub in config["webhooks"]["subscriptions"] for t in sub.get("topics", [])}
    compliance = {t for sub in config["webhooks"]["subscriptions"] for t in sub.get("compliance_topics", [])}
    assert topics | compliance == set(BY_TOPIC)


@pytest.mark.parametrize("topic", sorted(BY_TOPIC))
def test_every_topic_is_processed_once_even_when_replayed(app, client, topic):
    request = webhook_request(topic, payload(topic), shop=SHOP, webhook_id=f"replay-{topic}")
    assert client.post("/webhooks/shopify", **request).get_json() == {"status": "accepted"}
    drain_if_async(app)
    assert client.post("/webhooks/shopify", **request).get_json() == {"status": "duplicate"}
    drain_if_async(app)
    events = db.session.scalars(select(WebhookEvent).where(WebhookEvent.webhook_id == f"replay-{topic}")).all()
    assert len(events) == 1
    assert (events[0].status, events[0].attempts) == (WebhookStatus.PROCESSED, 1)


@pytest.mark.parametrize("topic", sorted(BY_TOPIC))
def test_every_topic_with_a_wrong_hmac_is_401(client, topic):
    request = webhook_request(topic, payload(topic), shop=SHOP, secret="an-attackers-secret-0123456789abcdef01")
    assert client.post("/webhooks/shopify", **request).status_code == 401
    assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 0


@pytest.mark.parametrize("topic", sorted(BY_TOPIC))
def test_every_topic_is_accepted_with_the_previous_secret_during_rotation(make_app, topic):
    app = make_app(SHOPIFY_API_SECRET_PREVIOUS=OLD_SECRET)
    with app.app_context():
        from .conftest import install_shop

        install_shop(SHOP)
        event = deliver(app, app.test_client(), topic, payload(topic), secret=OLD_SECRET)
        assert event.status == WebhookStatus.PROCESSED


def test_customers_create_upserts_an_encrypted_contact_with_shopify_consent(app, client):
    deliver(app, client, "customers/create", payload("customers/create"))
    contact = the_contact()
    assert (contact.phone, contact.email, contact.first_name) == ("+14155550199", "bob@biller.com", "Bob")
    assert contact.shopify_customer_id == 706405506930370084
    assert contact.consent_state.value == "subscribed"
    assert contact.consent_source.value == "shopify"
    assert "4155550199" not in contact.phone_ciphertext


def test_customers_without_sms_consent_are_never_subscribed(app, client):
    deliver(app, client, "customers/create", payload("customers/create", sms_marketing_consent=None))
    assert the_contact().consent_state.value == "unsubscribed"
    assert db.session.scalar(select(func.count()).select_from(ConsentEvent)) == 0


def test_customers_without_a_phone_are_not_stored(app, client):
    deliver(app, client, "customers/create", payload("customers/create", phone=None))
    assert contact_count() == 0


def test_customers_update_changes_the_profile_of_the_same_contact(app, client):
    deliver(app, client, "customers/create", payload("customers/create"))
    deliver(app, client, "customers/update", payload("customers/update", first_name="Robert", email="r@b.com"))
    contact = the_contact()
    assert (contact.first_name, contact.email) == ("Robert", "r@b.com")


@pytest.mark.parametrize("state", ["not_subscribed", "redacted", "invalid", "unsubscribed"])
def test_shopify_opt_out_states_unsubscribe(app, client, state):
    deliver(app, client, "customers/create", payload("customers/create"))
    consent = {**BY_TOPIC["customers_marketing_consent/update"]["sms_marketing_consent"], "state": state}
    deliver(
        app,
        client,
        "customers_marketing_consent/update",
        payload("customers_marketing_consent/update", sms_marketing_consent=consent),
    )
    assert the_contact().consent_state.value == "unsubscribed"


def test_a_local_stop_is_not_undone_by_shopify_without_a_newer_consent(app, client, api):
    deliver(app, client, "customers/create", payload("customers/create"))
    contact = the_contact()
    api.patch(f"/api/contacts/{contact.id}", json={"consent_state": "unsubscribed"})  # stands in for STOP
    stale = {**BY_TOPIC["customers/create"]["sms_marketing_consent"]}  # 2026-11-20, before the STOP
    deliver(app, client, "customers/update", payload("customers/update", sms_marketing_consent=stale))
    assert the_contact().consent_state.value == "unsubscribed"
    no_time = {**stale, "consent_updated_at": None}
    deliver(
        app,
        client,
        "customers_marketing_consent/update",
        payload("customers_marketing_consent/update", sms_marketing_consent=no_time),
    )
    assert the_contact().consent_state.value == "unsubscribed"
    fresh = {**stale, "consent_updated_at": "2099-01-01T00:00:00Z"}
    deliver(
        app,
        client,
        "customers_marketing_consent/update",
        payload("customers_marketing_consent/update", sms_marketing_consent=fresh),
    )
    assert the_contact().consent_state.value == "subscribed"


def test_a_checkout_opt_in_for_an_unknown_number_creates_a_subscribed_contact(app, client):
    deliver(app, client, "customers_marketing_consent/update", payload("customers_marketing_consent/update"))
    contact = the_contact()
    assert contact.consent_state.value == "subscribed"
    assert contact.shopify_customer_id == 706405506930370084
    [event] = db.session.scalars(select(ConsentEvent)).all()
    assert event.source.value == "shopify"


def test_orders_create_stores_the_order_once_and_counts_it_on_the_contact(app, client):
    deliver(app, client, "customers/create", payload("customers/create"))
    deliver(app, client, "orders/create", payload("orders/create"))
    deliver(app, client, "orders/create", payload("orders/create"))  # a new delivery id, same order
    [order] = db.session.scalars(select(Order)).all()
    assert (order.shopify_order_id, order.total_price, order.currency) == (820982911946154508, Decimal("403.00"), "USD")
    contact = the_contact()
    assert order.contact_id == contact.id
    assert contact.order_count == 1
    assert contact.last_order_at is not None


def test_checkouts_update_upserts_by_token_with_the_recovery_url_sealed(app, client):
    deliver(app, client, "customers/create", payload("customers/create"))
    deliver(app, client, "checkouts/create", payload("checkouts/create"))
    later = payload("checkouts/update", updated_at="2026-11-22T10:00:00-05:00", total_price="410.00")
    deliver(app, client, "checkouts/update", later)
    stale = payload("checkouts/update", updated_at="2026-11-22T08:30:00-05:00", total_price="1.00")
    deliver(app, client, "checkouts/update", stale)
    [checkout] = db.session.scalars(select(Checkout)).all()
    assert checkout.total_price == Decimal("410.00")
    assert checkout.contact_id == the_contact().id
    assert checkout.abandoned_checkout_url.endswith("key=example-secret-token")
    assert "example-secret-token" not in checkout.abandoned_checkout_url_ciphertext


def test_shop_update_refreshes_the_profile(app, client, shop):
    deliver(app, client, "shop/update", payload("shop/update"))
    db.session.refresh(shop)
    assert (shop.name, shop.email, shop.timezone, shop.currency, shop.country_code, shop.plan) == (
        "Super Toys",
        "hello@supertoys.com",
        "Europe/Athens",
        "EUR",
        "GR",
        "Shopify Plus",
    )


def test_scopes_update_stores_the_new_scopes(app, client, shop):
    deliver(app, client, "app/scopes_update", payload("app/scopes_update"))
    db.session.refresh(shop)
    assert shop.scopes == "read_customers,write_customers,read_orders"


def test_app_subscriptions_update_stores_the_billing_status(app, client, shop):
    deliver(app, client, "app_subscriptions/update", payload("app_subscriptions/update"))
    db.session.refresh(shop)
    assert (shop.subscription_status, shop.subscription_name) == ("ACTIVE", "Growth")
    assert shop.subscription_id == "gid://shopify/AppSubscription/1029266947"


def test_app_uninstalled_clears_tokens_and_keeps_data(app, client, shop, api):
    api.post("/api/contacts", json={"phone": "+14155550101"})
    deliver(app, client, "app/uninstalled", payload("app/uninstalled"))
    db.session.expire_all()
    shop = db.session.get(Shop, shop.id)
    assert shop.uninstalled_at is not None
    assert shop.access_token_ciphertext is None
    assert contact_count() == 1


def test_app_uninstalled_cancels_live_campaigns(app, client, shop, api):
    from shopify_app.models import Campaign, CampaignState
    from shopify_app.services.billing import credits

    credits.grant(shop_id=shop.id, amount=10, key="grant:test")
    db.session.commit()
    api.patch("/api/settings", json={"quiet_hours": None})
    api.post("/api/contacts", json={"phone": "+14155550101", "consent_state": "subscribed", "consent_text": "ok"})
    later = "2099-01-01T00:00:00Z"
    scheduled = api.post("/api/campaigns", json={"name": "Later", "body": "Hi", "send_at": later}).get_json()
    api.post(f"/api/campaigns/{scheduled['id']}/launch")
    deliver(app, client, "app/uninstalled", payload("app/uninstalled"))
    campaign = db.session.get(Campaign, scheduled["id"])
    assert (campaign.state, campaign.failure_reason) == (CampaignState.CANCELLED, "app_uninstalled")
    assert credits.balance(shop_id=shop.id) == 10
