"""Automations end to end: Shopify webhooks (signed) -> runs -> the campaign send path -> fake Mitto.

Each automation starts disabled; a trigger delivered twice sends once; an order cancels a pending
cart reminder; daily automations run once per shop-local day; back in stock notifies the oldest
waiting shoppers up to the quantity that came back; inbox replies use the same send path.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from shopify_app.extensions import db, sms_backend
from shopify_app.models import (
    AutomationRun,
    BackInStockRequest,
    Campaign,
    Contact,
    CreditLedger,
    Message,
    StockLevel,
)
from shopify_app.models.types import utcnow
from shopify_app.services.automations import automations
from shopify_app.services.billing import credits as ledger

from .conftest import ApiClient, install_shop, mitto_config, open_shop, quiet_hours_now, settle_jobs
from .payloads import payload
from .shopify_signing import proxy_query, webhook_request
from .test_sending import charges_add_up, dead_batch_record, needs_postgres_and_redis

SHOP = "alpha.myshopify.com"
SHOPPER = "+14155550199"  # the phone on the example order, checkout and customer payloads
ITEM, VARIANT = 271878346596884015, 39072856


@pytest.fixture
def shop_app(make_app, fake_mitto, fake_shopify):
    app = make_app(SHOPIFY_ADMIN_BASE_URL=fake_shopify.admin_base_url, **mitto_config(fake_mitto))
    with app.app_context():
        api, shop = open_shop(app, SHOP, credits=1000, fake_shopify=fake_shopify)
        yield app, api, shop


def automation_id(api, kind: str) -> int:
    items = api.get("/api/automations").get_json()["items"]
    return next(item["id"] for item in items if item["kind"] == kind)


def enable(api, kind: str, **fields) -> dict:
    response = api.patch(f"/api/automations/{automation_id(api, kind)}", json={"enabled": True, **fields})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def deliver(app, topic: str, body: dict) -> None:
    response = app.test_client().post("/webhooks/shopify", **webhook_request(topic, body, shop=SHOP))
    assert response.status_code == 200
    settle_jobs(app)


def subscriber(api, phone: str = SHOPPER, **fields) -> int:
    body = {"phone": phone, "consent_state": "subscribed", "consent_text": "Yes, texts please.", **fields}
    response = api.post("/api/contacts", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def texts(fake_mitto, phone: str = SHOPPER) -> list[str]:
    return [m["text"] for m in fake_mitto.received if m["destination"] == phone]


def followed(app, text: str) -> str:
    """Where the text's short link redirects (it is followed like a shopper's phone would)."""
    path = re.search(r"https://app\.example\.test(/r/[A-Za-z0-9_-]+)", text).group(1)
    response = app.test_client().get(path)
    assert response.status_code == 302
    return response.headers["Location"]


def dispatch(app, *, at: datetime | None = None) -> dict[str, int]:
    summary = automations.dispatch_due(now=at)
    settle_jobs(app)
    return summary


def runs() -> list[AutomationRun]:
    db.session.expire_all()
    return list(db.session.scalars(select(AutomationRun).order_by(AutomationRun.id)))


# --- configuration ------------------------------------------------------------------------------


def test_every_automation_starts_disabled_and_sends_nothing(shop_app, fake_mitto):
    app, api, _shop = shop_app
    items = api.get("/api/automations").get_json()["items"]
    assert [item["kind"] for item in items] == [
        "welcome",
        "abandoned_checkout",
        "order_confirmation",
        "shipping_update",
        "birthday",
        "back_in_stock",
        "win_back",
    ]
    assert not any(item["enabled"] for item in items)
    subscriber(api)
    deliver(app, "orders/paid", payload("orders/paid"))
    settle_jobs(app)
    assert fake_mitto.received == []
    assert runs() == []


def test_an_automation_body_is_validated_against_its_own_variables(shop_app):
    _app, api, _shop = shop_app
    welcome = automation_id(api, "welcome")
    response = api.patch(f"/api/automations/{welcome}", json={"body": "Track: {{tracking_url}}"})
    assert response.status_code == 422
    assert "tracking_url" in str(response.get_json()["error"]["details"])
    shipping = automation_id(api, "shipping_update")
    assert api.patch(f"/api/automations/{shipping}", json={"body": "Track: {{tracking_url}}"}).status_code == 200
    birthday = automation_id(api, "birthday")
    assert api.patch(f"/api/automations/{birthday}", json={"conditions": {"hour": 24}}).status_code == 422
    assert api.patch(f"/api/automations/{birthday}", json={"conditions": {"days": 3}}).status_code == 422
    assert api.patch(f"/api/automations/{birthday}", json={"delay_minutes": -1}).status_code == 422
    assert api.patch(f"/api/automations/{birthday}", json={"conditions": {"hour": 9}}).get_json()["conditions"] == {
        "hour": 9
    }


def test_each_automation_says_which_variables_and_ranges_its_editor_may_offer(shop_app):
    _app, api, _shop = shop_app
    items = {item["kind"]: item for item in api.get("/api/automations").get_json()["items"]}
    assert "tracking_url" in items["shipping_update"]["variables"]
    assert "tracking_url" not in items["welcome"]["variables"]
    assert "checkout_url" in items["abandoned_checkout"]["variables"]
    assert items["birthday"]["limits"] == {
        "delay_minutes": {"min": 0, "max": automations.MAX_DELAY_MINUTES},
        "hour": {"min": 0, "max": 23},
    }
    assert set(items["win_back"]["limits"]) == {"delay_minutes", "days", "hour"}
    assert set(items["welcome"]["limits"]) == {"delay_minutes"}


def test_another_shops_automation_is_404(shop_app):
    app, api, _shop = shop_app
    other = install_shop("beta.myshopify.com")
    other_api = ApiClient(app.test_client(), other.domain)
    mine = automation_id(api, "welcome")
    assert other_api.get(f"/api/automations/{mine}").status_code == 404
    assert other_api.patch(f"/api/automations/{mine}", json={"enabled": True}).status_code == 404
    assert other_api.get(f"/api/automations/{mine}/runs").status_code == 404
    assert api.get(f"/api/automations/{mine}").get_json()["enabled"] is False


def test_carrier_campaigns_are_not_merchant_campaigns(shop_app, fake_mitto):
    app, api, _shop = shop_app
    enable(api, "welcome")
    subscriber(api)
    settle_jobs(app)
    carrier = db.session.scalars(select(Campaign)).one()
    assert carrier.kind.value == "automation"
    assert api.get("/api/campaigns").get_json()["items"] == []
    assert api.get(f"/api/campaigns/{carrier.id}").status_code == 404
    assert api.post(f"/api/campaigns/{carrier.id}/cancel").status_code == 404


# --- welcome --------------------------------------------------------------------------------------


def test_welcome_is_sent_once_per_contact(shop_app, fake_mitto):
    app, api, _shop = shop_app
    enable(api, "welcome")
    contact_id = subscriber(api, first_name="Ana")
    settle_jobs(app)
    assert texts(fake_mitto) == ["Welcome to Alpha, Ana! Thanks for subscribing. Reply STOP to opt out"]
    # Unsubscribe and subscribe again: still one welcome.
    api.patch(f"/api/contacts/{contact_id}", json={"consent_state": "unsubscribed"})
    api.patch(f"/api/contacts/{contact_id}", json={"consent_state": "subscribed", "consent_text": "again"})
    settle_jobs(app)
    automations.dispatch_due()
    settle_jobs(app)
    assert len(texts(fake_mitto)) == 1
    run = runs()[0]
    assert run.state.value == "queued"
    message = db.session.get(Message, run.message_id)
    assert message.state.value == "sent"
    assert message.credits == 1
    assert ledger.balance(shop_id=message.shop_id) == 999


def test_a_welcome_waits_for_quiet_hours_to_end(shop_app, fake_mitto):
    app, api, _shop = shop_app
    quiet_hours_now(api)
    enable(api, "welcome")
    subscriber(api, phone="+442071838750")  # a single-zone number: Europe/London
    db.session.execute(db.text("UPDATE contacts SET timezone = 'UTC'"))
    db.session.commit()
    settle_jobs(app, rounds=3, strict=False)
    assert fake_mitto.received == []
    assert db.session.scalars(select(Message.state)).one().value == "deferred"


# --- abandoned checkout ------------------------------------------------------------------------


def test_abandoned_checkout_reminder_after_the_delay_with_the_recovery_url(shop_app, fake_mitto):
    app, api, _shop = shop_app
    enable(api, "abandoned_checkout", delay_minutes=60)
    subscriber(api, first_name="Bob")
    deliver(app, "checkouts/update", payload("checkouts/update"))
    deliver(app, "checkouts/update", payload("checkouts/update"))  # Shopify sends several updates
    assert len(runs()) == 1
    assert dispatch(app)["queued"] == 0  # not due yet
    assert fake_mitto.received == []
    assert dispatch(app, at=utcnow() + timedelta(minutes=61))["queued"] == 1
    [sent] = texts(fake_mitto)
    assert sent.startswith("Bob, you left something in your cart at Alpha: https://checkout.local/")
    assert "recover?key=example-secret-token" in sent


def test_an_order_cancels_the_pending_cart_reminder(shop_app, fake_mitto):
    app, api, _shop = shop_app
    enable(api, "abandoned_checkout", delay_minutes=60)
    subscriber(api)
    deliver(app, "checkouts/update", payload("checkouts/update"))
    deliver(app, "orders/create", payload("orders/create", checkout_token="123123123"))
    assert runs()[0].state.value == "cancelled"
    assert runs()[0].cancel_reason == "order_placed"
    dispatch(app, at=utcnow() + timedelta(hours=3))
    assert fake_mitto.received == []


def test_an_order_that_arrives_without_the_webhook_order_still_cancels_at_due_time(shop_app, fake_mitto):
    """orders/create lost or late: the due run checks for the order itself before sending."""
    app, api, shop = shop_app
    enable(api, "abandoned_checkout", delay_minutes=60)
    subscriber(api)
    deliver(app, "checkouts/update", payload("checkouts/update"))
    from shopify_app.models import Order

    db.session.add(Order(shop_id=shop.id, shopify_order_id=1, checkout_token="123123123"))
    db.session.commit()
    assert dispatch(app, at=utcnow() + timedelta(minutes=61)) == {"queued": 0, "cancelled": 1}
    assert fake_mitto.received == []


# --- order confirmation and shipping -----------------------------------------------------------


def test_order_confirmation_once_even_when_the_webhook_is_redelivered(shop_app, fake_mitto):
    app, api, _shop = shop_app
    enable(api, "order_confirmation")
    subscriber(api)
    deliver(app, "orders/paid", payload("orders/paid"))
    deliver(app, "orders/paid", payload("orders/paid"))  # a new webhook id, the same order
    automations.dispatch_due()
    settle_jobs(app)
    assert texts(fake_mitto) == [
        "Alpha: thanks for your order #9999! We'll text you when it ships. Reply STOP to opt out"
    ]


def test_transactional_messages_ignore_quiet_hours_but_not_consent(shop_app, fake_mitto):
    app, api, _shop = shop_app
    api.patch("/api/settings", json={"quiet_hours": {"start": "00:00", "end": "23:59"}})
    enable(api, "order_confirmation")
    contact_id = subscriber(api)
    deliver(app, "orders/paid", payload("orders/paid"))
    assert len(texts(fake_mitto)) == 1
    api.patch(f"/api/contacts/{contact_id}", json={"consent_state": "unsubscribed"})
    deliver(app, "orders/paid", payload("orders/paid", id=820982911946154509, name="#10000"))
    assert len(texts(fake_mitto)) == 1
    skipped = db.session.scalars(select(Message).where(Message.state == "skipped")).one()
    assert skipped.skip_reason == "not_subscribed"


def test_shipping_update_once_per_tracking_number_with_the_tracking_link(shop_app, fake_mitto):
    app, api, _shop = shop_app
    enable(api, "shipping_update")
    subscriber(api)
    deliver(app, "orders/create", payload("orders/create"))
    deliver(app, "fulfillments/create", payload("fulfillments/create"))
    deliver(app, "fulfillments/update", payload("fulfillments/update", shipment_status="in_transit"))
    [first] = texts(fake_mitto)
    assert first.startswith("Alpha: order #9999 is on its way. Track it: https://app.example.test/r/")
    assert first.endswith(" Reply STOP to opt out")
    assert followed(app, first) == "https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums=1Z2345"
    new_url = "https://www.ups.com/track?n=1Z9999"
    deliver(
        app,
        "fulfillments/update",
        payload("fulfillments/update", tracking_numbers=["1Z9999"], tracking_urls=[new_url], tracking_number="1Z9999"),
    )
    assert len(texts(fake_mitto)) == 2
    assert followed(app, texts(fake_mitto)[1]) == new_url
    deliver(app, "fulfillments/update", payload("fulfillments/update", id=5, status="cancelled"))
    assert len(texts(fake_mitto)) == 2


# --- daily: birthday and win-back --------------------------------------------------------------


def test_birthday_once_on_the_shop_local_day_at_the_configured_hour(shop_app, fake_mitto):
    app, api, _shop = shop_app
    enable(api, "birthday", conditions={"hour": 10})
    # 09:30 in New York (the shop's zone) on 14 March: too early; 10:30: send.
    early = datetime(2027, 3, 14, 13, 30, tzinfo=UTC)
    subscriber(api, first_name="Ana", birthday="1990-03-14")
    subscriber(api, phone="+14155550100", first_name="Ben", birthday="1990-03-15")
    assert automations.daily_tick(now=early) == {"birthday": 0, "win_back": 0}
    later = early + timedelta(hours=1)
    assert automations.daily_tick(now=later) == {"birthday": 1, "win_back": 0}
    assert automations.daily_tick(now=later + timedelta(hours=2)) == {"birthday": 0, "win_back": 0}
    dispatch(app, at=later)
    assert texts(fake_mitto) == [
        "Happy birthday, Ana! Something nice is waiting for you at Alpha. Reply STOP to opt out"
    ]
    assert texts(fake_mitto, "+14155550100") == []


def test_win_back_for_contacts_whose_last_order_lapsed(shop_app, fake_mitto):
    app, api, _shop = shop_app
    enable(api, "win_back", conditions={"days": 90, "hour": 0})
    lapsed = subscriber(api, first_name="Ana")
    recent = subscriber(api, phone="+14155550100")
    now = utcnow()
    db.session.get(Contact, lapsed).last_order_at = now - timedelta(days=91)
    db.session.get(Contact, recent).last_order_at = now - timedelta(days=10)
    db.session.commit()
    assert automations.daily_tick(now=now)["win_back"] == 1
    dispatch(app, at=now)
    assert len(texts(fake_mitto)) == 1
    assert texts(fake_mitto, "+14155550100") == []


# --- back in stock ------------------------------------------------------------------------------


def ask_for_stock(app, phone: str) -> int:
    url = "/proxy/back-in-stock?" + proxy_query(shop=SHOP)
    body = {"phone": phone, "consent": "on", "variant_id": str(VARIANT), "product_title": "Blue mug"}
    return app.test_client().post(url, data=body).status_code


def stock_update(app, available: int, location: int = 24826418) -> None:
    deliver(
        app,
        "inventory_levels/update",
        payload("inventory_levels/update", inventory_item_id=ITEM, location_id=location, available=available),
    )


def test_back_in_stock_notifies_the_oldest_waiting_up_to_the_quantity(shop_app, fake_mitto, fake_shopify):
    app, api, _shop = shop_app
    fake_shopify.add_inventory_item(ITEM, variant_id=VARIANT, product_title="Blue mug", handle="blue-mug")
    enable(api, "back_in_stock")
    phones = ["+14155550101", "+14155550102", "+14155550103"]
    for phone in phones:
        subscriber(api, phone)
        assert ask_for_stock(app, phone) == 201
    assert ask_for_stock(app, phones[0]) == 200  # asking twice is one request
    stock_update(app, 0)
    assert fake_mitto.received == []
    stock_update(app, 2)  # 0 -> 2: the two oldest
    assert [len(texts(fake_mitto, p)) for p in phones] == [1, 1, 0]
    [notice] = texts(fake_mitto, phones[0])
    assert notice.startswith("Blue mug is back in stock at Alpha: https://app.example.test/r/")
    # The storefront link carries the contact's browse token for the web pixel (test_pixel_links.py).
    assert followed(app, notice).startswith("https://alpha.myshopify.com/products/blue-mug?variant=39072856&sb_t=")
    stock_update(app, 5)  # 2 -> 5 is not a return to stock
    stock_update(app, 3, location=99)  # another location adds stock: the total was already > 0
    assert [len(texts(fake_mitto, p)) for p in phones] == [1, 1, 0]
    stock_update(app, 0)
    deliver(
        app,
        "inventory_levels/update",
        payload("inventory_levels/update", inventory_item_id=ITEM, location_id=99, available=0),
    )
    stock_update(app, 1)
    assert [len(texts(fake_mitto, p)) for p in phones] == [1, 1, 1]
    assert db.session.scalar(select(func.count()).select_from(StockLevel)) == 2
    states = db.session.scalars(select(BackInStockRequest.state)).all()
    assert {s.value for s in states} == {"notified"}
    assert len(fake_shopify.requests_of("graphql")) == 2  # one lookup per return to stock


def test_a_throttled_admin_api_retries_the_stock_webhook_without_losing_the_transition(
    shop_app, fake_mitto, fake_shopify
):
    app, api, _shop = shop_app
    fake_shopify.add_inventory_item(ITEM, variant_id=VARIANT, product_title="Blue mug", handle="blue-mug")
    enable(api, "back_in_stock")
    subscriber(api, "+14155550101")
    ask_for_stock(app, "+14155550101")
    fake_shopify.graphql_errors_next([{"message": "Internal error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}])
    from jobs.webhooks import process_webhook_event
    from shopify_app.services.webhooks.webhook_intake import unprocessed_event_ids

    response = app.test_client().post(
        "/webhooks/shopify",
        **webhook_request(
            "inventory_levels/update",
            payload("inventory_levels/update", inventory_item_id=ITEM, available=4),
            shop=SHOP,
        ),
    )
    assert response.status_code == 200
    if not app.config["QUEUE_ASYNC"]:  # inline: the failed run rolled the level back with it
        assert fake_mitto.received == []
        assert db.session.scalar(select(func.count()).select_from(StockLevel)) == 0
    # A worker retries the job by itself (RQ retry); inline, the periodic re-enqueue does.
    settle_jobs(app)
    for event_id in unprocessed_event_ids(older_than=timedelta(0)):
        process_webhook_event(event_id)
    settle_jobs(app)
    assert len(texts(fake_mitto, "+14155550101")) == 1  # the transition was not lost, and sent once
    assert db.session.scalar(select(func.count()).select_from(StockLevel)) == 1


def test_back_in_stock_requires_consent_and_a_variant(shop_app):
    app, _api, _shop = shop_app
    url = "/proxy/back-in-stock?" + proxy_query(shop=SHOP)
    no_consent = app.test_client().post(url, json={"phone": SHOPPER, "variant_id": VARIANT})
    assert no_consent.status_code == 422
    no_variant = app.test_client().post(url, json={"phone": SHOPPER, "consent": True})
    assert no_variant.status_code == 422
    forged = app.test_client().post(url.replace("signature=", "signature=0"), json={"phone": SHOPPER})
    assert forged.status_code == 401
    assert db.session.scalar(select(func.count()).select_from(BackInStockRequest)) == 0


# --- credits, disabling --------------------------------------------------------------------------


def test_an_automation_never_sends_on_credit(shop_app, fake_mitto):
    app, api, shop = shop_app
    enable(api, "welcome")
    ledger.grant(shop_id=shop.id, amount=1, key="grant:one")
    db.session.add(CreditLedger(shop_id=shop.id, kind="debit", amount=-1000, idempotency_key="spent"))
    db.session.commit()
    subscriber(api, "+14155550101")
    subscriber(api, "+14155550102")
    settle_jobs(app)
    automations.dispatch_due()
    settle_jobs(app)
    states = sorted((m.state.value, m.skip_reason) for m in db.session.scalars(select(Message)))
    assert states == [("sent", None), ("skipped", "insufficient_credits")]
    assert ledger.balance(shop_id=shop.id) == 0


def test_disabling_cancels_what_is_pending(shop_app, fake_mitto):
    app, api, _shop = shop_app
    automation = enable(api, "abandoned_checkout", delay_minutes=60)
    subscriber(api)
    deliver(app, "checkouts/update", payload("checkouts/update"))
    api.patch(f"/api/automations/{automation['id']}", json={"enabled": False})
    assert runs()[0].state.value == "cancelled"
    dispatch(app, at=utcnow() + timedelta(hours=2))
    assert fake_mitto.received == []
    listed = api.get(f"/api/automations/{automation['id']}/runs").get_json()["items"]
    assert [(r["state"], r["cancel_reason"]) for r in listed] == [("cancelled", "automation_disabled")]


def test_turning_off_during_a_call_answered_429_cancels_the_text(shop_app, fake_mitto, monkeypatch):
    """The batch's rows are in its call when the merchant turns the automation off: the 429
    proves nothing was sent, and the text is cancelled instead of waiting for the next batch."""
    app, api, shop = shop_app
    automation = enable(api, "welcome")
    backend = sms_backend()
    real_send = backend.send_bulk
    turned_off: list[int] = []

    def send_while_the_merchant_turns_it_off(messages):
        if not turned_off:
            response = api.patch(f"/api/automations/{automation['id']}", json={"enabled": False})
            turned_off.append(response.status_code)
        return real_send(messages)

    fake_mitto.fail_next(429, times=1, retry_after="1")
    monkeypatch.setattr(backend, "send_bulk", send_while_the_merchant_turns_it_off)
    subscriber(api, first_name="Ana")
    settle_jobs(app)
    dispatch(app, at=utcnow() + timedelta(minutes=5))
    assert turned_off == [200]
    assert fake_mitto.received == []
    db.session.expire_all()
    rows = [(m.state.value, m.skip_reason) for m in db.session.scalars(select(Message))]
    assert rows == [("cancelled", "automation_disabled")]
    assert ledger.balance(shop_id=shop.id) == 1000  # the text's hold was given back


@needs_postgres_and_redis
def test_turning_off_leaves_a_dead_batchs_text_to_the_sweeper(shop_app, fake_mitto):
    """A batch that died after its attempt record may have sent the text: turning the
    automation off does not cancel it (as a campaign's cancel does not); the sweeper makes it
    `unknown` once the record's lease is past."""
    from shopify_app.services.sending.plan import breaker
    from shopify_app.services.sending.state import LEASE
    from shopify_app.services.sending.sweeper import sweep

    app, api, shop = shop_app
    automation = enable(api, "welcome")
    circuit = breaker()
    for _ in range(circuit.threshold):  # nothing goes out: the text stays queued
        circuit.record_failure()
    subscriber(api, first_name="Ana")
    settle_jobs(app, rounds=3, strict=False)  # the open circuit reschedules the batch
    automations.dispatch_due(now=utcnow() + timedelta(minutes=5))
    settle_jobs(app, rounds=3, strict=False)
    [text] = db.session.scalars(select(Message)).all()
    assert text.state.value == "queued"
    now = datetime.now(UTC)
    dead_batch_record(shop.id, text.campaign_id, [text.id], now)
    assert api.patch(f"/api/automations/{automation['id']}", json={"enabled": False}).status_code == 200
    db.session.expire_all()
    assert (text.state.value, text.skip_reason) == ("queued", None)  # maybe sent: not cancelled
    assert sweep(now=now + LEASE + timedelta(seconds=1))["unknown"] == 1
    db.session.expire_all()
    assert text.state.value == "unknown"
    assert fake_mitto.received == []


# --- inbox replies --------------------------------------------------------------------------------


def test_a_reply_from_the_inbox_is_sent_once_per_idempotency_key(shop_app, fake_mitto):
    app, api, shop = shop_app
    contact_id = subscriber(api)
    headers = {"Idempotency-Key": "reply-1"}
    response = api.post(f"/api/inbox/{contact_id}/reply", json={"text": "Yes, it ships Monday."}, headers=headers)
    assert response.status_code == 202, response.get_json()
    # Inline queue (no Redis): sent before the answer; with a worker: queued, sent by the worker.
    assert response.get_json()["state"] in ("sent", "queued")
    settle_jobs(app)
    again = api.post(f"/api/inbox/{contact_id}/reply", json={"text": "Yes, it ships Monday."}, headers=headers)
    assert again.status_code == 202
    assert again.get_json()["id"] == response.get_json()["id"]
    # The first reply of a conversation names the shop and says how to opt out (test_inbox_replies.py).
    assert texts(fake_mitto) == ["Alpha: Yes, it ships Monday. Reply STOP to opt out"]
    assert ledger.balance(shop_id=shop.id) == 999


def test_a_reply_respects_consent_quiet_hours_and_shop_boundaries(shop_app, fake_mitto):
    app, api, _shop = shop_app
    contact_id = subscriber(api)
    assert api.post(f"/api/inbox/{contact_id}/reply", json={"text": "  "}).status_code == 422
    assert api.post(f"/api/inbox/{contact_id}/reply", json={}).status_code == 422
    other = install_shop("beta.myshopify.com")
    other_api = ApiClient(app.test_client(), other.domain)
    assert other_api.post(f"/api/inbox/{contact_id}/reply", json={"text": "hi"}).status_code == 404
    quiet_hours_now(api)  # not 00:00-23:59: that window is open in the day's last minute
    db.session.execute(db.text("UPDATE contacts SET timezone = 'UTC'"))
    db.session.commit()
    assert api.post(f"/api/inbox/{contact_id}/reply", json={"text": "Later"}).status_code == 202
    settle_jobs(app, rounds=3, strict=False)
    deferred = db.session.scalars(select(Message)).one()
    assert deferred.state.value == "deferred"
    assert deferred.defer_until is not None
    api.patch(f"/api/contacts/{contact_id}", json={"consent_state": "unsubscribed"})
    refused = api.post(f"/api/inbox/{contact_id}/reply", json={"text": "hi"})
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "contact_unsubscribed"
    assert fake_mitto.received == []


def test_customer_redact_erases_runs_and_stock_requests(shop_app, fake_mitto):
    app, api, _shop = shop_app
    enable(api, "welcome")
    subscriber(api)
    ask_for_stock(app, SHOPPER)
    settle_jobs(app)
    deliver(app, "customers/data_request", payload("customers/data_request"))
    from shopify_app.models import PrivacyRequest

    export = db.session.scalars(select(PrivacyRequest)).one().export
    assert '"back_in_stock_requests": [{"variant_id": 39072856' in export
    assert '"automation": "welcome"' in export
    deliver(app, "customers/redact", payload("customers/redact"))
    assert runs() == []
    assert db.session.scalar(select(func.count()).select_from(BackInStockRequest)) == 0


def test_uninstalling_turns_automations_off_and_the_webhook_succeeds(shop_app, fake_mitto):
    from shopify_app.models import Automation, WebhookEvent

    app, api, shop = shop_app
    enable(api, "welcome")
    enable(api, "abandoned_checkout", delay_minutes=60)
    subscriber(api)
    deliver(app, "checkouts/update", payload("checkouts/update"))
    deliver(app, "app/uninstalled", payload("app/uninstalled"))
    event = db.session.scalars(select(WebhookEvent).where(WebhookEvent.topic == "app/uninstalled")).one()
    assert event.status.value == "processed"
    db.session.expire_all()
    assert db.session.get(type(shop), shop.id).uninstalled_at is not None
    assert not any(a.enabled for a in db.session.scalars(select(Automation)))
    assert [r.state.value for r in runs() if r.cancel_reason] == ["cancelled"]
    dispatch(app, at=utcnow() + timedelta(hours=2))
    assert len(fake_mitto.received) == 1  # the welcome sent before; nothing after


def test_an_order_cancels_a_reminder_already_waiting_out_quiet_hours(shop_app, fake_mitto):
    app, api, _shop = shop_app
    quiet_hours_now(api)
    enable(api, "abandoned_checkout", delay_minutes=60)
    subscriber(api)
    db.session.execute(db.text("UPDATE contacts SET timezone = 'UTC'"))
    db.session.commit()
    deliver(app, "checkouts/update", payload("checkouts/update"))
    dispatch(app, at=utcnow() + timedelta(minutes=61))  # a message row, deferred by quiet hours
    assert db.session.scalars(select(Message.state)).one().value == "deferred"
    deliver(app, "orders/create", payload("orders/create", checkout_token="123123123"))
    db.session.expire_all()
    assert db.session.scalars(select(Message)).one().state.value == "cancelled"
    assert fake_mitto.received == []


def test_a_pending_fulfillment_texts_nothing_until_it_ships(shop_app, fake_mitto):
    app, api, _shop = shop_app
    enable(api, "shipping_update")
    subscriber(api)
    deliver(app, "orders/create", payload("orders/create"))
    deliver(app, "fulfillments/create", payload("fulfillments/create", status="pending"))
    assert fake_mitto.received == []
    deliver(app, "fulfillments/update", payload("fulfillments/update", status="success"))
    assert len(texts(fake_mitto)) == 1


def test_the_quick_dispatch_is_enqueued_only_when_the_trigger_commits(shop_app):
    from rq.registry import ScheduledJobRegistry

    from shopify_app.extensions import redis_ext
    from shopify_app.models import AutomationKind

    app, api, shop = shop_app
    enable(api, "welcome")
    contact_id = subscriber(api)
    settle_jobs(app)
    registry = ScheduledJobRegistry(queue=redis_ext.queue("automations"))

    def scheduled() -> int:
        return len(registry.get_job_ids())

    automations.trigger(shop_id=shop.id, kind=AutomationKind.WELCOME, contact_id=contact_id, key="again")
    db.session.rollback()
    assert scheduled() == 0
    automations.trigger(shop_id=shop.id, kind=AutomationKind.WELCOME, contact_id=contact_id, key="again")
    assert scheduled() == 0  # not before the commit
    db.session.commit()
    assert scheduled() == 1


def test_automation_messages_are_charged_exactly_what_was_accepted(shop_app, fake_mitto):
    app, api, shop = shop_app
    enable(api, "welcome")
    subscriber(api, "+14155550101", first_name="Ann")
    subscriber(api, "+447400123457", first_name="Жанна-" * 10)  # GB, and long: 2 parts of 3 credits
    settle_jobs(app)
    automations.dispatch_due()
    settle_jobs(app)
    carrier = db.session.scalar(select(Message.campaign_id))
    assert charges_add_up(shop.id, carrier, granted=1000) == sum(db.session.scalars(select(Message.credits)))
    assert [m.state.value for m in db.session.scalars(select(Message))] == ["sent", "sent"]


def test_a_text_that_cannot_be_encoded_is_skipped_not_sent_nor_left_unknown(shop_app, fake_mitto):
    app, api, shop = shop_app
    contact_id = subscriber(api)
    refused = api.post(f"/api/inbox/{contact_id}/reply", json={"text": "Lone \ud800 half"})
    assert refused.status_code == 400  # the door refuses it (shopify_app/inputs.py) ...
    assert refused.get_json()["error"]["code"] == "invalid_input"
    # ... and a text that reaches a batch anyway (another path, stored before) skips only itself.
    from shopify_app.models import Contact
    from shopify_app.services.automations.automations import reply

    reply(shop=shop, contact=db.session.get(Contact, contact_id), text="Lone \ud800 half", key="k1")
    settle_jobs(app)
    db.session.expire_all()
    [message] = db.session.scalars(select(Message)).all()
    assert (message.state.value, message.skip_reason) == ("skipped", "render_failed")
    assert fake_mitto.received == []
    assert ledger.balance(shop_id=shop.id) == 1000


def test_an_automation_given_a_body_and_a_template_is_422(shop_app):
    _app, api, _shop = shop_app
    template = api.post("/api/templates", json={"name": "Hello", "body": "Hi from {{shop_name}}"}).get_json()
    welcome = automation_id(api, "welcome")
    before = api.get(f"/api/automations/{welcome}").get_json()["body"]
    response = api.patch(f"/api/automations/{welcome}", json={"body": "Other", "template_id": template["id"]})
    assert response.status_code == 422
    assert set(response.get_json()["error"]["details"]["fields"]) == {"body", "template_id"}
    assert api.get(f"/api/automations/{welcome}").get_json()["body"] == before
    assert api.patch(f"/api/automations/{welcome}", json={"template_id": template["id"]}).status_code == 200
