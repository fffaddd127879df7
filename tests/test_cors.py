"""CORS: the embedded API answers preflights from the Shopify admin and the app's own origin
only; webhooks, the app proxy and the Mitto callbacks never carry CORS headers."""

from __future__ import annotations

import pytest

PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}


@pytest.mark.parametrize(
    "origin", ["https://admin.shopify.com", "https://alpha.myshopify.com", "https://app.example.test"]
)
def test_a_preflight_from_an_allowed_origin_is_answered(client, origin):
    response = client.options("/api/campaigns", headers={"Origin": origin, **PREFLIGHT})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "authorization" in response.headers["Access-Control-Allow-Headers"].lower()
    assert response.headers["Access-Control-Max-Age"] == "600"
    assert "Access-Control-Allow-Credentials" not in response.headers


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "https://admin.shopify.com.evil.example", "http://admin.shopify.com", "null"]
)
def test_a_preflight_from_another_origin_is_refused(client, origin):
    response = client.options("/api/campaigns", headers={"Origin": origin, **PREFLIGHT})
    assert "Access-Control-Allow-Origin" not in response.headers  # the browser refuses the call


@pytest.mark.parametrize("path", ["/webhooks/shopify", "/proxy/subscribe", "/mitto/dlr/x", "/mitto/inbound/x"])
def test_server_to_server_routes_have_no_cors(client, path):
    response = client.options(path, headers={"Origin": "https://admin.shopify.com", **PREFLIGHT})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_an_actual_call_from_the_admin_exposes_the_request_id(client):
    response = client.get("/api/shop", headers={"Origin": "https://admin.shopify.com"})
    assert response.status_code == 401  # no token: still CORS-readable so the app can react
    assert response.headers["Access-Control-Allow-Origin"] == "https://admin.shopify.com"
    assert "X-Request-ID" in response.headers["Access-Control-Expose-Headers"]
