"""Discount codes through the loopback fake Shopify: conflicts, throttling, shared and unique codes."""

from __future__ import annotations

import re

import pytest

from shopify_app.extensions import sms_backend

from .conftest import ApiClient, install_shop, open_shop, settle_jobs

SHOP = "alpha.myshopify.com"
PHONES = ["+14155550101", "+14155550102", "+14155550103"]


@pytest.fixture
def shop_api(make_app, fake_shopify):
    app = make_app(SHOPIFY_ADMIN_BASE_URL=fake_shopify.admin_base_url, SEND_RATE_PER_ACCOUNT=0, SEND_RATE_PER_SHOP=0)
    with app.app_context():
        api, _shop = open_shop(app, SHOP, credits=100, fake_shopify=fake_shopify)
        for phone in PHONES:
            api.post("/api/contacts", json={"phone": phone, "consent_state": "subscribed", "consent_text": "ok"})
        yield app, api


def discount(api, **fields) -> object:
    body = {"title": "Spring", "kind": "shared", "code": "SPRING15", "value_type": "percentage", "value": "15"}
    return api.post("/api/discounts", json={**body, **fields})


def test_a_shared_discount_is_created_in_the_shop(shop_api, fake_shopify):
    _app, api = shop_api
    response = discount(api)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["code"] == "SPRING15"
    [node] = fake_shopify.discounts.values()
    assert node["details"]["code"] == "SPRING15"
    assert node["details"]["customerGets"]["value"] == {"percentage": 0.15}
    assert api.get("/api/discounts").get_json()["items"][0]["title"] == "Spring"


def test_conflicts_are_409_with_details(shop_api, fake_shopify):
    _app, api = shop_api
    fake_shopify.discount_codes[(SHOP, "WELCOME10")] = "gid://shopify/DiscountCodeNode/1"
    taken = discount(api, title="Welcome", code="welcome10")
    assert taken.status_code == 409
    assert taken.get_json()["error"]["details"] == {
        "field": "code",
        "code": "WELCOME10",
        "shopify_id": "gid://shopify/DiscountCodeNode/1",
    }
    first = discount(api).get_json()
    again = discount(api, code="OTHER")
    assert again.status_code == 409
    assert again.get_json()["error"]["details"] == {"field": "title", "discount_id": first["id"]}


@pytest.mark.parametrize(
    "fields",
    [
        {"value": "150"},
        {"value": "0"},
        {"code": "no spaces"},
        {"kind": "unique", "code": "TOOLONGPREFIX"},
        {"value_type": "bogus"},
        {"title": ""},
    ],
)
def test_invalid_discounts_are_422(shop_api, fields, fake_shopify):
    _app, api = shop_api
    assert discount(api, **fields).status_code == 422
    assert fake_shopify.discounts == {}


def test_a_throttled_admin_api_is_waited_out(shop_api, fake_shopify):
    _app, api = shop_api
    fake_shopify.throttle_next(2)
    assert discount(api).status_code == 201


def send(app, api, discount_id: int) -> None:
    body = {"name": "Sale", "body": "Your code: {{discount_code}}", "discount_id": discount_id}
    campaign = api.post("/api/campaigns", json=body)
    assert campaign.status_code == 201, campaign.get_json()
    assert api.post(f"/api/campaigns/{campaign.get_json()['id']}/launch").status_code == 200
    settle_jobs(app)


def test_a_campaign_fills_in_the_shared_code(shop_api):
    app, api = shop_api
    send(app, api, discount(api).get_json()["id"])
    assert {m.text for m in sms_backend().sent} == {"Alpha: Your code: SPRING15 Reply STOP to opt out"}


def test_unique_codes_are_one_per_recipient_and_exist_before_they_are_sent(shop_api, fake_shopify):
    app, api = shop_api
    created = discount(api, title="VIP", kind="unique", code="vip", value_type="fixed_amount", value="5.00")
    assert created.status_code == 201
    send(app, api, created.get_json()["id"])
    codes = [re.search(r"Your code: (\S+)", m.text).group(1) for m in sms_backend().sent]
    assert len(codes) == len(set(codes)) == len(PHONES)
    assert all(re.fullmatch(r"VIP-[0-9A-F]{7,14}", code) for code in codes)
    [node] = fake_shopify.discounts.values()
    assert set(codes) <= set(node["codes"])
    assert node["details"]["customerGets"]["value"] == {
        "discountAmount": {"amount": "5.00", "appliesOnEachItem": False}
    }


def test_when_shopify_refuses_the_codes_nothing_is_sent_until_it_takes_them(shop_api, fake_shopify):
    app, api = shop_api
    discount_id = discount(api, title="VIP", kind="unique", code="VIP").get_json()["id"]
    fake_shopify.graphql_errors_next([{"message": "Internal error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}])
    send(app, api, discount_id)  # the first batch is put back and retried after a backoff
    texts = [m.text for m in sms_backend().sent]
    assert len(texts) == len(PHONES)
    [node] = fake_shopify.discounts.values()
    assert {re.search(r"Your code: (\S+)", t).group(1) for t in texts} <= set(node["codes"])


def test_another_shops_discount_cannot_be_used_or_read(shop_api):
    app, api = shop_api
    mine = discount(api).get_json()["id"]
    other = ApiClient(app.test_client(), install_shop("beta.myshopify.com").domain)
    assert other.get(f"/api/discounts/{mine}").status_code == 404
    body = {"name": "x", "body": "hi {{discount_code}}", "discount_id": mine}
    assert other.post("/api/campaigns", json=body).status_code == 422
