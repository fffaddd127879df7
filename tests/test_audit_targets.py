"""Every create through /api is audited with the id of what it made (a route with an id in its
path names its target already): the audit log must say which segment, template or campaign."""

from __future__ import annotations

import io

import pytest

from shopify_app.blueprints.api import NOT_AUDITED

from .conftest import open_shop, settle_jobs
from .images import small_png

SUBSCRIBED = {"consent_state": "subscribed", "consent_text": "ok"}
DISCOUNT = {"title": "Spring", "kind": "shared", "code": "SPRING15", "value_type": "percentage", "value": "15"}
CSV = b"phone,consent\n+14155550102,yes\n"


@pytest.fixture
def shop_api(make_app, fake_shopify):
    app = make_app(SHOPIFY_ADMIN_BASE_URL=fake_shopify.admin_base_url)
    with app.app_context():
        api, _shop = open_shop(app, credits=10, fake_shopify=fake_shopify)
        yield app, api


def created(response, key: str = "id") -> str:
    assert response.status_code in (200, 201, 202), response.get_json()
    return str(response.get_json()[key])


def test_every_create_records_the_new_id_as_its_target(shop_api):
    app, api = shop_api
    contact = created(api.post("/api/contacts", json={"phone": "+14155550101", **SUBSCRIBED}))
    expected = {
        "create_contact": ("contact", contact),
        "create_segment": ("segment", created(api.post("/api/segments", json={"name": "All", "filters": {}}))),
        "create_template": ("template", created(api.post("/api/templates", json={"name": "T", "body": "Hi"}))),
        "create_campaign": ("campaign", created(api.post("/api/campaigns", json={"name": "C", "body": "Hi"}))),
        "create_discount": ("discount", created(api.post("/api/discounts", json=DISCOUNT))),
        "create_import": (
            "transfer",
            created(
                api.post(
                    "/api/contacts/imports",
                    data={"consent_attestation": "true", "file": (io.BytesIO(CSV), "contacts.csv")},
                    content_type="multipart/form-data",
                )
            ),
        ),
        "create_export": ("transfer", created(api.post("/api/contacts/exports"))),
        "start_shopify_import": ("transfer", created(api.post("/api/contacts/shopify-import"))),
        "start_order_backfill": ("order_backfill", created(api.post("/api/segments/order-backfill"))),
        "upload_media": ("media", created(api.post("/api/media", data={"file": (io.BytesIO(small_png()), "a.png")}))),
        "create_flow": ("flow", created(api.post("/api/flows", json={"template": "vip_tag"}))),
        "request_customer_export": (
            "privacy_request",
            created(api.post("/api/privacy/exports", json={"phone": "+14155550101"})),
        ),
        "erase_customer": (
            "privacy_request",
            created(api.post("/api/privacy/erasures", json={"phone": "+14155550102"})),
        ),
        "subscribe": (
            "subscription",
            created(api.post("/api/billing/subscribe", json={"plan": "starter"}), "subscription_id"),
        ),
        "buy_credit_pack": (
            "credit_purchase",
            created(api.post("/api/billing/credit-packs", json={"pack": "500"}), "charge_id"),
        ),
    }
    settle_jobs(app)
    entries = api.get("/api/audit?limit=200").get_json()["items"]
    targets = {e["action"]: (e["target_type"], e["target_id"]) for e in entries if e["actor"] == "user:42"}
    assert {action: targets.get(action) for action in expected} == expected


def test_a_create_that_merges_into_an_existing_contact_names_that_contact(shop_api):
    _app, api = shop_api
    first = created(api.post("/api/contacts", json={"phone": "+14155550101", **SUBSCRIBED}))
    merged = api.post("/api/contacts", json={"phone": "+14155550101", "first_name": "Ana"})
    assert merged.status_code == 200
    [latest, *_] = api.get("/api/audit").get_json()["items"]
    assert (latest["action"], latest["target_type"], latest["target_id"]) == ("create_contact", "contact", first)


def test_every_create_route_is_covered_above(app):
    """A new POST route without an id in its path must name its target (and join the test above)."""
    creates = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api") and "POST" in rule.methods and not rule.arguments
    }
    assert creates - NOT_AUDITED == {
        "api.create_contact",
        "api.create_segment",
        "api.create_template",
        "api.create_campaign",
        "api.create_discount",
        "api.create_import",
        "api.create_export",
        "api.start_shopify_import",
        "api.start_order_backfill",
        "api.request_customer_export",
        "api.erase_customer",
        "api.subscribe",
        "api.buy_credit_pack",
        "api.upload_media",
        "api.raise_usage_cap",  # tests/test_spend_controls.py: names the subscription
        "api.create_flow",
    }
