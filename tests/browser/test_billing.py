"""The billing screen: plan and balance, a credit pack bought up to Shopify's confirmation page
(the top window is sent there; the test intercepts that navigation), and the ledger in pages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, Route, expect

from shopify_app.extensions import db
from shopify_app.services.billing import credits as ledger

from ..conftest import open_shop, settle_jobs
from ..test_billing import activate
from .harness import check_accessibility, open_screen

SHOP = "alpha.myshopify.com"


@pytest.fixture
def browser_app(shopify_app):
    return shopify_app


@pytest.fixture
def billed(shopify_app, fake_shopify):
    api, shop = open_shop(shopify_app, SHOP, fake_shopify=fake_shopify)
    return api, shop


def intercept_confirmation(page: Page) -> list[str]:
    """Shopify's confirmation pages, answered here: the URLs the top window was sent to."""
    visited: list[str] = []

    def answer(route: Route) -> None:
        visited.append(route.request.url)
        route.fulfill(
            body="<!doctype html><title>Approve charge</title><p>Approve charge</p>", content_type="text/html"
        )

    page.route(f"https://{SHOP}/admin/charges/**", answer)
    return visited


def test_buying_a_credit_pack_sends_the_top_window_to_shopifys_confirmation(page: Page, billed, fake_shopify):
    open_screen(page, "/billing")
    visited = intercept_confirmation(page)
    page.get_by_role("button", name="Buy 500 credits for $15.00").click()
    expect(page).to_have_title("Approve charge")
    assert len(visited) == 1
    assert visited[0].startswith(f"https://{SHOP}/admin/charges/confirm_purchase?id=")
    purchases = [
        r for r in fake_shopify.requests_of("graphql") if "appPurchaseOneTimeCreate(" in r["body"].get("query", "")
    ]
    assert len(purchases) == 1


def test_subscribing_sends_the_top_window_to_shopifys_confirmation(page: Page, billed):
    open_screen(page, "/billing")
    expect(page.get_by_role("cell", name="Current plan")).to_be_visible()  # Free
    visited = intercept_confirmation(page)
    page.get_by_role("button", name="Subscribe to Starter").click()
    expect(page).to_have_title("Approve charge")
    assert len(visited) == 1
    assert visited[0].startswith(f"https://{SHOP}/admin/charges/confirm?id=")


def test_the_balance_and_the_ledger_in_pages(page: Page, billed):
    _api, shop = billed
    for n in range(30):
        ledger.grant(shop_id=shop.id, amount=n + 1, key=f"grant:{n}", note=f"Grant {n + 1}")
    db.session.commit()
    open_screen(page, "/billing")
    expect(page.get_by_text("Credit balance")).to_be_visible()
    expect(page.locator(".metric").filter(has_text="Credit balance")).to_contain_text("465")
    history = page.get_by_role("table", name="Credit history")
    expect(history.get_by_role("row")).to_have_count(26)  # the header and 25 entries
    expect(history.get_by_role("row").nth(1)).to_contain_text("Grant 30")
    page.get_by_role("button", name="Show older entries").click()
    expect(history.get_by_role("row")).to_have_count(31)
    expect(history.get_by_role("row").last).to_contain_text("Grant 1")
    expect(page.get_by_role("button", name="Show older entries")).to_have_count(0)


def test_no_history_says_what_to_do_and_the_screen_passes_axe(page: Page, billed):
    open_screen(page, "/billing")
    expect(page.get_by_role("heading", name="No credit history yet")).to_be_visible()
    assert check_accessibility(page) == []


def test_spend_controls_alert_cap_auto_recharge_and_a_usage_cap_raise(page: Page, shopify_app, billed):
    api, _shop = billed
    activate(shopify_app, api, "starter")  # 1,000 plan credits
    assert api.patch("/api/billing/spend-controls", json={"low_balance_threshold": 2000}).status_code == 200
    settle_jobs(shopify_app)  # the check the save enqueued (a real queue on Redis)
    open_screen(page, "/billing")
    expect(page.get_by_text("Your SMS credits are running low")).to_be_visible()
    expect(page.get_by_text("1,000 credits left, below your alert at 2,000.")).to_be_visible()
    expect(page.get_by_label("Alert me when credits fall below")).to_have_value("2000")
    cap = page.get_by_label("Spend at most this many credits per billing cycle")
    cap.fill("0")
    page.get_by_role("button", name="Save spend controls").click()
    expect(cap).to_have_accessible_description(re.compile("Use a whole number of credits from 1 to 10,000,000."))
    cap.fill("250")
    page.get_by_label("Buy credits automatically when they run low").check()
    page.get_by_label("Credit pack to buy").select_option(label="2,500 credits for $65.00")
    page.get_by_label("Buy when credits fall below").fill("100")
    page.get_by_role("button", name="Save spend controls").click()
    expect(page.get_by_role("status").filter(has_text="Spend controls saved")).to_be_visible()
    settings = api.get("/api/billing/spend-controls").get_json()["settings"]
    assert settings["spend_cap_per_cycle"] == 250
    assert settings["auto_recharge"] == {"enabled": True, "pack": "2500", "when_below": 100}
    visited = intercept_confirmation(page)
    page.get_by_label("New usage cap per cycle (USD)").fill("250")
    page.get_by_role("button", name="Raise the usage cap").click()
    expect(page).to_have_title("Approve charge")
    assert visited[0].startswith(f"https://{SHOP}/admin/charges/confirm_update?id=")
    page.go_back()
    expect(page.get_by_role("button", name="Save spend controls")).to_be_visible()
    assert check_accessibility(page) == []
