"""Storefront sign-up through the app proxy: signature, consent, double opt-in, abuse limits."""

from __future__ import annotations

import time
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from shopify_app.extensions import db, redis_ext, sms_backend
from shopify_app.models import ConsentEvent, Contact
from shopify_app.security.link_tokens import CONFIRM_MAX_AGE, make_link_token
from shopify_app.services.contacts.signup import SIGNUP_LIMITS

from .redis_contents import redis_contents
from .shopify_signing import proxy_query
from .test_jobs import drain_if_async

FORM = {"phone": "(415) 555-0142", "consent": "on", "consent_text": "Text me offers. Reply STOP to opt out."}


def post(client, data=None, *, shop="alpha.myshopify.com", json=None, headers=None, **query):
    url = "/proxy/subscribe?" + proxy_query(shop=shop, **query)
    if json is not None:
        return client.post(url, json=json, headers=headers or {})
    return client.post(url, data=data if data is not None else FORM, headers=headers or {})


def get(client, path, **query):
    return client.get(f"/proxy/{path}?" + proxy_query(**query))


def contacts():
    db.session.expire_all()
    return list(db.session.scalars(select(Contact)))


@pytest.fixture
def client(app, shop):
    return app.test_client()


def confirm_link(app) -> str:
    drain_if_async(app)
    [message] = sms_backend().sent
    return message.text.split("tap ")[1].split(" ")[0]


def test_form_sign_up_is_pending_and_texts_a_confirmation(app, client):
    response = post(client, headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.status_code == 201
    assert response.mimetype == "application/liquid"
    [contact] = contacts()
    assert contact.consent_state.value == "pending"
    [event] = db.session.scalars(select(ConsentEvent)).all()
    assert (event.source.value, event.consent_text) == ("proxy_form", FORM["consent_text"])
    assert event.ip_ciphertext
    assert "203.0.113.9" not in event.ip_ciphertext
    drain_if_async(app)
    [message] = sms_backend().sent
    assert message.destination == "+14155550142"
    assert "reply Y" in message.text
    assert "STOP" in message.text
    assert "/apps/sms/confirm?t=" in message.text
    assert "4155550142" not in message.text


def test_json_sign_up_gets_json(client):
    response = post(client, json=FORM)
    assert response.status_code == 201
    assert response.get_json() == {"status": "pending"}


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["t"][0]


def confirm_by_post(client, token, **query):
    return client.post("/proxy/confirm?" + proxy_query(t=token, **query), headers={"Accept": "application/json"})


def test_the_confirmation_link_shows_a_button_and_only_its_post_subscribes(app, client):
    post(client)
    token = token_of(confirm_link(app))
    page = get(client, "confirm", t=token)  # what a link scanner or a preview fetches
    assert page.status_code == 200
    assert page.mimetype == "application/liquid"
    body = page.get_data(as_text=True)
    assert '<form method="post" action="/apps/sms/confirm?t=' in body
    assert "<button" in body
    assert contacts()[0].consent_state.value == "pending"  # GET alone changes nothing
    as_json = client.get("/proxy/confirm?" + proxy_query(t=token), headers={"Accept": "application/json"})
    assert as_json.get_json() == {"phone": "+1******0142", "consent_state": "pending"}
    assert contacts()[0].consent_state.value == "pending"

    response = confirm_by_post(client, token)
    assert response.status_code == 200
    assert response.get_json() == {"status": "subscribed"}
    [contact] = contacts()
    assert contact.consent_state.value == "subscribed"
    assert contact.consent_source.value == "confirmation_link"
    assert confirm_by_post(client, token).status_code == 200  # idempotent
    form = client.post("/proxy/confirm?" + proxy_query(t=token))  # the page's own button
    assert (form.status_code, form.mimetype) == (200, "application/liquid")


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_bad_or_expired_confirmation_token_is_401_invalid_link(app, client, shop, method):
    post(client)
    [contact] = contacts()
    token = make_link_token("confirm", contact_id=contact.id, shop_id=shop.id)
    send = getattr(client, method)
    headers = {"Accept": "application/json"}
    for bad in (token + "x", make_link_token("unsubscribe", contact_id=contact.id, shop_id=shop.id), ""):
        response = send("/proxy/confirm?" + proxy_query(t=bad), headers=headers)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "invalid_link"
    expired = time.time() + CONFIRM_MAX_AGE + 60
    with mock.patch("itsdangerous.timed.TimestampSigner.get_timestamp", return_value=int(expired)):
        response = send("/proxy/confirm?" + proxy_query(t=token), headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_link"
    assert contacts()[0].consent_state.value == "pending"


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_shops_confirmation_token_is_404(app, client, shop, other_shop, method):
    post(client)
    [contact] = contacts()
    token = make_link_token("confirm", contact_id=contact.id, shop_id=shop.id)
    response = getattr(client, method)(
        "/proxy/confirm?" + proxy_query(shop=other_shop.domain, t=token), headers={"Accept": "application/json"}
    )
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "contact_not_found"
    assert contacts()[0].consent_state.value == "pending"


def test_signing_up_again_when_subscribed_sends_nothing(app, client):
    post(client)
    confirm_by_post(client, token_of(confirm_link(app)))
    response = post(client, json=FORM)
    assert response.status_code == 200
    assert response.get_json() == {"status": "subscribed"}
    drain_if_async(app)
    assert len(sms_backend().sent) == 1


@pytest.mark.parametrize("consent", ["", "off", "no", "false"])
def test_missing_consent_is_422_on_consent(client, consent):
    response = post(client, json={**FORM, "consent": consent})
    assert response.status_code == 422
    assert "consent" in response.get_json()["error"]["details"]["fields"]
    assert contacts() == []


def test_invalid_phone_is_422_naming_phone(client):
    response = post(client, json={**FORM, "phone": "12345"})
    assert response.status_code == 422
    assert "phone" in response.get_json()["error"]["details"]["fields"]


def test_a_country_outside_the_allow_list_is_refused(client):
    response = post(client, json={**FORM, "phone": "+306912345678"})
    assert response.status_code == 422
    assert "phone" in response.get_json()["error"]["details"]["fields"]


def test_forged_signature_is_401_and_nothing_is_stored(client):
    response = post(client, secret="not-the-app-secret-0123456789abcdef01234")
    assert response.status_code == 401
    assert contacts() == []


def test_unknown_shop_is_404(client):
    assert post(client, json=FORM, shop="gamma.myshopify.com").status_code == 404


def test_liquid_response_escapes_html_and_liquid(client):
    response = post(client, data={**FORM, "phone": "<script>{{ shop.secret }}</script>"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "<script>" not in body
    assert "{{" not in body


def test_per_phone_limit_answers_429_with_retry_after(client):
    limit, _window = SIGNUP_LIMITS["phone"]
    for _ in range(limit):
        assert post(client, json=FORM).status_code == 201
    response = post(client, json=FORM)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert response.get_json()["error"]["details"]["scope"] == "phone"


def test_per_ip_limit_counts_the_shoppers_ip_not_shopifys(client):
    limit, _window = SIGNUP_LIMITS["ip"]
    for n in range(limit):
        phone = f"+1415555{n:04d}"
        assert (
            post(client, json={**FORM, "phone": phone}, headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 201
        )
    blocked = post(client, json={**FORM, "phone": "+14155559999"}, headers={"X-Forwarded-For": "198.51.100.7"})
    assert blocked.status_code == 429
    other_ip = post(client, json={**FORM, "phone": "+14155559999"}, headers={"X-Forwarded-For": "198.51.100.8"})
    assert other_ip.status_code == 201


def test_unsubscribe_page_then_one_click_post(app, client, shop):
    post(client)
    [contact] = contacts()
    token = make_link_token("unsubscribe", contact_id=contact.id, shop_id=shop.id)
    page = get(client, "unsubscribe", t=token)
    assert page.status_code == 200
    assert contacts()[0].consent_state.value == "pending"  # GET alone changes nothing
    url = "/proxy/unsubscribe?" + proxy_query(t=token)
    assert client.post(url).status_code == 200
    assert client.post(url).status_code == 200  # idempotent
    assert contacts()[0].consent_state.value == "unsubscribed"


def test_link_tokens_are_bound_to_their_purpose_and_shop(app, client, shop, other_shop):
    post(client)
    [contact] = contacts()
    confirm_token = make_link_token("confirm", contact_id=contact.id, shop_id=shop.id)
    assert client.post("/proxy/unsubscribe?" + proxy_query(t=confirm_token)).status_code == 401
    token = make_link_token("unsubscribe", contact_id=contact.id, shop_id=shop.id)
    other = client.post("/proxy/unsubscribe?" + proxy_query(shop=other_shop.domain, t=token))
    assert other.status_code == 404
    assert client.post("/proxy/unsubscribe?" + proxy_query(t=token + "x")).status_code == 401


def test_preferences_show_the_masked_phone_and_state(client, shop):
    post(client)
    [contact] = contacts()
    token = make_link_token("preferences", contact_id=contact.id, shop_id=shop.id)
    body = client.get("/proxy/preferences?" + proxy_query(t=token), headers={"Accept": "application/json"}).get_json()
    assert body["phone"] == "+1******0142"
    assert body["consent_state"] == "pending"
    assert "/apps/sms/unsubscribe?t=" in body["unsubscribe_url"]


# --- a shop whose country is unknown (Shopify's shop query failed at install) ---------------------


def with_unknown_country(shop, **settings):
    shop.country_code = None
    shop.settings = settings
    db.session.commit()


@pytest.mark.parametrize("path", ["subscribe", "back-in-stock"])
def test_with_no_shop_country_and_no_signup_countries_every_sign_up_is_refused(app, client, shop, path):
    with_unknown_country(shop)
    for phone in ("+14155550142", "+306912345678"):
        url = f"/proxy/{path}?" + proxy_query()
        response = client.post(url, json={**FORM, "phone": phone, "variant_id": 7})
        assert response.status_code == 403
        error = response.get_json()["error"]
        assert error["code"] == "signup_countries_required"
        assert error["details"]["settings"] == ["signup_countries", "default_country"]
    assert contacts() == []
    drain_if_async(app)
    assert sms_backend().sent == []


def test_with_no_shop_country_the_default_country_is_home(app, client, shop):
    with_unknown_country(shop, default_country="US")
    assert post(client, json=FORM).status_code == 201  # a national number reads as a US one
    foreign = post(client, json={**FORM, "phone": "+306912345678"})
    assert foreign.status_code == 422
    assert "phone" in foreign.get_json()["error"]["details"]["fields"]
    assert [contact.country_code for contact in contacts()] == ["US"]


def test_with_no_shop_country_signup_countries_are_the_only_ones_accepted(app, client, shop):
    with_unknown_country(shop, signup_countries=["GR"])
    assert post(client, json={**FORM, "phone": "+306912345678"}).status_code == 201
    assert post(client, json={**FORM, "phone": "+14155550142"}).status_code == 422
    assert [contact.country_code for contact in contacts()] == ["GR"]


def test_sign_ups_leave_no_phone_email_or_ip_in_clear_in_redis(app, client):
    shopper = {**FORM, "email": "shopper@example.com", "first_name": "Ada"}
    headers = {"X-Forwarded-For": "203.0.113.9"}
    assert post(client, json=shopper, headers=headers).status_code == 201
    url = "/proxy/back-in-stock?" + proxy_query()
    assert client.post(url, json={**shopper, "phone": "+14155550177", "variant_id": 7}, headers=headers).status_code
    stored = redis_contents(redis_ext.client())  # limit windows and the queued opt-in jobs
    drain_if_async(app)
    stored += redis_contents(redis_ext.client())  # and after the jobs ran
    assert b"sms_blossom:rl:signup:ip:" in stored
    assert b"sms_blossom:rl:signup:phone:" in stored
    for clear in (b"4155550142", b"4155550177", b"shopper@example.com", b"203.0.113.9"):
        assert clear not in stored
