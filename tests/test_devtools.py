"""`flask dev ...`: each helper's request passes the app's own checks and does what it says, and
every helper refuses to run in production."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from shopify_app import create_app
from shopify_app.config import DEV_MITTO_WEBHOOK_SECRET
from shopify_app.devtools.webhook_samples import BY_TOPIC
from shopify_app.extensions import db, sms_backend
from shopify_app.models import Contact, Message, Order, Shop, WebhookEvent
from shopify_app.security.decorators import api_secrets
from shopify_app.security.hmac import proxy_signature_is_valid
from shopify_app.security.session_token import verify_session_token
from shopify_app.services.billing.credits import balance, grant
from shopify_app.services.ops.demo import DEV_OFFLINE_TOKEN

from .conftest import ApiClient, install_shop, settle_jobs
from .fakes._lifecycle import LoopbackServer
from .shopify_signing import proxy_query
from .test_config import PRODUCTION_ENV

SHOP = "alpha.myshopify.com"
SHOP_NUMBER = "+14155559000"
SHOPPER = "+14155550101"
MITTO_SECRET = "devtools-mitto-path-secret-0123456789abcdef"


class AppServer(LoopbackServer):
    """The app under test on a loopback port, for the helpers that POST to a running app."""

    name = "app-under-test"

    def __init__(self, app):
        super().__init__()
        self.app = app

    def _make_server(self, port):
        return make_server("127.0.0.1", port, self.app)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.require_port()}"


@pytest.fixture
def running(make_app):
    """An app with an installed shop (its own number), serving on loopback."""
    app = make_app(MITTO_WEBHOOK_SECRET=MITTO_SECRET)
    with app.app_context():
        shop = install_shop(SHOP, number=SHOP_NUMBER)
        grant(shop_id=shop.id, amount=10, key="test:credits")
        db.session.commit()
        with AppServer(app) as server:
            yield app, server


def dev(app, *args: str):
    return app.test_cli_runner().invoke(args=["dev", *args])


def subscribed_contact(app) -> None:
    api = ApiClient(app.test_client(), SHOP)
    assert api.patch("/api/settings", json={"quiet_hours": None}).status_code == 200
    created = api.post("/api/contacts", json={"phone": SHOPPER, "consent_state": "subscribed", "consent_text": "ok"})
    assert created.status_code == 201, created.get_json()


def one_contact() -> Contact:
    db.session.expire_all()
    return db.session.scalars(select(Contact)).one()


# --- token, proxy-url ----------------------------------------------------------------------------


def test_dev_token_is_a_session_token_the_app_verifies(app, shop):
    result = dev(app, "token", "--shop", SHOP)
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    session = verify_session_token(token, api_key=app.config["SHOPIFY_API_KEY"], secrets=api_secrets())
    assert session.shop_domain == SHOP
    assert session.claims["exp"] - session.claims["iat"] == 3600
    response = app.test_client().get("/api/shop", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.get_json()["domain"] == SHOP


def test_dev_token_refuses_a_domain_that_is_not_a_shop(app):
    result = dev(app, "token", "--shop", "evil.example.com")
    assert result.exit_code != 0
    assert "not a <handle>.myshopify.com domain" in result.output


def test_dev_proxy_url_passes_the_app_proxy_signature_check(app, shop):
    result = dev(app, "proxy-url", "--shop", SHOP, "--param", "tag=a", "--param", "tag=b", "--param", "blank=")
    assert result.exit_code == 0, result.output
    url = urlsplit(result.stdout.strip())
    assert f"{url.scheme}://{url.netloc}" == app.config["SHOPIFY_APP_URL"]
    pairs = parse_qsl(url.query, keep_blank_values=True)
    assert {("tag", "a"), ("tag", "b"), ("blank", "")} <= set(pairs)
    assert proxy_signature_is_valid(pairs, secrets=api_secrets())
    response = app.test_client().get(f"{url.path}?{url.query}")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "shop": SHOP}


def test_dev_proxy_url_turns_a_texted_link_into_the_proxied_request(app, shop):
    client = app.test_client()
    signup = client.post(f"/proxy/subscribe?{proxy_query(shop=SHOP)}", json={"phone": SHOPPER, "consent": True})
    assert signup.status_code == 201
    settle_jobs(app)
    (text,) = [message.text for message in sms_backend().sent]
    link = next(word for word in text.split() if "/apps/sms/confirm?t=" in word)

    result = dev(app, "proxy-url", "--link", link)
    assert result.exit_code == 0, result.output
    url = urlsplit(result.stdout.strip())
    assert url.path == "/proxy/confirm"
    assert dict(parse_qsl(url.query))["t"] == dict(parse_qsl(urlsplit(link).query))["t"]
    confirmed = client.post(f"{url.path}?{url.query}", headers={"Accept": "application/json"})
    assert confirmed.get_json() == {"status": "subscribed"}
    assert one_contact().consent_state.value == "subscribed"


def test_dev_proxy_url_refuses_a_link_outside_the_app_proxy(app):
    result = dev(app, "proxy-url", "--link", f"https://{SHOP}/pages/about?t=1")
    assert result.exit_code != 0
    assert "not a storefront link under /apps/sms/" in result.output


# --- install -------------------------------------------------------------------------------------


def test_dev_install_leaves_an_offline_token_and_the_trial_credits_once(app):
    first = dev(app, "install", "--shop", "new-shop.myshopify.com")
    second = dev(app, "install", "--shop", "new-shop.myshopify.com")
    assert first.exit_code == 0, first.output
    assert "development offline token stored" in first.output
    assert "its offline token kept" in second.output
    shop = db.session.scalars(select(Shop)).one()
    assert (shop.domain, shop.is_installed, shop.access_token) == ("new-shop.myshopify.com", True, DEV_OFFLINE_TOKEN)
    assert balance(shop_id=shop.id) == app.config["TRIAL_CREDITS"]
    # /api serves it without a token exchange (nothing answers for Shopify here)
    token = dev(app, "token", "--shop", shop.domain).stdout.strip()
    assert app.test_client().get("/api/shop", headers={"Authorization": f"Bearer {token}"}).status_code == 200


# --- webhook -------------------------------------------------------------------------------------


def test_dev_webhook_is_signed_recorded_and_processed(running):
    app, server = running
    result = dev(app, "webhook", "orders/create", "--shop", SHOP, "--set", "phone=+14155550123", "--url", server.url)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("200 ")
    settle_jobs(app)
    db.session.expire_all()
    event = db.session.scalars(select(WebhookEvent)).one()
    assert (event.topic, event.shop_domain, event.status.value) == ("orders/create", SHOP, "processed")
    order = db.session.scalars(select(Order)).one()
    assert order.shopify_order_id == BY_TOPIC["orders/create"]["id"]
    assert datetime.now(UTC) - order.ordered_at < timedelta(minutes=5)  # the sample, placed now


def test_dev_webhook_sends_a_given_payload_as_it_is(running, tmp_path):
    app, server = running
    body = tmp_path / "order.json"
    body.write_text(json.dumps({**BY_TOPIC["orders/create"], "id": 4242}))
    result = dev(app, "webhook", "orders/create", "--shop", SHOP, "--payload", str(body), "--url", server.url)
    assert result.exit_code == 0, result.output
    settle_jobs(app)
    db.session.expire_all()
    assert db.session.scalars(select(Order.shopify_order_id)).one() == 4242


def test_dev_webhook_without_a_sample_names_the_topics_it_has(app):
    result = dev(app, "webhook", "products/update")
    assert result.exit_code != 0
    assert "no sample for 'products/update'" in result.output
    assert "orders/create" in result.output


# --- reply, dlr ----------------------------------------------------------------------------------


def test_dev_reply_stop_unsubscribes_the_shopper(running):
    app, server = running
    subscribed_contact(app)
    result = dev(app, "reply", "--from", SHOPPER, "--text", "STOP", "--shop", SHOP, "--url", server.url)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("202 ")
    settle_jobs(app)
    assert one_contact().consent_state.value == "unsubscribed"


def test_a_helper_whose_request_the_app_refuses_exits_1(running):
    app, server = running
    result = dev(app, "reply", "--from", "x", "--text", "STOP", "--shop", SHOP, "--url", server.url)
    assert result.exit_code == 1
    assert result.stdout.startswith("400 ")


def test_a_helper_says_when_no_app_answers(app, shop):
    from .processes import free_port

    result = dev(app, "webhook", "orders/create", "--shop", SHOP, "--url", f"http://127.0.0.1:{free_port()}")
    assert result.exit_code == 1
    assert "nothing answers at http://127.0.0.1:" in result.output


def test_dev_dlr_applies_the_delivery_report_to_the_campaign_message(running):
    app, server = running
    subscribed_contact(app)
    api = ApiClient(app.test_client(), SHOP)
    campaign = api.post("/api/campaigns", json={"name": "Sale", "body": "Sale today"}).get_json()
    assert api.post(f"/api/campaigns/{campaign['id']}/launch").status_code == 200
    settle_jobs(app)
    message_id = db.session.scalars(select(Message.id)).one()

    result = dev(app, "dlr", "--message", str(message_id), "--url", server.url)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith('202 {"accepted":1')
    settle_jobs(app)
    db.session.expire_all()
    assert db.session.get(Message, message_id).state.value == "delivered"


def test_dev_dlr_refuses_a_message_that_was_never_sent(running):
    app, _server = running
    result = dev(app, "dlr", "--campaign", "999")
    assert result.exit_code != 0
    assert "campaign 999 has no sent message" in result.output


def test_in_development_the_mitto_callbacks_answer_at_the_documented_secret(make_app):
    app = make_app(APP_ENV="development", MITTO_WEBHOOK_SECRET=None)
    client = app.test_client()
    assert client.post(f"/mitto/dlr/{DEV_MITTO_WEBHOOK_SECRET}", json=[]).status_code == 202
    assert client.post(f"/mitto/inbound/{DEV_MITTO_WEBHOOK_SECRET}", json={}).status_code == 400  # there, unparsed
    assert client.post("/mitto/dlr/guess", json=[]).status_code == 404


# --- production ----------------------------------------------------------------------------------

EVERY_HELPER = (
    ("install",),
    ("token",),
    ("proxy-url", "--path", "/proxy/subscribe"),
    ("webhook", "orders/create"),
    ("reply", "--from", SHOPPER, "--text", "STOP"),
    ("dlr", "--message", "1"),
)


@pytest.fixture
def production_app():
    return create_app(dict(PRODUCTION_ENV))


@pytest.mark.parametrize("args", EVERY_HELPER, ids=[args[0] for args in EVERY_HELPER])
def test_every_dev_helper_is_refused_in_production(production_app, args):
    result = production_app.test_cli_runner().invoke(args=["dev", *args])
    assert result.exit_code == 1
    assert "for development only" in result.output
    assert "APP_ENV=production refuses it" in result.output
