"""The settings screen: a form under App Bridge's save bar (shown on the first change, hidden after
save or discard), 422 messages beside their fields, and what the API then holds."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from ..conftest import open_shop
from .harness import check_accessibility, open_screen

SAVE_BAR = "#settings-save-bar"


@pytest.fixture
def settings_api(app):
    api, _shop = open_shop(app)
    assert api.patch("/api/settings", json={"quiet_hours": {"start": "21:00", "end": "08:00"}}).status_code == 200
    return api


def saved(api) -> dict:
    return api.get("/api/settings").get_json()


def save_bar(page: Page):
    return page.locator(SAVE_BAR)


def test_changing_quiet_hours_shows_the_save_bar_and_saving_stores_them(page: Page, settings_api):
    open_screen(page, "/settings")
    expect(page.get_by_label("Quiet hours start")).to_have_value("21:00")
    expect(save_bar(page)).to_be_hidden()
    page.get_by_label("Quiet hours start").fill("22:30")
    expect(save_bar(page)).to_be_visible()
    page.get_by_label("Quiet hours end").fill("07:15")
    save_bar(page).get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Settings saved")).to_be_visible()
    expect(save_bar(page)).to_be_hidden()
    assert saved(settings_api)["quiet_hours"] == {"start": "22:30", "end": "07:15"}


def test_discard_restores_the_loaded_values_and_saves_nothing(page: Page, settings_api):
    open_screen(page, "/settings")
    page.get_by_label("Quiet hours start").fill("23:00")
    page.get_by_label("Join keyword").fill("JOINUS")
    expect(save_bar(page)).to_be_visible()
    save_bar(page).get_by_role("button", name="Discard").click()
    expect(save_bar(page)).to_be_hidden()
    expect(page.get_by_label("Quiet hours start")).to_have_value("21:00")
    expect(page.get_by_label("Join keyword")).to_have_value("")
    assert saved(settings_api)["quiet_hours"] == {"start": "21:00", "end": "08:00"}
    assert saved(settings_api)["join_keyword"] is None


def test_a_422_is_shown_beside_its_field_and_nothing_is_saved(page: Page, settings_api):
    open_screen(page, "/settings")
    page.get_by_label("Quiet hours end").fill("25:00")
    page.get_by_label("Countries that may sign up").fill("US, usa")
    save_bar(page).get_by_role("button", name="Save").click()
    expect(page.get_by_label("Quiet hours end")).to_have_accessible_description("Use 24-hour HH:MM.")
    expect(page.get_by_label("Countries that may sign up")).to_have_accessible_description(
        "Two-letter codes separated by commas (e.g. US, CA). Empty: the home country only. "
        "Use ISO 3166 alpha-2 country codes, e.g. US."
    )
    expect(page.get_by_role("alert")).to_contain_text("The settings were not saved")
    expect(save_bar(page)).to_be_visible()  # the changes are still unsaved
    assert saved(settings_api)["quiet_hours"] == {"start": "21:00", "end": "08:00"}
    assert saved(settings_api)["signup_countries"] == []


def test_turning_quiet_hours_off_and_a_cap_on_are_saved(page: Page, settings_api):
    open_screen(page, "/settings")
    page.get_by_label("Hold texts during quiet hours").uncheck()
    page.get_by_label("Limit how many marketing texts a subscriber gets").check()
    page.get_by_label("Texts at most").fill("3")
    page.get_by_label("In this many days").fill("7")
    page.get_by_label("Send texts from").select_option(label="A sender name (letters)")
    page.get_by_label("Sender name").fill("Alpha")
    save_bar(page).get_by_role("button", name="Save").click()
    expect(save_bar(page)).to_be_hidden()
    stored = saved(settings_api)
    assert stored["quiet_hours"] is None
    assert stored["frequency_cap"] == {"max_messages": 3, "per_days": 7}
    assert stored["sender_id"] == "Alpha"


def test_the_settings_screen_passes_axe(page: Page, settings_api):
    open_screen(page, "/settings")
    expect(page.locator("#footer .sms-preview")).to_contain_text("Reply STOP")
    assert check_accessibility(page) == []
    page.get_by_label("Quiet hours start").fill("22:00")
    expect(save_bar(page)).to_be_visible()
    assert check_accessibility(page) == []


def test_adding_subscribers_to_shopify_customers_is_a_checkbox_the_api_then_holds(page: Page, settings_api):
    assert saved(settings_api)["add_subscribers_to_shopify"] is False
    open_screen(page, "/settings")
    checkbox = page.get_by_role("checkbox", name="Add subscribers to Shopify customers")
    expect(checkbox).not_to_be_checked()
    checkbox.check()
    expect(save_bar(page)).to_be_visible()
    save_bar(page).get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Settings saved")).to_be_visible()
    assert saved(settings_api)["add_subscribers_to_shopify"] is True
    assert saved(settings_api)["quiet_hours"] == {"start": "21:00", "end": "08:00"}  # only what changed was sent


def test_the_sign_up_page_is_set_up_and_shared_from_settings(page: Page, settings_api):
    open_screen(page, "/settings")
    share = page.get_by_role("region", name="Share your sign-up page")
    link = share.get_by_role("link", name="https://alpha.myshopify.com/apps/sms/join")
    expect(link).to_be_visible()
    qr = share.get_by_role("img", name="QR code for https://alpha.myshopify.com/apps/sms/join")
    expect(qr).to_be_visible()
    assert page.evaluate("(img) => img.naturalWidth > 0", qr.element_handle())  # the SVG loaded
    with page.expect_download() as download:
        share.get_by_role("button", name="Download QR code (PNG)").click()
    assert download.value.suggested_filename == "sms-join-qr.png"

    page.get_by_label("Headline").fill("<b>Join</b> the club")
    page.get_by_label("Button colour").fill("red")
    save_bar(page).get_by_role("button", name="Save").click()
    expect(page.get_by_label("Button colour")).to_have_accessible_description(re.compile("Use a colour as #rrggbb"))
    assert saved(settings_api)["join_headline"] is None  # a 422 saves nothing
    page.get_by_label("Button colour").fill("#aa0033")
    save_bar(page).get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Settings saved")).to_be_visible()
    stored = saved(settings_api)
    assert (stored["join_headline"], stored["join_button_color"]) == ("<b>Join</b> the club", "#aa0033")
    assert check_accessibility(page) == []
