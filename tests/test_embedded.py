"""The embedded page load: token exchange and the frame-ancestors policy."""

from __future__ import annotations

import base64

import pytest

from .shopify_signing import session_token

SHOP = "alpha.myshopify.com"


def host_param(value: str) -> str:
    return base64.b64encode(value.encode()).decode().rstrip("=")


def test_embedded_load_exchanges_the_id_token_and_sets_csp(shopify_app, fake_shopify):
    fake_shopify.add_shop(SHOP)
    response = shopify_app.test_client().get(
        "/",
        query_string={"shop": SHOP, "host": host_param("admin.shopify.com/store/alpha"), "id_token": session_token()},
    )
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == (f"frame-ancestors https://{SHOP} https://admin.shopify.com;")
    assert b"app-bridge.js" in response.data
    assert [r["kind"] for r in fake_shopify.requests].count("oauth") == 1


def test_embedded_load_accepts_the_legacy_host_form(shopify_app, fake_shopify):
    fake_shopify.add_shop(SHOP)
    response = shopify_app.test_client().get(
        "/", query_string={"shop": SHOP, "host": host_param(f"{SHOP}/admin"), "id_token": session_token()}
    )
    assert response.status_code == 200


def test_embedded_load_without_id_token_is_the_bounce_page(shopify_app, fake_shopify):
    response = shopify_app.test_client().get("/", query_string={"shop": SHOP})
    assert response.status_code == 200
    assert "frame-ancestors" in response.headers["Content-Security-Policy"]
    assert fake_shopify.requests == []


def test_host_naming_another_shop_is_400(shopify_app):
    response = shopify_app.test_client().get(
        "/", query_string={"shop": SHOP, "host": host_param("admin.shopify.com/store/beta")}
    )
    assert response.status_code == 400


def test_id_token_of_another_shop_is_401(shopify_app, fake_shopify):
    response = shopify_app.test_client().get(
        "/", query_string={"shop": SHOP, "id_token": session_token("beta.myshopify.com")}
    )
    assert response.status_code == 401
    assert fake_shopify.requests == []


@pytest.mark.parametrize("shop", ["evil.com", "alpha.myshopify.com.evil.com"])
def test_invalid_shop_is_400(shopify_app, shop):
    assert shopify_app.test_client().get("/", query_string={"shop": shop}).status_code == 400
