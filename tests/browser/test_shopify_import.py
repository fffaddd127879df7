"""Importing Shopify's SMS subscribers from the Subscribers screen, against the loopback fake
Shopify: the merchant starts it, sees it wait for Shopify's export, then the imported count and
the new contacts."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from shopify_app.extensions import db

from ..conftest import install_shop, settle_jobs
from .harness import check_accessibility, open_screen

SHOP = "alpha.myshopify.com"


@pytest.fixture
def browser_app(shopify_app):
    return shopify_app


@pytest.fixture
def shop(shopify_app, fake_shopify):
    shop = install_shop(SHOP)
    shop.access_token = fake_shopify.issue_access_token(SHOP)
    db.session.commit()
    return shop


def customer(number: int, phone: str, state: str = "SUBSCRIBED") -> str:
    consent = {
        "marketingState": state,
        "marketingOptInLevel": "SINGLE_OPT_IN",
        "consentUpdatedAt": "2025-03-01T10:00:00Z",
    }
    return json.dumps({"id": f"gid://shopify/Customer/{number}", "phone": phone, "smsMarketingConsent": consent})


def test_import_from_shopify_shows_progress_then_the_imported_subscribers(page, shopify_app, fake_shopify, shop):
    fake_shopify.bulk_jsonl[SHOP] = [
        customer(1, "+14155550101"),
        customer(2, "+14155550102"),
        customer(3, "+14155550103", state="NOT_SUBSCRIBED"),
        customer(4, "not a phone"),
    ]
    open_screen(page, "/subscribers", shop)
    page.get_by_role("button", name="Import from Shopify").click()
    expect(page.get_by_role("heading", name="Importing from Shopify")).to_be_visible()
    expect(page.get_by_text("Shopify is preparing the export of its SMS subscribers.", exact=False)).to_be_visible()

    settle_jobs(shopify_app)  # the worker: start the bulk operation, poll it, stream its JSONL

    expect(page.get_by_role("heading", name="Import finished")).to_be_visible()
    summary = "Shopify customers: 4 of 4 customers read, 2 new subscribers, 1 row with problems."
    expect(page.get_by_text(summary)).to_be_visible()
    expect(page.get_by_role("list", name="Rows with problems")).to_have_text("Row 4, phone: Not a valid phone number.")
    rows = page.get_by_role("table", name="Contacts").get_by_role("row")
    expect(rows).to_have_count(3)  # the header and the two subscribers
    expect(rows.filter(has_text="+1******0101")).to_contain_text("Subscribed")
    assert check_accessibility(page) == []

    # Again: nothing new, and the banner says so.
    page.get_by_role("button", name="Import from Shopify").click()
    expect(page.get_by_role("heading", name="Importing from Shopify")).to_be_visible()  # started
    settle_jobs(shopify_app)
    expect(
        page.get_by_text("Shopify customers: 4 of 4 customers read, 0 new subscribers, 1 row with problems.")
    ).to_be_visible()
    expect(rows).to_have_count(3)


def test_the_import_started_at_install_shows_its_progress_when_the_merchant_opens_subscribers(
    page, shopify_app, fake_shopify, shop
):
    from shopify_app.services.contacts import shopify_import

    fake_shopify.bulk_jsonl[SHOP] = [customer(1, "+14155550101")]
    shopify_import.start(shop=shop)  # what the install does
    open_screen(page, "/subscribers", shop)
    expect(page.get_by_role("heading", name="Importing from Shopify")).to_be_visible()
    settle_jobs(shopify_app)
    expect(page.get_by_role("heading", name="Import finished")).to_be_visible()
    expect(page.get_by_role("table", name="Contacts").get_by_role("row")).to_have_count(2)


def test_a_shop_that_never_imported_shows_no_import_banner(page, shop):
    open_screen(page, "/subscribers", shop)
    expect(page.get_by_role("heading", name="No subscribers yet")).to_be_visible()
    expect(page.get_by_role("heading", name="Importing from Shopify")).to_have_count(0)
