"""Classic OAuth install: /auth and /auth/callback."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from shopify_app.blueprints.auth import STATE_COOKIE
from shopify_app.extensions import db
from shopify_app.models import Shop
from shopify_app.security.hmac import oauth_sign_query

from .conftest import TEST_API_KEY, TEST_API_SECRET
from .shopify_signing import oauth_callback_query

SHOP = "alpha.myshopify.com"
# The install runs in a browser, which gets its errors as a page (tests/test_html_errors.py);
# these tests ask for JSON to read the error codes.
JSON = {"Accept": "application/json"}


def shops() -> list[Shop]:
    db.session.expire_all()
    return list(db.session.scalars(select(Shop)))


def begin(client, shop: str = SHOP) -> str:
    """Start OAuth; returns the state the authorize redirect carries."""
    response = client.get(f"/auth?shop={shop}")
    assert response.status_code == 302, response.get_json()
    location = urlsplit(response.headers["Location"])
    return parse_qs(location.query)["state"][0]


def test_auth_redirects_to_the_shops_authorize_page_with_a_state_cookie(shopify_app, fake_shopify):
    response = shopify_app.test_client().get(f"/auth?shop={SHOP}")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path.endswith(f"/shops/{SHOP}/admin/oauth/authorize")
    query = parse_qs(location.query)
    assert query["client_id"] == [TEST_API_KEY]
    assert query["redirect_uri"] == ["https://app.example.test/auth/callback"]
    assert query["scope"][0]
    assert len(query["state"][0]) >= 32
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(STATE_COOKIE)
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert query["state"][0] not in cookie  # the cookie is signed, the nonce not readable in clear


@pytest.mark.parametrize(
    "shop", ["evil.com", "x.myshopify.com.evil.com", "X.MYSHOPIFY.COM/../", "https://a.myshopify.com", ""]
)
def test_auth_rejects_invalid_shops_with_400(shopify_app, shop):
    response = shopify_app.test_client().get("/auth", query_string={"shop": shop})
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_auth_with_a_forged_install_hmac_is_401(shopify_app):
    response = shopify_app.test_client().get(f"/auth?shop={SHOP}&timestamp=1&hmac=deadbeef")
    assert response.status_code == 401


def test_auth_with_a_valid_install_hmac_redirects(shopify_app):
    params = {"shop": SHOP, "timestamp": str(int(time.time()))}
    params["hmac"] = oauth_sign_query(params, TEST_API_SECRET)
    assert shopify_app.test_client().get("/auth", query_string=params).status_code == 302


def test_auth_refuses_a_redirect_uri_not_on_the_allow_list(shopify_app):
    response = shopify_app.test_client().get(f"/auth?shop={SHOP}&redirect_uri=https://evil.example/cb", headers=JSON)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_redirect_uri"


def test_callback_installs_the_shop_and_redirects_into_the_admin(shopify_app, fake_shopify):
    fake_shopify.add_shop(SHOP, name="Alpha")
    client = shopify_app.test_client()
    state = begin(client)
    code = fake_shopify.issue_code(SHOP)
    response = client.get("/auth/callback?" + oauth_callback_query(shop=SHOP, code=code, state=state))
    assert response.status_code == 302, response.get_json()
    assert response.headers["Location"] == f"https://admin.shopify.com/store/alpha/apps/{TEST_API_KEY}"
    [shop] = shops()
    assert shop.is_installed
    assert shop.name == "Alpha"
    assert shop.refresh_token_ciphertext is not None
    [exchange] = [r for r in fake_shopify.requests if r["kind"] == "oauth"]
    assert exchange["grant_type"] is None  # authorization-code flow


def test_callback_state_cannot_be_reused(shopify_app, fake_shopify):
    fake_shopify.add_shop(SHOP)
    client = shopify_app.test_client()
    state = begin(client)
    cookie = client.get_cookie(STATE_COOKIE, path="/auth").value
    query = oauth_callback_query(shop=SHOP, code=fake_shopify.issue_code(SHOP), state=state)
    assert client.get("/auth/callback?" + query).status_code == 302
    client.set_cookie(STATE_COOKIE, cookie, path="/auth")
    replay = oauth_callback_query(shop=SHOP, code=fake_shopify.issue_code(SHOP), state=state)
    response = client.get("/auth/callback?" + replay, headers=JSON)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_state"


def attack(shopify_app, fake_shopify, *, query_for, with_cookie: bool = True):
    fake_shopify.add_shop(SHOP)
    client = shopify_app.test_client()
    state = begin(client)
    if not with_cookie:
        client.delete_cookie(STATE_COOKIE, path="/auth")
    code = fake_shopify.issue_code(SHOP)
    response = client.get("/auth/callback?" + query_for(state=state, code=code), headers=JSON)
    assert shops() == []
    assert [r for r in fake_shopify.requests if r["kind"] == "oauth"] == []  # no code was exchanged
    assert "Location" not in response.headers
    return response


def test_callback_with_a_forged_hmac_is_401(shopify_app, fake_shopify):
    response = attack(
        shopify_app,
        fake_shopify,
        query_for=lambda state, code: oauth_callback_query(
            shop=SHOP, code=code, state=state, secret="wrong-secret-0123456789abcdef0123456"
        ),
    )
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_hmac"


def test_callback_with_a_wrong_state_is_401(shopify_app, fake_shopify):
    response = attack(
        shopify_app,
        fake_shopify,
        query_for=lambda state, code: oauth_callback_query(shop=SHOP, code=code, state=state + "x"),
    )
    assert response.status_code == 401


def test_callback_without_the_state_cookie_is_401(shopify_app, fake_shopify):
    response = attack(
        shopify_app,
        fake_shopify,
        with_cookie=False,
        query_for=lambda state, code: oauth_callback_query(shop=SHOP, code=code, state=state),
    )
    assert response.status_code == 401


def test_callback_with_a_stale_timestamp_is_401(shopify_app, fake_shopify):
    response = attack(
        shopify_app,
        fake_shopify,
        query_for=lambda state, code: oauth_callback_query(
            shop=SHOP, code=code, state=state, timestamp=int(time.time()) - 91
        ),
    )
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "stale_request"


def test_callback_for_another_shop_than_the_state_is_401(shopify_app, fake_shopify):
    fake_shopify.add_shop("beta.myshopify.com")
    response = attack(
        shopify_app,
        fake_shopify,
        query_for=lambda state, code: oauth_callback_query(shop="beta.myshopify.com", code=code, state=state),
    )
    assert response.status_code == 401


def test_callback_with_missing_params_is_400(shopify_app):
    response = shopify_app.test_client().get(f"/auth/callback?shop={SHOP}&code=abc", headers=JSON)
    assert response.status_code == 400
    assert set(response.get_json()["error"]["details"]["params"]) == {"state", "timestamp", "hmac"}


def test_callback_with_an_invalid_shop_is_400(shopify_app):
    query = oauth_callback_query(shop="evil.com", code="c", state="s")
    assert shopify_app.test_client().get("/auth/callback?" + query).status_code == 400


def test_callback_with_a_code_shopify_refuses_is_401_and_writes_nothing(shopify_app, fake_shopify):
    fake_shopify.add_shop(SHOP)
    client = shopify_app.test_client()
    state = begin(client)
    query = oauth_callback_query(shop=SHOP, code="never-issued", state=state)
    response = client.get("/auth/callback?" + query, headers=JSON)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "oauth_code_rejected"
    assert shops() == []
