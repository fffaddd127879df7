"""The whole life of an installation against the loopback fake Shopify."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from shopify_app.extensions import db
from shopify_app.models import Shop
from shopify_app.models.types import utcnow
from shopify_app.services.shops.auth import access_token_for

from .shopify_signing import bearer, oauth_callback_query, session_token, webhook_request
from .test_jobs import drain_if_async
from .test_oauth import begin

SHOP = "alpha.myshopify.com"


def the_shop() -> Shop:
    db.session.expire_all()
    return db.session.scalars(select(Shop)).one()


def test_install_load_call_refresh_uninstall_reinstall(shopify_app, fake_shopify):
    fake_shopify.add_shop(SHOP, name="Alpha", currencyCode="EUR")
    client = shopify_app.test_client()

    # 1. Classic install through OAuth.
    state = begin(client)
    response = client.get(
        "/auth/callback?" + oauth_callback_query(shop=SHOP, code=fake_shopify.issue_code(SHOP), state=state)
    )
    assert response.status_code == 302
    installed_at = the_shop().installed_at
    assert the_shop().currency == "EUR"

    # 2. Embedded load: the shop already has a usable token, so no token exchange.
    oauth_calls = len(fake_shopify.requests_of("oauth"))
    assert client.get("/", query_string={"shop": SHOP, "id_token": session_token()}).status_code == 200
    assert len(fake_shopify.requests_of("oauth")) == oauth_calls

    # 3. API call.
    assert client.get("/api/shop", headers=bearer(SHOP)).get_json()["name"] == "Alpha"

    # 4. The access token nears expiry: it is refreshed, and the new one works against Shopify.
    shop = the_shop()
    shop.access_token_expires_at = utcnow() + timedelta(seconds=30)
    db.session.commit()
    token = access_token_for(shop)
    assert fake_shopify.access_tokens[token] == SHOP
    assert [r["grant_type"] for r in fake_shopify.requests_of("oauth")][-1] == "refresh_token"

    # 5. Uninstall: the webhook clears the tokens and marks the shop, data stays.
    fake_shopify.revoke_tokens(SHOP)
    response = client.post("/webhooks/shopify", **webhook_request("app/uninstalled", {"domain": SHOP}, shop=SHOP))
    assert response.status_code == 200
    drain_if_async(shopify_app)
    shop = the_shop()
    assert shop.uninstalled_at is not None
    assert shop.access_token_ciphertext is None
    assert shop.refresh_token_ciphertext is None

    # 6. Reinstall from the admin: the next session-token request runs token exchange.
    assert client.get("/api/shop", headers=bearer(SHOP)).status_code == 200
    shop = the_shop()
    assert shop.is_installed
    assert shop.installed_at > installed_at
    assert fake_shopify.access_tokens[access_token_for(shop)] == SHOP
    assert [r["grant_type"] for r in fake_shopify.requests_of("oauth")][-1] == (
        "urn:ietf:params:oauth:grant-type:token-exchange"
    )
