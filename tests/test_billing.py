"""Billing through the loopback fake Shopify: subscriptions, credit packs, capped overage, the
per-country price table, and a ledger whose sum is the balance under concurrency."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from shopify_app.extensions import db
from shopify_app.models import CreditLedger, Message, Shop
from shopify_app.models.types import utcnow
from shopify_app.services.billing import billing
from shopify_app.services.billing import credits as ledger

from .conftest import ApiClient, open_shop, settle_jobs
from .payloads import payload
from .shopify_signing import webhook_request

SHOP = "alpha.myshopify.com"
SUBSCRIBE = {"consent_state": "subscribed", "consent_text": "Yes, texts please."}


@pytest.fixture
def billed(make_app, fake_shopify):
    app = make_app(SHOPIFY_ADMIN_BASE_URL=fake_shopify.admin_base_url, SEND_RATE_PER_ACCOUNT=0, SEND_RATE_PER_SHOP=0)
    with app.app_context():
        api, shop = open_shop(app, SHOP, fake_shopify=fake_shopify)
        yield app, api, shop


def deliver(app, topic: str, body: dict) -> None:
    response = app.test_client().post("/webhooks/shopify", **webhook_request(topic, body, shop=SHOP))
    assert response.status_code == 200
    settle_jobs(app)


def activate(app, api, plan: str = "starter", status: str = "ACTIVE") -> str:
    created = api.post("/api/billing/subscribe", json={"plan": plan})
    assert created.status_code == 201, created.get_json()
    gid = created.get_json()["subscription_id"]
    body = payload("app_subscriptions/update")
    body["app_subscription"].update(admin_graphql_api_id=gid, name=plan.title(), status=status)
    deliver(app, "app_subscriptions/update", body)
    return gid


def balance(shop) -> int:
    return ledger.balance(shop_id=shop.id)


def mutations(fake_shopify, operation: str) -> list[dict]:
    return [r for r in fake_shopify.requests_of("graphql") if operation + "(" in r["body"].get("query", "")]


# --- subscriptions ------------------------------------------------------------------------------


def test_subscribe_returns_the_confirmation_url_and_asks_for_a_test_charge(billed, fake_shopify):
    _app, api, _shop = billed
    response = api.post("/api/billing/subscribe", json={"plan": "starter"})
    assert response.status_code == 201
    assert response.get_json()["confirmation_url"].startswith(f"https://{SHOP}/admin/charges/confirm")
    [request] = mutations(fake_shopify, "appSubscriptionCreate")
    variables = request["body"]["variables"]
    assert variables["test"] is True
    assert variables["name"] == "Starter"
    assert variables["returnUrl"].startswith("https://admin.shopify.com/store/alpha/apps/")
    recurring, usage = (item["plan"] for item in variables["lineItems"])
    assert recurring["appRecurringPricingDetails"]["price"] == {"amount": "19.00", "currencyCode": "USD"}
    assert usage["appUsagePricingDetails"]["cappedAmount"] == {"amount": "100.00", "currencyCode": "USD"}
    assert api.get("/api/billing").get_json()["plan"]["plan"] == "free"  # not until Shopify says ACTIVE


def test_unknown_plans_and_packs_are_422(billed):
    _app, api, _shop = billed
    assert api.post("/api/billing/subscribe", json={"plan": "free"}).status_code == 422
    assert api.post("/api/billing/subscribe", json={"plan": "gold"}).status_code == 422
    assert api.post("/api/billing/credit-packs", json={"pack": "7"}).status_code == 422
    assert api.post("/api/billing/credit-packs", json={}).status_code == 422


def test_activation_grants_the_plan_credits_once_per_cycle(billed):
    app, api, shop = billed
    gid = activate(app, api)
    body = payload("app_subscriptions/update")
    body["app_subscription"].update(admin_graphql_api_id=gid, name="Starter", status="ACTIVE")
    deliver(app, "app_subscriptions/update", body)  # delivered again
    view = api.get("/api/billing").get_json()
    assert view["plan"]["plan"] == "starter"
    assert view["balance"] == 1000
    assert view["subscription"]["cycle"] == 1
    later = utcnow() + timedelta(days=31)
    assert billing.grant_due_cycle_credits(now=later) == 1
    assert billing.grant_due_cycle_credits(now=later) == 0
    assert balance(shop) == 2000


def test_a_cancelled_old_subscription_does_not_cancel_the_new_plan(billed):
    app, api, shop = billed
    old = activate(app, api, "starter")
    new = activate(app, api, "growth")
    body = payload("app_subscriptions/update")
    body["app_subscription"].update(admin_graphql_api_id=old, name="Starter", status="CANCELLED")
    deliver(app, "app_subscriptions/update", body)
    db.session.refresh(shop)
    assert (shop.subscription_id, shop.subscription_status) == (new, "ACTIVE")
    assert api.get("/api/billing").get_json()["plan"]["plan"] == "growth"
    body["app_subscription"].update(admin_graphql_api_id=new, name="Growth", status="CANCELLED")
    deliver(app, "app_subscriptions/update", body)
    assert api.get("/api/billing").get_json()["plan"]["plan"] == "free"


# --- credit packs -------------------------------------------------------------------------------


def test_a_credit_pack_is_granted_once_when_shopify_confirms_it(billed, fake_shopify):
    app, api, shop = billed
    bought = api.post("/api/billing/credit-packs", json={"pack": "500"})
    assert bought.status_code == 201
    charge = bought.get_json()["charge_id"]
    [request] = mutations(fake_shopify, "appPurchaseOneTimeCreate")
    assert request["body"]["variables"]["price"] == {"amount": "15.00", "currencyCode": "USD"}
    assert balance(shop) == 0  # nothing until Shopify confirms
    body = payload("app_purchases_one_time/update")
    body["app_purchase_one_time"]["admin_graphql_api_id"] = charge
    deliver(app, "app_purchases_one_time/update", body)
    deliver(app, "app_purchases_one_time/update", body)  # confirmed twice
    assert balance(shop) == 500
    grants = db.session.scalars(select(CreditLedger).where(CreditLedger.kind == "grant")).all()
    assert [(g.amount, g.idempotency_key) for g in grants] == [(500, f"purchase:{charge}")]


def test_declined_and_unknown_purchases_grant_nothing(billed):
    app, api, shop = billed
    charge = api.post("/api/billing/credit-packs", json={"pack": "2500"}).get_json()["charge_id"]
    body = payload("app_purchases_one_time/update")
    body["app_purchase_one_time"].update(admin_graphql_api_id=charge, status="DECLINED")
    deliver(app, "app_purchases_one_time/update", body)
    body["app_purchase_one_time"].update(admin_graphql_api_id="gid://shopify/AppPurchaseOneTime/1", status="ACTIVE")
    deliver(app, "app_purchases_one_time/update", body)  # a charge this app never created
    assert balance(shop) == 0


# --- overage ------------------------------------------------------------------------------------


def contacts(api, count: int, prefix: str = "+1415555") -> None:
    for n in range(count):
        assert api.post("/api/contacts", json={"phone": f"{prefix}{n:04d}", **SUBSCRIBE}).status_code == 201


def launch(app, api, body: str = "Hello") -> object:
    campaign = api.post("/api/campaigns", json={"name": f"C {len(body)}", "body": body}).get_json()
    response = api.post(f"/api/campaigns/{campaign['id']}/launch")
    settle_jobs(app)
    return response


def test_overage_buys_the_shortfall_under_the_cap(billed, fake_shopify):
    app, api, shop = billed
    activate(app, api, "starter")
    contacts(api, 3)
    db.session.execute(
        CreditLedger.__table__.insert().values(
            shop_id=shop.id, kind="debit", amount=-999, idempotency_key="spent-elsewhere", created_at=utcnow()
        )
    )
    db.session.commit()
    assert balance(shop) == 1
    assert launch(app, api).status_code == 200  # needs 3, has 1: buys 2 at $0.03
    [usage] = mutations(fake_shopify, "appUsageRecordCreate")
    assert usage["body"]["variables"]["price"] == {"amount": "0.06", "currencyCode": "USD"}
    assert balance(shop) == 0
    assert api.get("/api/billing").get_json()["overage"] == {"cap": "100", "used": "0.06"}


def test_overage_past_the_cap_is_402_with_the_figures(billed):
    app, api, shop = billed
    activate(app, api, "starter")
    db.session.execute(
        CreditLedger.__table__.insert().values(
            shop_id=shop.id, kind="debit", amount=-1000, idempotency_key="spent-elsewhere", created_at=utcnow()
        )
    )
    db.session.commit()
    contacts(api, 1)
    long_body = "x" * 1500  # 10 segments -> 10 credits; cap $100 at $0.03 = 3,333 credits
    from shopify_app.models import UsageCharge

    db.session.add(
        UsageCharge(
            shop_id=shop.id,
            idempotency_key="earlier",
            subscription_id=shop.subscription_id,
            amount=99.90,
            credits=3330,
            period_start=utcnow(),
        )
    )
    db.session.commit()
    response = launch(app, api, long_body)
    assert response.status_code == 402
    details = response.get_json()["error"]["details"]
    assert details["overage"] == {"cap": "100", "used": "99.90", "needed": "0.30"}
    assert db.session.scalar(select(func.count()).select_from(Message)) == 0


def test_free_plan_shortfall_is_402(billed, fake_shopify):
    app, api, _shop = billed
    contacts(api, 1)
    response = launch(app, api)
    assert response.status_code == 402
    assert response.get_json()["error"]["details"] == {"required": 1, "available": 0, "plan": "free"}
    assert mutations(fake_shopify, "appUsageRecordCreate") == []


# --- price table --------------------------------------------------------------------------------


def test_credits_depend_on_the_destination_country(billed):
    app, api, shop = billed
    ledger.grant(shop_id=shop.id, amount=100, key="grant:test")
    db.session.commit()
    contacts(api, 2)  # US: 1 credit per segment
    api.post("/api/contacts", json={"phone": "+447400123456", **SUBSCRIBE})  # GB: 3
    api.post("/api/contacts", json={"phone": "+306912345678", **SUBSCRIBE})  # GR: 4
    campaign = api.post("/api/campaigns", json={"name": "C", "body": "Hello"}).get_json()
    estimate = api.get(f"/api/campaigns/{campaign['id']}/estimate").get_json()
    assert estimate["credits_by_country"] == {"US": 2, "GB": 3, "GR": 4}
    assert estimate["credits"] == 9
    assert api.post(f"/api/campaigns/{campaign['id']}/launch").status_code == 200
    settle_jobs(app)
    charged = sorted(m.credits for m in db.session.scalars(select(Message)))
    assert charged == [1, 1, 3, 4]
    assert balance(shop) == 91


# --- the ledger -----------------------------------------------------------------------------------


def test_the_ledger_pages_newest_first(billed):
    _app, api, shop = billed
    for n in range(5):
        ledger.grant(shop_id=shop.id, amount=n + 1, key=f"g{n}")
    db.session.commit()
    first = api.get("/api/billing?limit=2").get_json()
    assert [e["amount"] for e in first["ledger"]["items"]] == [5, 4]
    second = api.get(f"/api/billing?limit=2&cursor={first['ledger']['next_cursor']}").get_json()
    assert [e["amount"] for e in second["ledger"]["items"]] == [3, 2]
    assert first["balance"] == 15
    assert first["currency"] == "USD"  # of every price on the page, whatever the shop's currency


def test_balance_is_the_ledger_sum_and_never_negative_under_concurrency(make_app):
    """Concurrent launches (credits for some), grants and refunds: every prefix of the ledger in id
    order is >= 0 (a hold only ever saw committed credits), and the balance is the sum."""
    app = make_app(SEND_RATE_PER_ACCOUNT=0, SEND_RATE_PER_SHOP=0)
    with app.app_context():
        api, shop = open_shop(app, SHOP, credits=10)
        contacts(api, 4)
        campaign_ids = [
            api.post("/api/campaigns", json={"name": f"C{n}", "body": "Hi"}).get_json()["id"] for n in range(6)
        ]
        shop_id = shop.id
    statuses: list[int] = []
    barrier = threading.Barrier(len(campaign_ids) + 4)

    def launch_one(campaign_id: int) -> None:
        with app.app_context():
            barrier.wait()
            client = ApiClient(app.test_client(), SHOP)
            statuses.append(client.post(f"/api/campaigns/{campaign_id}/launch").status_code)

    errors: list[BaseException] = []

    def grant_some(n: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                ledger.grant(shop_id=shop_id, amount=2, key=f"grant:{n}")
                refund = {"shop_id": shop_id, "kind": "refund", "amount": 1, "idempotency_key": f"refund:test{n}"}
                ledger._append([refund])
                db.session.commit()
            except BaseException as exc:  # surfaced below: a thread's exception is otherwise lost
                errors.append(exc)
                raise

    threads = [threading.Thread(target=launch_one, args=(c,)) for c in campaign_ids]
    threads += [threading.Thread(target=grant_some, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with app.app_context():
        settle_jobs(app)
        amounts = [a for (a,) in db.session.execute(select(CreditLedger.amount).order_by(CreditLedger.id))]
        running = 0
        for amount in amounts:
            running += amount
            assert running >= 0
        assert ledger.balance(shop_id=shop_id) == sum(amounts) >= 0
        launched = statuses.count(200)
        assert launched + statuses.count(402) == len(campaign_ids)
        # 10 + 4 x (2 granted + 1 refunded) = 22 credits; each launch costs 4.
        assert 2 <= launched <= 5
        assert sum(amounts) == 22 - 4 * launched
        assert db.session.scalar(select(func.count()).select_from(Message)) == 4 * launched
        assert db.session.get(Shop, shop_id) is not None
