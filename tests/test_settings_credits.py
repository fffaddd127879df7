"""Shop settings (one schema) and the credits ledger."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shopify_app.extensions import db
from shopify_app.models import CreditLedger, Shop
from shopify_app.services.billing import credits
from shopify_app.services.shops.settings import load_settings


def test_settings_have_safe_defaults(api):
    body = api.get("/api/settings").get_json()
    assert body["quiet_hours"] == {"start": "21:00", "end": "08:00"}
    assert body["frequency_cap"] is None
    assert body["sender_id"] is None


def test_settings_patch_changes_only_what_is_sent_and_readers_see_it(api, shop):
    body = api.patch(
        "/api/settings", json={"sender_id": "Blossom", "frequency_cap": {"max_messages": 2, "per_days": 7}}
    )
    assert body.status_code == 200
    assert body.get_json()["quiet_hours"] == {"start": "21:00", "end": "08:00"}
    db.session.refresh(shop)
    loaded = load_settings(shop)
    assert (loaded["sender_id"], loaded["frequency_cap"]) == ("Blossom", {"max_messages": 2, "per_days": 7})
    assert api.patch("/api/settings", json={"quiet_hours": None}).get_json()["quiet_hours"] is None


@pytest.mark.parametrize(
    "change",
    [
        {"sender_id": "ThisIsWayTooLong"},
        {"sender_id": "12"},
        {"quiet_hours": {"start": "25:00", "end": "08:00"}},
        {"quiet_hours": {"start": "21:00"}},
        {"frequency_cap": {"max_messages": 0, "per_days": 7}},
        {"default_country": "usa"},
        {"quietHours": None},
    ],
)
def test_invalid_settings_are_422(api, change):
    assert api.patch("/api/settings", json=change).status_code == 422


def test_settings_are_per_shop(api, other_api):
    api.patch("/api/settings", json={"sender_id": "Alpha"})
    assert other_api.get("/api/settings").get_json()["sender_id"] is None


def test_default_country_drives_phone_parsing(api):
    api.patch("/api/settings", json={"default_country": "GR"})
    assert api.post("/api/contacts", json={"phone": "691 234 5678"}).get_json()["phone"] == "+30******5678"


def test_grants_are_idempotent_by_key_and_the_balance_is_the_sum(shop):
    assert credits.grant(shop_id=shop.id, amount=50, key="grant:trial") is True
    assert credits.grant(shop_id=shop.id, amount=50, key="grant:trial") is False
    db.session.commit()
    total = db.session.scalar(select(func.sum(CreditLedger.amount)).where(CreditLedger.shop_id == shop.id))
    assert total == credits.balance(shop_id=shop.id) == 50
    with pytest.raises(ValueError, match="positive"):
        credits.grant(shop_id=shop.id, amount=0, key="x")


def test_flask_credits_grant(app, shop):
    result = app.test_cli_runner().invoke(args=["credits", "grant", shop.domain, "250"])
    assert result.exit_code == 0, result.output
    assert "balance 250" in result.output
    assert app.test_cli_runner().invoke(args=["credits", "grant", "nobody.myshopify.com", "1"]).exit_code != 0


def test_a_new_install_gets_the_trial_grant_once(shopify_app, fake_shopify):
    from .shopify_signing import bearer

    fake_shopify.add_shop("alpha.myshopify.com")
    client = shopify_app.test_client()
    assert client.get("/api/shop", headers=bearer("alpha.myshopify.com")).status_code == 200
    shop = db.session.scalars(select(Shop)).one()
    assert credits.balance(shop_id=shop.id) == shopify_app.config["TRIAL_CREDITS"] == 100
    shop.uninstalled_at, shop.access_token_ciphertext = shop.installed_at, None  # reinstall
    db.session.commit()
    assert client.get("/api/shop", headers=bearer("alpha.myshopify.com")).status_code == 200
    assert credits.balance(shop_id=shop.id) == 100
