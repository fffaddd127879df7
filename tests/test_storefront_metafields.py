"""The app-data metafields the theme blocks read (services/storefront_metafields.py): written with
`metafieldsSet` to the app installation by a job, after the join page's settings change and at
install, never inside the merchant's request; throttling and outages retry, userErrors do not."""

from __future__ import annotations

import json

import pytest
from structlog.testing import capture_logs

from shopify_app.extensions import db, redis_ext
from shopify_app.services.contacts.join_page import consent_text
from shopify_app.services.shops import storefront_metafields, storefront_sync
from shopify_app.services.webhooks.webhook_handlers import shop_updated

from .conftest import open_shop, settle_jobs

SHOP = "alpha.myshopify.com"


@pytest.fixture
def synced(make_app, fake_shopify):
    app = make_app(SHOPIFY_ADMIN_BASE_URL=fake_shopify.admin_base_url)
    with app.app_context():
        api, shop = open_shop(app, SHOP, fake_shopify=fake_shopify)
        yield app, api, shop


def test_the_job_writes_settings_and_disclosure_to_the_app_installation(synced, fake_shopify):
    app, api, shop = synced
    changes = {"join_headline": "Join us", "join_incentive": "10% off", "join_button_color": "#aabbcc"}
    assert api.patch("/api/settings", json=changes).status_code == 200
    settle_jobs(app)
    [call] = fake_shopify.metafield_calls
    owner = fake_shopify.app_installation_id(SHOP)
    assert {(item["ownerId"], item["namespace"], item["key"], item["type"]) for item in call} == {
        (owner, "sms_blossom", "settings", "json"),
        (owner, "sms_blossom", "disclosure", "json"),
    }
    values = fake_shopify.app_metafields(SHOP)
    assert values["settings"] == {
        "headline": "Join us",
        "incentive": "10% off",
        "button_color": "#aabbcc",
        "button_text_color": None,
        "countries": [{"code": "US", "label": "US +1"}],
    }
    disclosure = values["disclosure"]
    assert (disclosure["form"], disclosure["default_language"]) == ("join-v1", "en")
    for language in ("en", "fr", "de", "es"):
        shown = disclosure["languages"][language]
        assert shown["text"] == consent_text(shop=shop, version="join-v1", language=language)
        assert "".join(piece["text"] for piece in shown["pieces"]) == shown["text"]
        assert {piece["link"] for piece in shown["pieces"]} == {None, "terms", "privacy"}


def test_the_request_never_waits_on_shopify(synced, fake_shopify):
    """The PATCH answers before any call to Shopify: the write is a job (delayed without Redis)."""
    app, api, _shop = synced
    assert api.patch("/api/settings", json={"join_headline": "Join us"}).status_code == 200
    assert fake_shopify.metafield_calls == []
    settle_jobs(app)
    assert len(fake_shopify.metafield_calls) == 1


def test_settings_the_blocks_do_not_show_do_not_rewrite_the_metafields(synced, fake_shopify):
    app, api, _shop = synced
    assert api.patch("/api/settings", json={"frequency_cap": {"max_messages": 3, "per_days": 7}}).status_code == 200
    assert api.patch("/api/settings", json={"quiet_hours": None}).status_code == 200
    settle_jobs(app)
    assert fake_shopify.metafield_calls == []


def test_a_brief_throttle_is_retried_by_the_client(synced, fake_shopify):
    _app, _api, shop = synced
    fake_shopify.throttle_next(1)
    assert storefront_metafields.sync(shop_id=shop.id) == "written"
    assert fake_shopify.app_metafields(SHOP)["settings"]["countries"]


def test_a_long_throttle_fails_the_job_and_rq_runs_it_again(synced, fake_shopify):
    app, _api, shop = synced
    fake_shopify.throttle_next(6)  # more than the client's own attempts: the job raises
    with pytest.raises(storefront_metafields.MetafieldsDeferred):
        storefront_metafields.sync(shop_id=shop.id)
    assert fake_shopify.metafield_calls == []
    storefront_sync.schedule_sync(shop)
    settle_jobs(app)
    assert len(fake_shopify.metafield_calls) == 1
    assert fake_shopify.app_metafields(SHOP)["disclosure"]["form"] == "join-v1"


def test_user_errors_are_logged_and_not_retried(synced, fake_shopify):
    app, _api, shop = synced
    error = {"field": ["metafields", "0"], "message": "bad", "code": "INVALID"}
    fake_shopify.user_errors_next("metafieldsSet", [error])
    with capture_logs() as logs:
        storefront_sync.schedule_sync(shop)
        settle_jobs(app)
    assert len(fake_shopify.metafield_calls) == 1
    assert fake_shopify.app_metafields(SHOP) == {}
    [failure] = [entry for entry in logs if entry["event"] == "storefront_metafields_failed"]
    assert failure["error"] == "INVALID"
    assert shop.access_token not in json.dumps(logs, default=str)


def test_a_renamed_shop_gets_its_new_name_in_the_disclosure(synced, fake_shopify):
    app, _api, shop = synced
    shop_updated(shop=shop, payload={"name": "Alpha Goods"}, event=None)
    assert fake_shopify.metafield_calls == []  # not before the rename is committed
    db.session.commit()
    settle_jobs(app)
    assert "Alpha Goods" in fake_shopify.app_metafields(SHOP)["disclosure"]["languages"]["en"]["text"]


def test_a_shop_that_moves_country_gets_its_country_first_in_the_picker(synced, fake_shopify):
    app, _api, shop = synced
    shop.settings = {**(shop.settings or {}), "signup_countries": ["US", "GB"], "default_country": None}
    shop.country_code = "US"
    db.session.commit()
    shop_updated(shop=shop, payload={"name": shop.name, "country_code": "gb"}, event=None)
    db.session.commit()
    settle_jobs(app)
    countries = fake_shopify.app_metafields(SHOP)["settings"]["countries"]
    assert [country["code"] for country in countries] == ["GB", "US"]


def test_an_update_that_changes_nothing_shown_writes_nothing(synced, fake_shopify):
    app, _api, shop = synced
    shop_updated(shop=shop, payload={"name": shop.name, "currency": "EUR", "plan_display_name": "Plus"}, event=None)
    db.session.commit()
    settle_jobs(app)
    assert fake_shopify.metafield_calls == []


def test_a_shop_without_a_usable_token_is_skipped(synced, fake_shopify):
    _app, _api, shop = synced
    shop.needs_reauth = True
    db.session.commit()
    assert storefront_metafields.sync(shop_id=shop.id) == "skipped"
    assert fake_shopify.metafield_calls == []


def test_install_schedules_the_write(make_app, fake_shopify):
    from shopify_app.clients.shopify import OfflineToken
    from shopify_app.services.shops.auth import install_shop

    app = make_app(SHOPIFY_ADMIN_BASE_URL=fake_shopify.admin_base_url)
    with app.app_context():
        token = fake_shopify.issue_access_token(SHOP)
        offline = OfflineToken(
            access_token=token,
            scope="read_customers",
            expires_in=None,
            refresh_token=None,
            refresh_token_expires_in=None,
        )
        fake_shopify.add_shop(SHOP, countryCodeV2="US")
        install_shop(domain=SHOP, token=offline)
        assert fake_shopify.metafield_calls == []
        settle_jobs(app)
        assert fake_shopify.app_metafields(SHOP)["settings"]["countries"] == [{"code": "US", "label": "US +1"}]
        assert redis_ext.queue("default").count == 0
