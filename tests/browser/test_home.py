"""The home screen as a merchant sees it: the setup checklist, the balance, the last 30 days and
recent campaigns, from one API call, in the admin user's language."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from shopify_app.services.ops.demo import DEMO_DOMAIN, seed

from ..conftest import ApiClient, install_shop
from .harness import check_accessibility, open_screen

SHOP = "alpha.myshopify.com"
XSS = "<img src=x onerror=alert(1)>"


def api_requests(page: Page) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda request: "/api/" in request.url and seen.append(request.url.split("/api", 1)[1]))
    return seen


def test_the_demo_shop_home_shows_its_figures_from_one_api_call(page, app):
    seed()
    calls = api_requests(page)
    open_screen(page, "/", DEMO_DOMAIN)
    assert calls == ["/home"]
    expect(page.get_by_role("heading", level=1)).to_have_accessible_name("SMS Blossom")
    setup = page.get_by_role("region", name="Get set up")
    expect(setup).to_contain_text("3 of 4 steps done")
    billing_step = setup.get_by_role("link", name="Choose a plan or buy credits")
    href = billing_step.get_attribute("href")
    assert href.startswith("/billing?")
    assert f"shop={DEMO_DOMAIN}" in href
    figures = page.get_by_role("region", name="Last 30 days")
    expect(figures).to_contain_text("Credit balance")
    expect(figures).to_contain_text("$64.00")  # the attributed order, in the shop's currency
    recent = page.get_by_role("region", name="Recent campaigns")
    expect(recent.get_by_role("link", name="Spring sale")).to_be_visible()
    expect(recent.get_by_role("row")).to_have_count(2)  # header and the one campaign
    assert check_accessibility(page) == []


def test_a_new_shop_sees_what_to_do_next(page, app):
    install_shop(SHOP)
    open_screen(page, "/", SHOP)
    expect(page.get_by_role("region", name="Get set up")).to_contain_text("1 of 4 steps done")
    recent = page.get_by_role("region", name="Recent campaigns")
    expect(recent).to_contain_text("No campaigns yet")
    action = recent.get_by_role("link", name="Create campaign")
    assert action.get_attribute("href").startswith("/campaigns/new?")
    assert check_accessibility(page) == []


def test_numbers_and_money_follow_the_admin_users_language(page, app):
    seed()
    open_screen(page, "/", DEMO_DOMAIN, locale="fr")
    assert page.evaluate("document.documentElement.lang") == "fr"
    figures = page.get_by_role("region", name="Last 30 days")
    expect(figures).to_contain_text("64,00\u00a0$US")


def test_a_campaign_name_is_shown_as_text_not_markup(page, app):
    shop = install_shop(SHOP)
    created = ApiClient(app.test_client(), shop.domain).post("/api/campaigns", json={"name": XSS, "body": "Hi"})
    assert created.status_code == 201
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_screen(page, "/", SHOP)
    recent = page.get_by_role("region", name="Recent campaigns")
    expect(recent.get_by_role("link", name=XSS)).to_be_visible()
    assert page.locator("img").count() == 0
    assert dialogs == []
