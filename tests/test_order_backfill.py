"""The backfill of past orders from the Admin API (loopback fake): paginated by cursor, resumable,
idempotent with the webhooks, patient with THROTTLED / 429 / 5xx, 60 days without
read_all_orders, one at a time per shop, another shop's nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from shopify_app.extensions import db
from shopify_app.models import Attribution, Contact, ContactDiscountCode, ContactProduct, Order, OrderBackfill, Shop
from shopify_app.services.automations import order_backfill

from .conftest import ApiClient, install_shop, open_shop, settle_jobs

SHOP = "alpha.myshopify.com"
BOB = "+14155550199"


@pytest.fixture
def world(make_app, fake_shopify):
    app = make_app(SHOPIFY_ADMIN_BASE_URL=fake_shopify.admin_base_url)
    with app.app_context():
        api, shop = open_shop(app, SHOP, fake_shopify=fake_shopify)
        bob = api.post("/api/contacts", json={"phone": BOB, "consent_state": "subscribed", "consent_text": "ok"})
        yield app, api, shop, bob.get_json()["id"]


def days_ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def add_orders(fake, count: int, *, start_id: int = 1, phone: str = BOB) -> None:
    for n in range(count):
        fake.add_order(
            SHOP,
            order_id=start_id + n,
            created_at=days_ago(50 - n * 0.01),
            total="10.00",
            phone=phone,
            products=((700 + n % 3, f"Product {n % 3}"),),
            codes=("SPRING",) if n % 2 else (),
        )


def backfill(app, api, body=None, expect: int = 202) -> dict:
    response = api.post("/api/segments/order-backfill", json=body) if body else api.post("/api/segments/order-backfill")
    assert response.status_code == expect, response.get_json()
    settle_jobs(app)
    db.session.expire_all()
    return api.get("/api/segments/order-backfill").get_json()


def bobs_summary(bob: int) -> tuple[int, Decimal]:
    contact = db.session.get(Contact, bob)
    return contact.order_count, contact.total_spent


def test_the_last_60_days_of_orders_become_summaries_products_and_codes(world, fake_shopify, monkeypatch):
    app, api, _shop, bob = world
    monkeypatch.setattr(order_backfill, "PAGE_SIZE", 10)
    monkeypatch.setattr(order_backfill, "PAGES_PER_RUN", 2)  # 25 orders: three pages, two runs
    add_orders(fake_shopify, 25)
    fake_shopify.add_order(SHOP, order_id=900, created_at=days_ago(70), total="99.00", phone=BOB)  # too old
    fake_shopify.add_order(SHOP, order_id=901, created_at=days_ago(0.001), total="99.00", phone=BOB)  # webhooks'
    progress = backfill(app, api)
    assert (progress["status"], progress["pages"], progress["orders_seen"], progress["orders_added"]) == (
        "completed",
        3,
        25,
        25,
    )
    assert bobs_summary(bob) == (25, Decimal("250.00"))
    assert db.session.scalar(select(func.count()).select_from(ContactProduct)) == 3
    assert db.session.scalars(select(ContactDiscountCode.code)).all() == ["SPRING"]
    assert db.session.scalar(select(func.count()).select_from(Attribution)) == 0  # past orders: none
    [query] = {q["query"] for q in fake_shopify.order_queries}
    assert query.startswith("created_at:>='")
    assert "AND created_at:<'" in query
    assert [q["after"] for q in fake_shopify.order_queries] == [None, "10", "20"]


def test_a_second_backfill_and_the_webhooks_count_no_order_twice(world, fake_shopify):
    app, api, _shop, bob = world
    add_orders(fake_shopify, 3)
    backfill(app, api)
    backfill(app, api)
    assert bobs_summary(bob) == (3, Decimal("30.00"))
    assert db.session.scalar(select(func.count()).select_from(Order)) == 3
    assert api.get("/api/segments/order-backfill").get_json()["orders_added"] == 0


def test_throttled_429_and_5xx_are_waited_out_and_the_cursor_resumes(world, fake_shopify, monkeypatch):
    app, api, _shop, bob = world
    monkeypatch.setattr(order_backfill, "PAGE_SIZE", 2)
    add_orders(fake_shopify, 5)
    # Past the client's own four attempts each time: the job itself defers and resumes.
    fake_shopify.throttle_next(4)
    fake_shopify.fail_next("graphql", 429, times=4, retry_after="1")
    fake_shopify.fail_next("graphql", 503, times=4)
    progress = backfill(app, api)
    assert progress["status"] == "completed"
    assert bobs_summary(bob) == (5, Decimal("50.00"))
    assert progress["orders_seen"] == 5


def test_an_outage_that_outlasts_the_retries_fails_the_backfill_saying_why(world, fake_shopify, monkeypatch):
    app, api, _shop, _bob = world
    monkeypatch.setattr(order_backfill, "MAX_FAILURES", 1)
    add_orders(fake_shopify, 2)
    fake_shopify.fail_next("graphql", 503, times=8)
    progress = backfill(app, api)
    assert progress["status"] == "failed"
    assert "ShopifyUnavailable" in progress["error"]


def test_access_denied_fails_at_once(world, fake_shopify):
    app, api, _shop, _bob = world
    fake_shopify.graphql_errors_next([{"message": "Access denied", "extensions": {"code": "ACCESS_DENIED"}}])
    progress = backfill(app, api)
    assert progress["status"] == "failed"
    assert "Shopify refused" in progress["error"]


def test_more_than_60_days_needs_read_all_orders(world, fake_shopify):
    app, api, shop, _bob = world
    refused = api.post("/api/segments/order-backfill", json={"days": 365})
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "read_all_orders_required"
    db.session.get(Shop, shop.id).scopes = "read_orders,read_all_orders"
    db.session.commit()
    fake_shopify.add_order(SHOP, order_id=5, created_at=days_ago(200), total="7.00", phone=BOB)
    assert backfill(app, api, {"days": 365})["orders_added"] == 1


@pytest.mark.parametrize("body", [{"days": 0}, {"days": "60"}, {"days": 4000}, {"since": "2026-01-01"}])
def test_bad_backfill_requests_are_422(world, body):
    _app, api, _shop, _bob = world
    assert api.post("/api/segments/order-backfill", json=body).status_code == 422


def test_one_backfill_at_a_time_and_another_shop_sees_none(world, fake_shopify):
    app, api, _shop, _bob = world
    first = api.post("/api/segments/order-backfill")
    again = api.post("/api/segments/order-backfill")
    assert (first.status_code, again.status_code) == (202, 200)
    assert first.get_json()["id"] == again.get_json()["id"]
    other = ApiClient(app.test_client(), install_shop("beta.myshopify.com").domain)
    assert other.get("/api/segments/order-backfill").status_code == 204
    settle_jobs(app)
    assert db.session.scalar(select(func.count()).select_from(OrderBackfill)) == 1


def test_an_uninstalled_shops_backfill_ends_failed(world, fake_shopify):
    app, api, shop, _bob = world
    started = api.post("/api/segments/order-backfill").get_json()
    db.session.get(Shop, shop.id).uninstalled_at = datetime.now(UTC)
    db.session.commit()
    settle_jobs(app)
    db.session.expire_all()
    assert db.session.get(OrderBackfill, started["id"]).status.value == "failed"
    assert fake_shopify.order_queries == []
