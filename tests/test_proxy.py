from __future__ import annotations

import time

from .shopify_signing import proxy_query

JSON = {"Accept": "application/json"}  # storefront forms get Liquid; these checks read JSON


def test_signed_proxy_request_answers_with_the_signed_shop(client):
    response = client.get(headers=JSON, path="/proxy?" + proxy_query())
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "shop": "alpha.myshopify.com"}


def test_forged_proxy_signature_is_401(client):
    query = proxy_query(secret="not-the-app-secret-0123456789abcdef01234")
    response = client.get(headers=JSON, path="/proxy?" + query)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_signature"


def test_unsigned_shop_swap_is_401(client):
    query = proxy_query().replace("shop=alpha.myshopify.com", "shop=beta.myshopify.com")
    assert client.get(headers=JSON, path="/proxy?" + query).status_code == 401


def test_stale_proxy_timestamp_is_401(client):
    response = client.get(headers=JSON, path="/proxy?" + proxy_query(timestamp=int(time.time()) - 91))
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "stale_signature"


def test_future_proxy_timestamp_is_401(client):
    assert client.get(headers=JSON, path="/proxy?" + proxy_query(timestamp=int(time.time()) + 300)).status_code == 401


def test_duplicate_signed_params_are_400(client):
    query = proxy_query() + "&shop=beta.myshopify.com"
    response = client.get(headers=JSON, path="/proxy?" + query)
    assert response.status_code == 400
    assert response.get_json()["error"]["details"] == {"params": ["shop"]}


def test_blank_values_are_part_of_the_signature(client):
    query = proxy_query()
    assert "logged_in_customer_id=&" in query or query.endswith("logged_in_customer_id=")
    without_blank = "&".join(part for part in query.split("&") if part != "logged_in_customer_id=")
    assert client.get(headers=JSON, path="/proxy?" + without_blank).status_code == 401


def test_invalid_shop_in_a_validly_signed_query_is_400(client):
    assert client.get(headers=JSON, path="/proxy?" + proxy_query(shop="evil.com")).status_code == 400
