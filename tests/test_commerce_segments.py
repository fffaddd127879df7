"""Segments on commerce data: order webhooks keep each contact's summary (orders, total spent,
first and last order) and what they bought with (products, discount codes) idempotently; the
filters count the right contacts, reject bad ranges, never cross shops; erasure takes it all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from shopify_app.extensions import db
from shopify_app.models import (
    Contact,
    ContactDiscountCode,
    ContactProduct,
    Message,
    Order,
    SeenProduct,
)
from shopify_app.services.campaigns import last_messaged

from .payloads import SHOP, payload
from .shopify_signing import webhook_request
from .test_jobs import drain_if_async

SUBSCRIBE = {"consent_state": "subscribed", "consent_text": "Yes please."}
BOB = "+14155550199"  # the phone of the sample order's customer
NOV_1 = "2026-11-01T10:00:00Z"


def deliver(app, topic: str, body: dict, *, webhook_id: str | None = None) -> None:
    request = webhook_request(topic, body, shop=SHOP, **({"webhook_id": webhook_id} if webhook_id else {}))
    response = app.test_client().post("/webhooks/shopify", **request)
    assert response.status_code == 200, response.get_json()
    drain_if_async(app)
    db.session.expire_all()


def order(order_id: int, *, total: str, created_at: str, products=(), codes=(), phone: str = BOB) -> dict:
    return payload(
        "orders/create",
        id=order_id,
        total_price=total,
        created_at=created_at,
        customer={"id": None, "phone": phone},
        line_items=[{"id": order_id + n, "product_id": pid, "title": title} for n, (pid, title) in enumerate(products)],
        discount_codes=[{"code": code, "amount": "1.00", "type": "fixed_amount"} for code in codes],
    )


def summary(contact_id: int) -> tuple:
    contact = db.session.get(Contact, contact_id)
    return contact.order_count, contact.total_spent, contact.first_order_at, contact.last_order_at


def count(api, filters) -> dict:
    response = api.post("/api/segments/count", json={"filters": filters})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture
def bob(api):
    return api.post("/api/contacts", json={"phone": BOB, **SUBSCRIBE}).get_json()["id"]


# --- the webhooks keep the summary ------------------------------------------------------------


def test_orders_build_the_summary_products_and_codes(app, api, bob):
    deliver(app, "orders/create", order(1, total="30.00", created_at="2026-11-01T10:00:00Z", products=[(7, "Mug")]))
    deliver(
        app,
        "orders/paid",
        order(2, total="12.50", created_at="2026-11-20T10:00:00Z", products=[(8, "Tea")], codes=[" welcome10 "]),
    )
    first, last = datetime(2026, 11, 1, 10, tzinfo=UTC), datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert summary(bob) == (2, Decimal("42.50"), first, last)
    products = db.session.scalars(select(ContactProduct.product_id).where(ContactProduct.contact_id == bob))
    assert sorted(products) == [7, 8]
    assert db.session.scalars(select(ContactDiscountCode.code)).all() == ["WELCOME10"]
    assert {p.product_id: p.title for p in db.session.scalars(select(SeenProduct))} == {7: "Mug", 8: "Tea"}


def test_an_order_delivered_twice_paid_and_updated_counts_once(app, api, bob):
    body = order(1, total="30.00", created_at="2026-11-01T10:00:00Z", products=[(7, "Mug")], codes=["X"])
    deliver(app, "orders/create", body, webhook_id="first")
    deliver(app, "orders/create", body, webhook_id="again")  # a redelivery under a new webhook id
    deliver(app, "orders/paid", body)
    deliver(app, "orders/updated", {**body, "total_price": "25.00"}, webhook_id="edit-1")
    deliver(app, "orders/updated", {**body, "total_price": "25.00"}, webhook_id="edit-2")
    assert summary(bob)[:2] == (1, Decimal("25.00"))
    assert db.session.scalar(select(func.count()).select_from(ContactProduct)) == 1
    assert db.session.scalar(select(func.count()).select_from(ContactDiscountCode)) == 1


def test_an_update_of_an_order_never_recorded_is_left_to_orders_create(app, api, bob):
    deliver(app, "orders/updated", order(9, total="99.00", created_at="2026-11-01T10:00:00Z"))
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0
    assert summary(bob)[:2] == (0, Decimal("0.00"))


def test_an_order_of_someone_not_a_contact_names_its_products_for_the_picker_only(app, api, bob):
    deliver(
        app,
        "orders/create",
        order(1, total="5.00", created_at="2026-11-01T10:00:00Z", products=[(7, "Mug")], phone="+14155550111"),
    )
    assert db.session.scalar(select(func.count()).select_from(ContactProduct)) == 0
    assert db.session.scalars(select(SeenProduct.title)).all() == ["Mug"]
    assert summary(bob)[0] == 0


# --- the filters ------------------------------------------------------------------------------


@pytest.fixture
def shoppers(api):
    """Four subscribed contacts with known summaries, products, codes, clicks and texts."""
    now = datetime.now(UTC)

    def make(phone: str, **values) -> int:
        contact_id = api.post("/api/contacts", json={"phone": phone, **SUBSCRIBE}).get_json()["id"]
        if values:
            db.session.execute(update(Contact).where(Contact.id == contact_id).values(**values))
        return contact_id

    ids = {
        "big": make(
            "+14155550101", order_count=4, total_spent=Decimal("400.00"), last_order_at=now - timedelta(days=5)
        ),
        "small": make(
            "+14155550102", order_count=1, total_spent=Decimal("20.00"), last_order_at=now - timedelta(days=90)
        ),
        "clicker": make("+14155550103", last_clicked_at=now - timedelta(days=2)),
        "none": make("+14155550104"),
    }
    shop_id = db.session.get(Contact, ids["big"]).shop_id
    db.session.add_all(
        [
            ContactProduct(contact_id=ids["big"], product_id=7, shop_id=shop_id),
            ContactProduct(contact_id=ids["small"], product_id=8, shop_id=shop_id),
            ContactDiscountCode(contact_id=ids["small"], code="WELCOME10", shop_id=shop_id),
            Message(shop_id=shop_id, campaign_id=1, contact_id=ids["none"], sent_at=now - timedelta(days=3)),
            Message(shop_id=shop_id, campaign_id=2, contact_id=ids["clicker"], sent_at=now - timedelta(days=40)),
            Message(shop_id=shop_id, campaign_id=2, contact_id=ids["big"]),  # queued: not received
        ]
    )
    db.session.commit()
    last_messaged.roll_up_shop(shop_id=shop_id, since=now - timedelta(days=61))
    db.session.commit()
    return ids


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"orders_min": 2}, 1),
        ({"orders_min": 1, "orders_max": 1}, 1),
        ({"orders_max": 0}, 2),
        ({"total_spent_min": "100"}, 1),
        ({"total_spent_max": "20.00"}, 3),
        ({"aov_min": "50"}, 1),  # big: 100 per order; small: 20
        ({"aov_max": "50"}, 1),  # contacts without orders have no average
        ({"last_order_within_days": 30}, 1),
        ({"last_order_older_than_days": 30}, 1),
        ({"last_order_within_days": 120, "last_order_older_than_days": 30}, 1),
        ({"products_any": [7, 8]}, 2),
        ({"products_any": [9]}, 0),
        ({"discount_codes_any": ["welcome10"]}, 1),  # codes match in any case
        ({"clicked_within_days": 7}, 1),
        ({"clicked_within_days": 1}, 0),
        ({"has_clicked": False}, 3),  # never clicked
        ({"received_within_days": 7}, 1),
        ({"received_within_days": 60}, 2),
        ({"products_any": [7], "total_spent_min": "500"}, 0),
    ],
)
def test_commerce_filters_count_the_right_contacts(api, shoppers, filters, expected):
    assert count(api, filters)["count"] == expected


def test_a_saved_segment_keeps_its_commerce_filters_normalised(api, shoppers):
    filters = {"total_spent_min": "100.5", "discount_codes_any": [" Welcome10 "], "products_any": [7]}
    created = api.post("/api/segments", json={"name": "Big spenders", "filters": filters})
    assert created.status_code == 201, created.get_json()
    saved = created.get_json()["filters"]
    assert saved == {"total_spent_min": "100.50", "discount_codes_any": ["WELCOME10"], "products_any": [7]}
    assert api.get(f"/api/segments/{created.get_json()['id']}/count").get_json()["count"] == 0


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"orders_min": -1}, "orders_min"),
        ({"orders_min": "2"}, "orders_min"),  # strict: a number, not a string
        ({"orders_min": 3, "orders_max": 2}, "orders_min"),
        ({"total_spent_min": "-5"}, "total_spent_min"),
        ({"aov_min": "abc"}, "aov_min"),
        ({"aov_min": "90", "aov_max": "10"}, "aov_min"),
        ({"last_order_within_days": 0}, "last_order_within_days"),
        ({"clicked_within_days": 4000}, "clicked_within_days"),
        ({"last_order_within_days": 30, "last_order_older_than_days": 30}, "last_order_older_than_days"),
        ({"products_any": []}, "products_any"),
        ({"products_any": ["mug"]}, "products_any"),
        ({"products_any": list(range(1, 52))}, "products_any"),
        ({"discount_codes_any": ["   "]}, "discount_codes_any"),
        ({"received_within_days": True}, "received_within_days"),
    ],
)
def test_bad_commerce_filters_are_422_naming_the_field(api, filters, field):
    response = api.post("/api/segments/count", json={"filters": filters})
    assert response.status_code == 422
    assert field in response.get_json()["error"]["details"]["fields"]["filters"]


def test_another_shops_purchases_never_count(api, other_api, shoppers):
    assert count(other_api, {"products_any": [7, 8]})["count"] == 0
    assert count(other_api, {"orders_min": 1})["count"] == 0


def test_the_roll_up_moves_last_messaged_forward_only_and_per_shop(app, api, other_api, shoppers):
    now = datetime.now(UTC)
    other = other_api.post("/api/contacts", json={"phone": "+306912345678", **SUBSCRIBE}).get_json()["id"]
    shop_id = db.session.get(Contact, shoppers["none"]).shop_id
    other_shop_id = db.session.get(Contact, other).shop_id
    db.session.add_all(
        [
            Message(shop_id=shop_id, campaign_id=3, contact_id=shoppers["small"], sent_at=now - timedelta(minutes=5)),
            Message(shop_id=other_shop_id, campaign_id=4, contact_id=other, sent_at=now - timedelta(minutes=5)),
        ]
    )
    db.session.commit()
    assert last_messaged.roll_up_last_messaged() == {"shops": 2, "contacts": 2}
    assert last_messaged.roll_up_last_messaged() == {"shops": 2, "contacts": 0}  # a repeat moves nothing
    db.session.expire_all()
    assert db.session.get(Contact, shoppers["small"]).last_messaged_at == now - timedelta(minutes=5)
    # An older text met by a wider window never moves the column back.
    before = db.session.get(Contact, shoppers["none"]).last_messaged_at
    assert last_messaged.roll_up_shop(shop_id=shop_id, since=now - timedelta(days=90)) == 0
    assert db.session.get(Contact, shoppers["none"]).last_messaged_at == before
    assert count(api, {"received_within_days": 1})["count"] == 1
    assert count(other_api, {"received_within_days": 1})["count"] == 1


# --- the product picker -----------------------------------------------------------------------


def test_the_product_picker_searches_the_shops_titles_and_ids(app, api, other_api, bob):
    body = order(1, total="5.00", created_at="2026-11-01T10:00:00Z", products=[(7, "Blue Mug"), (8, "Green Tea 100%")])
    deliver(app, "orders/create", body)
    assert api.get("/api/segments/products?q=mug").get_json() == {"items": [{"id": 7, "title": "Blue Mug"}]}
    assert [p["id"] for p in api.get("/api/segments/products?q=8").get_json()["items"]] == [8]
    assert [p["id"] for p in api.get("/api/segments/products?q=100%").get_json()["items"]] == [8]  # % is literal
    assert [p["id"] for p in api.get("/api/segments/products").get_json()["items"]] == [7, 8]
    assert other_api.get("/api/segments/products").get_json() == {"items": []}
    assert api.get("/api/segments/products?limit=0").status_code == 422
    assert api.get("/api/segments/products?shop=beta").status_code == 422


# --- erasure -----------------------------------------------------------------------------------


def test_customer_redact_erases_what_the_customer_bought_but_keeps_the_catalogue(app, api, bob):
    deliver(
        app,
        "orders/create",
        order(1, total="5.00", created_at="2026-11-01T10:00:00Z", products=[(7, "Mug")], codes=["X"]),
    )
    assert db.session.scalar(select(func.count()).select_from(ContactProduct)) == 1
    deliver(app, "customers/redact", payload("customers/redact"))
    assert db.session.get(Contact, bob) is None
    assert db.session.scalar(select(func.count()).select_from(ContactProduct)) == 0
    assert db.session.scalar(select(func.count()).select_from(ContactDiscountCode)) == 0
    assert db.session.scalars(select(SeenProduct.title)).all() == ["Mug"]


def test_shop_redact_erases_the_new_tables(app, api, bob, shop):
    deliver(
        app,
        "orders/create",
        order(1, total="5.00", created_at="2026-11-01T10:00:00Z", products=[(7, "Mug")], codes=["X"]),
    )
    assert api.post("/api/segments/order-backfill").status_code == 202
    deliver(app, "shop/redact", payload("shop/redact"))
    for model in (ContactProduct, ContactDiscountCode, SeenProduct):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0, model.__tablename__
