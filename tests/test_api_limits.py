"""Per-shop and per-address limits on the embedded API: 429 with Retry-After and the
X-RateLimit headers, other shops unaffected."""

from __future__ import annotations

from shopify_app.extensions import redis_ext

from .conftest import ApiClient, install_shop
from .redis_contents import redis_contents
from .shopify_signing import session_token


def test_a_shop_over_its_limit_gets_429_with_the_headers_and_others_do_not(make_app):
    app = make_app(API_RATE_PER_SHOP=3, API_RATE_PER_IP=0)
    with app.app_context():
        alpha = ApiClient(app.test_client(), install_shop("alpha.myshopify.com").domain)
        beta = ApiClient(app.test_client(), install_shop("beta.myshopify.com").domain)
        answers = [alpha.get("/api/shop") for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
        assert answers[0].headers["X-RateLimit-Limit"] == "3"
        assert 1 <= int(answers[0].headers["X-RateLimit-Reset"]) <= 60
        refused = answers[-1]
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.get_json()["error"]["code"] == "rate_limited"
        assert refused.get_json()["error"]["details"]["scope"] == "shop"
        assert beta.get("/api/shop").status_code == 200


def test_an_address_is_limited_before_its_tokens_are_verified(make_app):
    app = make_app(API_RATE_PER_SHOP=0, API_RATE_PER_IP=2)
    with app.app_context():
        install_shop("alpha.myshopify.com")
        client = app.test_client()
        forged = {"Authorization": "Bearer " + session_token(secret="not-the-app-secret-0123456789abcdef012345")}
        assert client.get("/api/shop", headers=forged).status_code == 401
        assert client.get("/api/shop", headers=forged).status_code == 401
        third = client.get("/api/shop", headers=forged)
        assert third.status_code == 429
        assert third.get_json()["error"]["details"]["scope"] == "ip"
        other = client.get("/api/shop", headers=forged, environ_base={"REMOTE_ADDR": "10.0.0.9"})
        assert other.status_code == 401


def test_the_per_address_limit_keys_hold_no_address_in_clear(make_app):
    app = make_app(API_RATE_PER_SHOP=5, API_RATE_PER_IP=5)
    with app.app_context():
        install_shop("alpha.myshopify.com")
        client = app.test_client()
        forged = {"Authorization": "Bearer " + session_token(secret="not-the-app-secret-0123456789abcdef012345")}
        client.get("/api/shop", headers=forged, environ_base={"REMOTE_ADDR": "198.51.100.23"})
        stored = redis_contents(redis_ext.client())
        assert b"sms_blossom:rl:api:ip:" in stored
        assert b"198.51.100.23" not in stored
