"""The theme app extension in a browser: the blocks on a stand-in storefront whose app proxy
forwards, signed, to the app (tests/browser/storefront.py). A shopper joins from the inline
block (with JavaScript and without), from the popup (which opens after its delay or on exit
intent, once per visitor, traps focus and closes on Escape), confirms by the texted link, and
is subscribed with the consent text the block showed."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from shopify_app.extensions import db, sms_backend
from shopify_app.models import BackInStockRequest, ConsentEvent, Contact
from shopify_app.services.shops import storefront_sync

from ..conftest import TEST_API_SECRET, open_shop, settle_jobs
from .harness import Harness, check_accessibility
from .storefront import Storefront

SHOP = "alpha.myshopify.com"
PHONE = "(415) 555-0142"
POPUP = '[role="dialog"]'


@pytest.fixture
def browser_app(shopify_app):
    return shopify_app


@pytest.fixture
def storefront(browser_app, fake_shopify, live_server) -> Iterator[Storefront]:
    """The shop installed, its metafields written by the app's job, and its storefront up."""
    _api, shop = open_shop(browser_app, SHOP, fake_shopify=fake_shopify)
    storefront_sync.schedule_sync(shop)
    settle_jobs(browser_app)
    assert fake_shopify.app_metafields(SHOP)["disclosure"]
    store = Storefront(
        app_url=live_server, shop=SHOP, secret=TEST_API_SECRET, metafields=lambda: fake_shopify.app_metafields(SHOP)
    ).start()
    try:
        yield store
    finally:
        store.stop()


def join(page: Page, scope: str) -> str:
    """Fill the form inside `scope` and send it; the disclosure text the shopper was shown."""
    form = page.locator(scope).locator("form")
    form.get_by_label("Mobile number").fill(PHONE)
    form.locator('input[name="consent"]').check()
    shown = form.locator(".sms-blossom__disclosure").text_content()
    form.get_by_role("button", name="Sign up").click()
    return shown


def the_contact() -> Contact:
    db.session.expire_all()
    return db.session.scalars(select(Contact)).one()


def confirm_by_text(app, page: Page, storefront: Storefront) -> None:
    """Open the link the confirmation text carries (on the stand-in storefront) and press Confirm."""
    settle_jobs(app)
    [message] = sms_backend().sent
    link = urlsplit(message.text.split("tap ")[1].split(" ")[0])
    assert link.hostname == SHOP
    page.goto(f"{storefront.url}{link.path}?{link.query}")
    page.get_by_role("button").click()
    expect(page.get_by_role("heading", level=2)).to_have_text("Subscribed")


def assert_subscribed_with(shown: str) -> None:
    contact = the_contact()
    assert contact.consent_state.value == "subscribed"
    events = db.session.scalars(select(ConsentEvent).where(ConsentEvent.contact_id == contact.id)).all()
    assert events
    assert {event.consent_text for event in events if event.consent_text} == {shown}


def test_joining_from_the_inline_block_confirms_in_place_and_the_text_link_subscribes(browser_app, page, storefront):
    db.session.commit()
    page.goto(storefront.url + "/")
    shown = join(page, ".sms-blossom--inline")
    status = page.get_by_role("status")
    expect(status).to_have_text("Almost there! Check your texts and tap the link to confirm.")
    expect(status).to_be_focused()
    assert urlsplit(page.url).path == "/"  # no page load: the answer came by fetch
    expect(page.locator(".sms-blossom--inline form")).to_be_hidden()
    assert the_contact().consent_state.value == "pending"
    confirm_by_text(browser_app, page, storefront)
    assert_subscribed_with(shown)


def test_with_javascript_off_the_block_posts_and_lands_on_the_confirmation_page(browser, browser_app, storefront):
    db.session.commit()
    context = browser.new_context(java_script_enabled=False, locale="en-US", service_workers="block")
    harness = Harness(context, storefront.app_url)  # nothing leaves the machine
    try:
        page = context.new_page()
        harness.watch(page)
        page.goto(storefront.url + "/")
        shown = join(page, ".sms-blossom--inline")
        page.wait_for_url(f"{storefront.url}/apps/sms/subscribe")
        expect(page.get_by_role("heading", level=2)).to_have_text("Almost there")
        expect(page.get_by_role("link", name="Alpha")).to_be_visible()  # inside the theme's layout
        assert the_contact().consent_state.value == "pending"
        confirm_by_text(browser_app, page, storefront)
        assert_subscribed_with(shown)
        assert harness.log.problems() == {}
    finally:
        context.close()


def test_the_popup_opens_after_its_delay_traps_focus_closes_on_escape_and_stays_closed(page, storefront):
    storefront.home = []
    storefront.embeds = [("signup-popup", {"delay_seconds": 1, "exit_intent": False})]
    db.session.commit()
    page.goto(storefront.url + "/")
    dialog = page.locator(POPUP)
    expect(dialog).to_be_visible()
    expect(dialog).to_have_accessible_name("Get texts from Alpha")
    expect(dialog.get_by_label("Country")).to_be_focused()
    inside = "() => document.querySelector('[role=dialog]').contains(document.activeElement)"
    for key in ["Tab"] * 8 + ["Shift+Tab"] * 8:
        page.keyboard.press(key)
        assert page.evaluate(inside), f"focus left the dialog after {key}"
    assert check_accessibility(page) == []
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.reload()
    page.wait_for_load_state("load")
    page.evaluate("() => new Promise((resolve) => setTimeout(resolve, 1500))")  # past the delay
    expect(dialog).to_be_hidden()


def test_exit_intent_opens_the_popup_and_closing_returns_focus(page, storefront):
    storefront.embeds = [("signup-popup", {"delay_seconds": 60, "exit_intent": True})]
    db.session.commit()
    page.goto(storefront.url + "/")
    page.get_by_role("link", name="Linen shirt").focus()
    page.evaluate("() => document.dispatchEvent(new MouseEvent('mouseout', {clientY: -5, relatedTarget: null}))")
    dialog = page.locator(POPUP)
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("link", name="Linen shirt")).to_be_focused()


def test_joining_from_the_popup_then_confirming_subscribes_with_the_shown_text(browser_app, page, storefront):
    storefront.home = []
    storefront.embeds = [("signup-popup", {"delay_seconds": 0, "exit_intent": False})]
    db.session.commit()
    page.goto(storefront.url + "/")
    expect(page.locator(POPUP)).to_be_visible()
    shown = join(page, POPUP)
    status = page.locator(POPUP).get_by_role("status")
    expect(status).to_have_text("Almost there! Check your texts and tap the link to confirm.")
    expect(status).to_be_focused()
    assert check_accessibility(page) == []
    confirm_by_text(browser_app, page, storefront)
    assert_subscribed_with(shown)


def test_a_refused_number_is_explained_in_the_form(page, storefront):
    db.session.commit()
    page.goto(storefront.url + "/")
    form = page.locator(".sms-blossom--inline form")
    form.get_by_label("Mobile number").fill("12")
    form.locator('input[name="consent"]').check()
    form.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("alert")).to_contain_text("Check your mobile number")
    expect(form).to_be_visible()


def test_back_in_stock_follows_the_variant_picker_and_records_the_wish(page, storefront):
    db.session.commit()
    page.goto(storefront.url + "/products/linen-shirt")
    block = page.locator(".sms-blossom--stock")
    expect(block).to_be_visible()  # the selected variant (4242) is sold out
    page.get_by_label("Size").select_option("4243")
    expect(block).to_be_hidden()
    page.get_by_label("Size").select_option("4242")
    expect(block).to_be_visible()
    form = block.locator("form")
    form.get_by_label("Mobile number").fill(PHONE)
    form.locator('input[name="consent"]').check()
    shown = form.locator(".sms-blossom__disclosure").text_content()
    form.get_by_role("button", name="Text me when it's back").click()
    expect(block.get_by_role("status")).to_have_text(
        "Almost there! Confirm by text, and we'll let you know when it's back in stock."
    )
    db.session.expire_all()
    [wish] = db.session.scalars(select(BackInStockRequest)).all()
    assert (wish.variant_id, wish.product_title) == (4242, "Linen shirt")
    [event] = db.session.scalars(select(ConsentEvent)).all()
    assert event.consent_text == shown
