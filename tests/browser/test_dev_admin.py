"""The development admin as a newcomer opens it: `make seed`, `make run`, then /dev/admin/ in a
plain browser. The App Bridge stand-in is the app's own (/dev/admin/app-bridge.js) and gets its
session tokens from /dev/admin/session-token; only Polaris comes from the (stubbed) CDN."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from shopify_app.extensions import db
from shopify_app.services.ops.demo import seed

from .harness import check_accessibility, wait_until_settled


@pytest.fixture
def browser_app(make_app, fake_shopify):
    app = make_app(APP_ENV="development", SHOPIFY_ADMIN_BASE_URL=fake_shopify.admin_base_url)
    with app.app_context():
        yield app


def test_a_newcomer_sees_the_demo_shop_and_moves_between_screens(page, browser_app, live_server, fake_shopify):
    seed()
    db.session.commit()
    tokens = []
    page.on("request", lambda request: "/dev/admin/session-token" in request.url and tokens.append(request.url))
    page.goto(f"{live_server}/dev/admin/")
    wait_until_settled(page)
    expect(page.get_by_role("region", name="Recent campaigns").get_by_role("link", name="Spring sale")).to_be_visible()
    assert tokens  # the stand-in asked the app for a session token
    nav = page.get_by_role("navigation", name="SMS Blossom")
    nav.get_by_role("link", name="Subscribers").click()
    page.wait_for_url(f"{live_server}/dev/admin/subscribers")
    wait_until_settled(page)
    expect(nav.get_by_role("link", name="Subscribers")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("heading", level=1)).to_have_accessible_name("Subscribers")
    expect(page.get_by_role("table").first).to_be_visible()
    assert check_accessibility(page) == []
    assert fake_shopify.requests == []  # the demo shop's development token: no Shopify call


def test_without_the_demo_shop_the_page_says_to_seed(page, browser_app, live_server, browser_log):
    page.goto(f"{live_server}/dev/admin/")
    expect(page.get_by_role("status")).to_contain_text("make seed")
    browser_log.take_console_errors()  # the screen's own report of the refused token, on purpose
