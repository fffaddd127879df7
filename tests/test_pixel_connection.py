"""The shop's web pixel (services/pixel/web_pixel.py): created with `webPixelCreate` by a job at
install, updated with `webPixelUpdate` when the shop already has one (userError TAKEN), so a
reinstall or a retried job ends in the same state; throttling retries, userErrors do not."""

from __future__ import annotations

import json

import pytest
from structlog.testing import capture_logs

from shopify_app.clients.shopify import OfflineToken
from shopify_app.extensions import db
from shopify_app.services.pixel import web_pixel
from shopify_app.services.shops.auth import install_shop

from .conftest import open_shop, settle_jobs

SHOP = "alpha.myshopify.com"
ENDPOINT = "https://app.example.test/pixel/events"


@pytest.fixture
def connected(make_app, fake_shopify):
    app = make_app(SHOPIFY_ADMIN_BASE_URL=fake_shopify.admin_base_url)
    with app.app_context():
        _api, shop = open_shop(app, SHOP, fake_shopify=fake_shopify)
        yield app, shop


def test_install_creates_the_pixel_with_this_shops_settings_in_a_job(make_app, fake_shopify):
    app = make_app(SHOPIFY_ADMIN_BASE_URL=fake_shopify.admin_base_url)
    with app.app_context():
        offline = OfflineToken(
            access_token=fake_shopify.issue_access_token(SHOP),
            scope="write_pixels,read_customer_events",
            expires_in=None,
            refresh_token=None,
            refresh_token_expires_in=None,
        )
        install_shop(domain=SHOP, token=offline)
        assert fake_shopify.web_pixel_calls == []  # the install request never waits on Shopify
        settle_jobs(app)
    assert fake_shopify.web_pixels[SHOP]["settings"] == {"endpoint": ENDPOINT, "shopDomain": SHOP}
    assert [operation for operation, _ in fake_shopify.web_pixel_calls] == ["webPixelCreate"]


def test_a_shop_that_has_a_pixel_gets_it_updated_not_a_second_one(connected, fake_shopify):
    _app, shop = connected
    assert web_pixel.connect(shop_id=shop.id) == "created"
    first = fake_shopify.web_pixels[SHOP]["id"]
    fake_shopify.web_pixels[SHOP]["settings"] = {"endpoint": "https://old.example/pixel/events", "shopDomain": SHOP}

    assert web_pixel.connect(shop_id=shop.id) == "updated"
    assert fake_shopify.web_pixels[SHOP] == {"id": first, "settings": {"endpoint": ENDPOINT, "shopDomain": SHOP}}
    operations = [operation for operation, _ in fake_shopify.web_pixel_calls]
    assert operations == ["webPixelCreate", "webPixelCreate", "webPixelUpdate"]
    assert fake_shopify.web_pixel_calls[-1][1]["id"] == first


def test_connecting_twice_is_idempotent(connected, fake_shopify):
    _app, shop = connected
    web_pixel.connect(shop_id=shop.id)
    web_pixel.connect(shop_id=shop.id)
    assert list(fake_shopify.web_pixels) == [SHOP]
    assert fake_shopify.web_pixels[SHOP]["settings"]["shopDomain"] == SHOP


def test_a_brief_throttle_is_retried_by_the_client(connected, fake_shopify):
    _app, shop = connected
    fake_shopify.throttle_next(1)
    assert web_pixel.connect(shop_id=shop.id) == "created"


def test_a_long_throttle_fails_the_job_and_rq_runs_it_again(connected, fake_shopify):
    app, shop = connected
    fake_shopify.throttle_next(6)  # more than the client's attempts
    with pytest.raises(web_pixel.WebPixelDeferred):
        web_pixel.connect(shop_id=shop.id)
    assert fake_shopify.web_pixels == {}
    web_pixel.schedule_connect(shop)
    settle_jobs(app)
    assert fake_shopify.web_pixels[SHOP]["settings"]["endpoint"] == ENDPOINT


def test_user_errors_other_than_taken_fail_without_retry_and_log_codes_only(connected, fake_shopify):
    app, shop = connected
    error = {"field": ["webPixel", "settings"], "message": "endpoint https://x?secret", "code": "INVALID_SETTINGS"}
    fake_shopify.user_errors_next("webPixelCreate", [error])
    with capture_logs() as logs:
        web_pixel.schedule_connect(shop)
        settle_jobs(app)
    assert len(fake_shopify.web_pixel_calls) == 1
    assert fake_shopify.web_pixels == {}
    [failure] = [entry for entry in logs if entry["event"] == "web_pixel_failed"]
    assert failure["error"] == "INVALID_SETTINGS"
    text = json.dumps(logs, default=str)
    assert "secret" not in text
    assert shop.access_token not in text


def test_an_update_refused_is_a_failure(connected, fake_shopify):
    _app, shop = connected
    web_pixel.connect(shop_id=shop.id)
    fake_shopify.user_errors_next("webPixelUpdate", [{"field": ["id"], "message": "no", "code": "NOT_FOUND"}])
    assert web_pixel.connect(shop_id=shop.id) == "failed"


def test_settings_match_what_the_extension_declares(connected, project_root):
    import tomllib

    _app, shop = connected
    toml = tomllib.loads((project_root / "extensions/sms-blossom-pixel/shopify.extension.toml").read_text())
    assert set(web_pixel.pixel_settings(shop)) == set(toml["settings"]["fields"])


def test_uninstalled_or_tokenless_shops_are_skipped(connected, fake_shopify):
    _app, shop = connected
    shop.needs_reauth = True
    db.session.commit()
    assert web_pixel.connect(shop_id=shop.id) == "skipped"
    assert fake_shopify.web_pixel_calls == []


def test_a_revoked_token_marks_the_shop_for_reauth(connected, fake_shopify):
    _app, shop = connected
    fake_shopify.revoke_tokens(SHOP)
    assert web_pixel.connect(shop_id=shop.id) == "needs_reauth"
    db.session.refresh(shop)
    assert shop.needs_reauth
