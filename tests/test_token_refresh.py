"""Expiring offline tokens: refresh before expiry, one refresher at a time, re-auth on refusal."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from shopify_app.extensions import db
from shopify_app.models import Shop
from shopify_app.models.types import utcnow
from shopify_app.services.shops.auth import ShopNeedsReauth, access_token_for

from .shopify_signing import bearer

SHOP = "alpha.myshopify.com"


@pytest.fixture
def shop(shopify_app, fake_shopify) -> Shop:
    fake_shopify.add_shop(SHOP)
    assert shopify_app.test_client().get("/api/shop", headers=bearer(SHOP)).status_code == 200
    return db.session.scalars(select(Shop)).one()


def expire_soon(shop: Shop) -> None:
    shop.access_token_expires_at = utcnow() + timedelta(minutes=1)
    db.session.commit()


def refreshes(fake_shopify) -> int:
    return sum(1 for r in fake_shopify.requests if r["grant_type"] == "refresh_token")


def test_a_fresh_token_is_used_as_is(shop, fake_shopify):
    token = access_token_for(shop)
    assert fake_shopify.access_tokens[token] == SHOP
    assert refreshes(fake_shopify) == 0


def test_a_token_about_to_expire_is_refreshed_and_the_rotated_pair_stored(shop, fake_shopify):
    old_refresh = shop.refresh_token
    expire_soon(shop)
    token = access_token_for(shop)
    assert refreshes(fake_shopify) == 1
    assert fake_shopify.access_tokens[token] == SHOP
    db.session.refresh(shop)
    new_refresh = shop.refresh_token
    assert new_refresh != old_refresh
    assert new_refresh in fake_shopify.refresh_tokens
    assert shop.access_token_expires_at > utcnow() + timedelta(hours=1)


def test_concurrent_refreshes_spend_the_refresh_token_once(shopify_app, shop, fake_shopify):
    expire_soon(shop)
    shop_id = shop.id
    results: list[str] = []
    errors: list[Exception] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        with shopify_app.app_context():
            barrier.wait()
            try:
                results.append(access_token_for(db.session.get(Shop, shop_id)))
            except Exception as exc:
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert refreshes(fake_shopify) == 1
    assert len(set(results)) == 1


def test_a_refused_refresh_token_marks_the_shop_for_reauth(shop, fake_shopify):
    fake_shopify.revoke_tokens(SHOP)
    expire_soon(shop)
    with pytest.raises(ShopNeedsReauth):
        access_token_for(shop)
    db.session.refresh(shop)
    assert shop.needs_reauth is True
    assert shop.access_token_ciphertext is None
    with pytest.raises(ShopNeedsReauth):  # no crash loop: further calls fail fast, no request
        access_token_for(shop)
    assert refreshes(fake_shopify) == 1


def test_the_next_session_token_request_recovers_a_shop_needing_reauth(shopify_app, shop, fake_shopify):
    fake_shopify.revoke_tokens(SHOP)
    expire_soon(shop)
    with pytest.raises(ShopNeedsReauth):
        access_token_for(shop)
    assert shopify_app.test_client().get("/api/shop", headers=bearer(SHOP)).status_code == 200
    db.session.refresh(shop)
    assert shop.needs_reauth is False
    assert fake_shopify.access_tokens[access_token_for(shop)] == SHOP


def test_a_revoked_token_marks_the_shop_and_the_next_request_reinstalls(shopify_app, shop, fake_shopify):
    from shopify_app.services.shops.auth import admin_query

    fake_shopify.revoke_tokens(SHOP)
    with pytest.raises(ShopNeedsReauth):
        admin_query(shop, "{ shop { name } }")
    db.session.refresh(shop)
    assert shop.needs_reauth is True
    assert shopify_app.test_client().get("/api/shop", headers=bearer(SHOP)).status_code == 200
    assert admin_query(db.session.get(Shop, shop.id), "{ shop { name } }")["shop"]["name"]


def test_the_periodic_job_refreshes_tokens_expiring_within_the_hour(shopify_app, shop, fake_shopify):
    from jobs.housekeeping import refresh_expiring_tokens

    shop.access_token_expires_at = utcnow() + timedelta(minutes=30)
    db.session.commit()
    assert refresh_expiring_tokens() == {"refreshed": 1, "needs_reauth": 0, "failed": 0}
    db.session.refresh(shop)
    assert shop.access_token_expires_at > utcnow() + timedelta(hours=2)
    assert refresh_expiring_tokens() == {"refreshed": 0, "needs_reauth": 0, "failed": 0}  # nothing left to do
    fake_shopify.revoke_tokens(SHOP)
    shop.access_token_expires_at = utcnow() + timedelta(minutes=30)
    db.session.commit()
    assert refresh_expiring_tokens()["needs_reauth"] == 1
