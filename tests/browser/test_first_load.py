"""The admin's first load in a real browser: Shopify's session-token bounce, install and
reinstall by token exchange against the fake Shopify, and the home screen that follows."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from shopify_app.extensions import db
from shopify_app.models import Shop

from ..conftest import install_shop
from ..shopify_signing import webhook_request
from ..test_jobs import drain_if_async
from .harness import check_accessibility, harness_of, host_param, open_screen, wait_until_settled

SHOP = "alpha.myshopify.com"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"


@pytest.fixture
def browser_app(shopify_app):
    """The token exchange goes to the fake Shopify."""
    return shopify_app


def load_without_token(page: Page, shop: str = SHOP) -> list[str]:
    """Open `/` as the admin does on a reload (no id_token); the paths the page went through."""
    paths: list[str] = []
    page.on("framenavigated", lambda frame: frame == page.main_frame and paths.append(urlsplit(frame.url).path))
    db.session.commit()
    query = {"shop": shop, "host": host_param(shop), "embedded": "1", "locale": "en"}
    page.goto(f"{harness_of(page).base_url}/?{urlencode(query)}")
    page.wait_for_url(lambda url: "id_token=" in url)
    return paths


def expect_home(page: Page) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("SMS Blossom")
    wait_until_settled(page)


def the_shop(domain: str = SHOP) -> Shop | None:
    db.session.expire_all()
    return db.session.scalar(select(Shop).where(Shop.domain == domain))


def exchanges(fake_shopify) -> int:
    return [request["grant_type"] for request in fake_shopify.requests_of("oauth")].count(TOKEN_EXCHANGE)


def test_a_load_without_id_token_bounces_and_comes_back_with_one(page, fake_shopify):
    shop = install_shop(SHOP)
    shop.access_token = fake_shopify.issue_access_token(SHOP)
    paths = load_without_token(page)
    assert paths == ["/auth/session-token", "/"]
    query = parse_qs(urlsplit(page.url).query)
    assert query["id_token"] == [harness_of(page).token(SHOP)]
    assert query["shop"] == [SHOP]
    expect_home(page)
    assert exchanges(fake_shopify) == 0  # installed already: no token exchange


def test_install_exchanges_the_session_token_and_shows_home(page, fake_shopify):
    fake_shopify.add_shop(SHOP, name="Alpha Blooms")
    assert the_shop() is None
    open_screen(page, "/", SHOP)
    expect_home(page)
    shop = the_shop()
    assert shop is not None
    assert shop.is_installed
    assert shop.name == "Alpha Blooms"
    assert exchanges(fake_shopify) == 1


def test_reinstall_after_uninstall_exchanges_again_and_shows_home(page, shopify_app, fake_shopify):
    fake_shopify.add_shop(SHOP)
    shop = install_shop(SHOP)
    shop.access_token = fake_shopify.issue_access_token(SHOP)
    db.session.commit()
    fake_shopify.revoke_tokens(SHOP)
    webhook = webhook_request("app/uninstalled", {"domain": SHOP}, shop=SHOP)
    assert shopify_app.test_client().post("/webhooks/shopify", **webhook).status_code == 200
    drain_if_async(shopify_app)
    assert not the_shop().is_installed

    load_without_token(page)
    expect_home(page)
    assert the_shop().is_installed
    assert exchanges(fake_shopify) == 1


def test_home_shows_the_apis_error_message_in_a_critical_banner(page, browser_log):
    install_shop(SHOP)
    message = "Reports are catching up. Try again in a minute."
    error = {"error": {"code": "unavailable", "message": message, "details": {}}}
    page.route(
        "**/api/overview",
        lambda route: route.fulfill(status=503, body=json.dumps(error), content_type="application/json"),
    )
    open_screen(page, "/", SHOP)
    banner = page.get_by_role("alert")
    expect(banner).to_contain_text("The home page could not load")
    expect(banner).to_contain_text(message)
    assert check_accessibility(page) == []
    assert [line.split(" ", 2)[:2] for line in browser_log.server_errors] == [["503", "GET"]]
    browser_log.server_errors.clear()  # answered by the route above, on purpose
