"""The embedded first load (`/`, shopify_app/admin/views.py): token exchange, Shopify's
session-token bounce, and the shell's CSP."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import pytest

from shopify_app.admin.views import shell_csp

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
    assert response.headers["Content-Security-Policy"] == (
        f"frame-ancestors https://{SHOP} https://admin.shopify.com; "
        "script-src 'self' https://cdn.shopify.com; object-src 'none'; base-uri 'self'"
    )
    assert b"https://cdn.shopify.com/shopifycloud/app-bridge.js" in response.data
    assert [r["kind"] for r in fake_shopify.requests].count("oauth") == 1


def test_embedded_load_accepts_the_legacy_host_form(shopify_app, fake_shopify):
    fake_shopify.add_shop(SHOP)
    response = shopify_app.test_client().get(
        "/", query_string={"shop": SHOP, "host": host_param(f"{SHOP}/admin"), "id_token": session_token()}
    )
    assert response.status_code == 200


def bounced_to(response) -> dict[str, list[str]]:
    """The bounce page's query, after asserting the response redirects there."""
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/auth/session-token"
    return parse_qs(location.query)


def test_embedded_load_without_id_token_redirects_to_the_bounce_page(shopify_app, fake_shopify):
    host = host_param("admin.shopify.com/store/alpha")
    response = shopify_app.test_client().get("/", query_string={"shop": SHOP, "host": host, "embedded": "1"})
    query = bounced_to(response)
    assert query["shop"] == [SHOP]
    assert query["host"] == [host]
    reload = urlsplit(query["shopify-reload"][0])
    assert reload.path == "/"
    assert parse_qs(reload.query) == {"shop": [SHOP], "host": [host], "embedded": ["1"]}
    assert fake_shopify.requests == []


def test_embedded_load_with_an_expired_id_token_bounces_for_a_fresh_one(shopify_app, fake_shopify):
    stale = session_token(expires_in=-3600)
    response = shopify_app.test_client().get("/", query_string={"shop": SHOP, "id_token": stale})
    reload = bounced_to(response)["shopify-reload"][0]
    assert "id_token" not in parse_qs(urlsplit(reload).query)
    assert fake_shopify.requests == []


def test_embedded_load_with_a_forged_id_token_is_401_not_a_bounce(shopify_app, fake_shopify):
    forged = session_token(secret="not-the-app-secret-0123456789abcdef")
    response = shopify_app.test_client().get("/", query_string={"shop": SHOP, "id_token": forged})
    assert response.status_code == 401
    assert fake_shopify.requests == []


def test_the_bounce_page_loads_only_app_bridge_under_the_shops_csp(shopify_app):
    response = shopify_app.test_client().get(
        "/auth/session-token", query_string={"shop": SHOP, "shopify-reload": f"/?shop={SHOP}"}
    )
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == shell_csp(SHOP)
    assert response.get_data(as_text=True).count("<script") == 1
    assert b'<script src="https://cdn.shopify.com/shopifycloud/app-bridge.js"></script>' in response.data


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "javascript:alert(1)"])
def test_the_bounce_page_reloads_only_paths_of_this_app(shopify_app, target):
    response = shopify_app.test_client().get(
        "/auth/session-token", query_string={"shop": SHOP, "shopify-reload": target}
    )
    assert response.status_code == 400


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
