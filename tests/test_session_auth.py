"""Session-token auth of /api: the shop comes only from a verified token."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shopify_app.extensions import db
from shopify_app.models import Shop
from shopify_app.security.session_token import verify_session_token

from .conftest import TEST_API_KEY, TEST_API_SECRET
from .shopify_signing import bearer, session_token

SHOP = "alpha.myshopify.com"
RETRY = "X-Shopify-Retry-Invalid-Session-Request"


@pytest.fixture
def installed(shopify_app, fake_shopify):
    fake_shopify.add_shop(SHOP, name="Alpha Store", email="owner@alpha.test", ianaTimezone="Europe/Athens")
    client = shopify_app.test_client()
    response = client.get("/api/shop", headers=bearer(SHOP))
    assert response.status_code == 200, response.get_json()
    return client


def shops() -> list[Shop]:
    db.session.expire_all()
    return list(db.session.scalars(select(Shop)))


def assert_invalid_session(response) -> None:
    assert response.status_code == 401, response.get_json()
    assert response.headers[RETRY] == "1"
    assert response.get_json()["error"]["code"] == "invalid_session_token"


def test_first_api_call_exchanges_the_token_and_installs_the_shop(installed, fake_shopify):
    [shop] = shops()
    assert shop.domain == SHOP
    assert shop.is_installed
    assert shop.name == "Alpha Store"
    assert shop.timezone == "Europe/Athens"
    assert shop.access_token_expires_at is not None
    assert shop.refresh_token_expires_at is not None
    assert [r["grant_type"] for r in fake_shopify.requests if r["kind"] == "oauth"] == [
        "urn:ietf:params:oauth:grant-type:token-exchange"
    ]


def test_shop_profile_comes_from_the_token_shop(installed):
    body = installed.get("/api/shop", headers=bearer(SHOP)).get_json()
    assert body["domain"] == SHOP
    assert body["email"] == "owner@alpha.test"
    assert "access_token" not in str(body)


def test_a_second_call_does_not_exchange_again(installed, fake_shopify):
    before = len(fake_shopify.requests)
    assert installed.get("/api/shop", headers=bearer(SHOP)).status_code == 200
    assert len(fake_shopify.requests) == before


def test_tokens_are_stored_encrypted(installed, fake_shopify):
    [shop] = shops()
    [plain_token] = [token for token, owner in fake_shopify.access_tokens.items() if owner == SHOP]
    assert plain_token not in (shop.access_token_ciphertext or "")
    assert shop.access_token_ciphertext.startswith("v1.")
    assert "owner@alpha.test" not in (shop.email_ciphertext or "")
    assert shop.email == "owner@alpha.test"


def test_missing_authorization_is_401_with_retry_header(shopify_app):
    assert_invalid_session(shopify_app.test_client().get("/api/shop"))


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer ", "token"])
def test_malformed_authorization_is_401(shopify_app, header):
    assert_invalid_session(shopify_app.test_client().get("/api/shop", headers={"Authorization": header}))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"secret": "another-apps-secret-0123456789abcdef0123"},
        {"audience": "another-app-api-key"},
        {"expires_in": -11},
        {"issuer_shop": "beta.myshopify.com"},
        {"not_before_offset": 60},
        {"drop": ("exp",)},
        {"drop": ("sid",)},
    ],
    ids=["other-secret", "other-aud", "expired-11s", "dest-ne-iss", "not-yet-valid", "no-exp", "no-sid"],
)
def test_invalid_tokens_are_401_and_write_nothing(shopify_app, fake_shopify, kwargs):
    fake_shopify.add_shop(SHOP)
    assert_invalid_session(shopify_app.test_client().get("/api/shop", headers=bearer(SHOP, **kwargs)))
    assert shops() == []
    assert fake_shopify.requests == []


def test_token_expired_5s_ago_is_accepted_within_leeway(installed):
    assert installed.get("/api/shop", headers=bearer(SHOP, expires_in=-5)).status_code == 200


def test_alg_none_token_is_401(shopify_app):
    import base64
    import json

    def b64(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    claims = {"iss": f"https://{SHOP}/admin", "dest": f"https://{SHOP}", "aud": TEST_API_KEY, "sub": "1"}
    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."
    assert_invalid_session(shopify_app.test_client().get("/api/shop", headers={"Authorization": f"Bearer {token}"}))


def test_rs256_header_is_401(shopify_app):
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = session_token(SHOP, secret=key, algorithm="RS256")
    assert_invalid_session(shopify_app.test_client().get("/api/shop", headers={"Authorization": f"Bearer {token}"}))


def test_dest_that_is_not_a_shop_domain_is_401(shopify_app):
    token = session_token("evil.com")
    assert_invalid_session(shopify_app.test_client().get("/api/shop", headers={"Authorization": f"Bearer {token}"}))


def test_previous_secret_is_accepted_during_rotation():
    old = "old-shopify-api-secret-0123456789abcdef012"
    token = session_token(SHOP, secret=old)
    verified = verify_session_token(token, api_key=TEST_API_KEY, secrets=[TEST_API_SECRET, old])
    assert verified.shop_domain == SHOP
    assert verified.user_id == "42"


def test_a_token_whose_exchange_shopify_refuses_is_401(shopify_app, fake_shopify):
    fake_shopify.add_shop(SHOP)
    fake_shopify.refuse_token_exchange = True
    assert_invalid_session(shopify_app.test_client().get("/api/shop", headers=bearer(SHOP)))
    assert shops() == []


def test_shop_a_token_never_reads_shop_b(installed, fake_shopify):
    fake_shopify.add_shop("beta.myshopify.com", name="Beta")
    beta = installed.get("/api/shop?shop=alpha.myshopify.com", headers=bearer("beta.myshopify.com")).get_json()
    assert beta["domain"] == "beta.myshopify.com"
    alpha = installed.get(
        "/api/shop?shop=beta.myshopify.com", headers={**bearer(SHOP), "X-Shopify-Shop-Domain": "beta.myshopify.com"}
    ).get_json()
    assert alpha["domain"] == SHOP


def test_uninstalled_shop_is_reinstalled_by_token_exchange(installed, fake_shopify):
    [shop] = shops()
    shop.uninstalled_at = shop.installed_at
    shop.access_token_ciphertext = None
    db.session.commit()
    assert installed.get("/api/shop", headers=bearer(SHOP)).status_code == 200
    [shop] = shops()
    assert shop.is_installed
    assert shop.access_token_ciphertext is not None


def test_tokens_never_appear_in_logs(installed, fake_shopify, capsys):
    installed.get("/api/shop", headers=bearer(SHOP))
    err = capsys.readouterr().err
    for token in [*fake_shopify.access_tokens, *fake_shopify.refresh_tokens]:
        assert token not in err
    assert "eyJ" not in err


# --- token exchange: Shopify refusing is not Shopify unreachable -----------------------------------


def assert_shopify_unavailable(response) -> None:
    """A 503 the client may retry later; not an invalid session, so App Bridge does not loop
    fetching fresh tokens that cannot help."""
    assert response.status_code == 503, response.get_json()
    assert response.get_json()["error"]["code"] == "shopify_unavailable"
    assert int(response.headers["Retry-After"]) >= 1
    assert RETRY not in response.headers


def test_shopify_answering_5xx_to_the_exchange_is_503_after_one_retry(shopify_app, fake_shopify):
    fake_shopify.add_shop(SHOP)
    fake_shopify.fail_next("oauth", 503, times=5)
    assert_shopify_unavailable(shopify_app.test_client().get("/api/shop", headers=bearer(SHOP)))
    # A merchant is waiting: one retry, not the background clients' four attempts.
    assert len(fake_shopify.requests_of("oauth")) == 2
    assert shops() == []


def test_shopify_rate_limiting_the_exchange_is_503_with_its_retry_after_not_slept(shopify_app, fake_shopify):
    fake_shopify.add_shop(SHOP)
    fake_shopify.fail_next("oauth", 429, retry_after="20")
    response = shopify_app.test_client().get("/api/shop", headers=bearer(SHOP))
    assert_shopify_unavailable(response)
    assert response.headers["Retry-After"] == "20"
    assert len(fake_shopify.requests_of("oauth")) == 1


def test_unreachable_shopify_is_503_not_an_invalid_session(make_app):
    from .processes import free_port

    app = make_app(SHOPIFY_ADMIN_BASE_URL=f"http://127.0.0.1:{free_port()}/shops/{{shop}}")  # nothing listens
    with app.app_context():
        assert_shopify_unavailable(app.test_client().get("/api/shop", headers=bearer(SHOP)))
        assert shops() == []


def test_the_embedded_page_says_unavailable_too(make_app):
    from .processes import free_port

    app = make_app(SHOPIFY_ADMIN_BASE_URL=f"http://127.0.0.1:{free_port()}/shops/{{shop}}")
    with app.app_context():
        response = app.test_client().get(
            "/", query_string={"shop": SHOP, "id_token": session_token()}, headers={"Accept": "application/json"}
        )
        assert_shopify_unavailable(response)
