"""GET /api/home: the home screen's setup steps and figures in one answer, this shop's only."""

from __future__ import annotations

from .conftest import install_shop
from .shopify_signing import proxy_query

FORM = {"phone": "(415) 555-0142", "consent": "on", "consent_text": "Text me offers. Reply STOP to opt out."}


def test_a_new_shop_has_its_number_and_nothing_else_done(api):
    answer = api.get("/api/home")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["setup"] == {"sender": True, "storefront_signup": False, "first_campaign": False, "billing": False}
    assert body["balance"] == 0
    assert body["last_30_days"]["subscribers_gained"] == 0
    assert body["last_30_days"]["revenue"] == {}
    assert body["recent_campaigns"] == []
    assert body["shop"]["domain"] == "alpha.myshopify.com"


def test_a_shop_without_a_number_has_the_sender_step_to_do(app):
    from .conftest import ApiClient

    install_shop("numberless.myshopify.com", number=None)
    body = ApiClient(app.test_client(), "numberless.myshopify.com").get("/api/home").get_json()
    assert body["setup"]["sender"] is False


def test_a_storefront_sign_up_and_a_subscriber_count_once(app, api):
    client = app.test_client()
    response = client.post("/proxy/subscribe?" + proxy_query(shop="alpha.myshopify.com"), data=FORM)
    assert response.status_code == 201
    added = api.post(
        "/api/contacts",
        json={"phone": "+14155550143", "consent_state": "subscribed", "consent_text": "Said yes at the till"},
    )
    assert added.status_code in (200, 201), added.get_json()
    body = api.get("/api/home").get_json()
    assert body["setup"]["storefront_signup"] is True
    # The form's sign-up is pending (double opt-in), the one added in the admin is subscribed.
    assert body["last_30_days"]["subscribers_gained"] == 1


def test_drafts_are_recent_campaigns_but_not_the_first_campaign_step(api):
    created = api.post("/api/campaigns", json={"name": "Draft one", "body": "Hello {{first_name}}"})
    assert created.status_code == 201, created.get_json()
    body = api.get("/api/home").get_json()
    assert [c["name"] for c in body["recent_campaigns"]] == ["Draft one"]
    assert body["setup"]["first_campaign"] is False


def test_another_shops_campaigns_and_sign_ups_are_not_counted(app, api, other_api):
    other_api.post("/api/campaigns", json={"name": "Theirs", "body": "Hi"})
    app.test_client().post("/proxy/subscribe?" + proxy_query(shop="beta.myshopify.com"), data=FORM)
    body = api.get("/api/home").get_json()
    assert body["recent_campaigns"] == []
    assert body["setup"]["storefront_signup"] is False


def test_the_home_needs_a_session_token(app, shop):
    assert app.test_client().get("/api/home").status_code == 401
