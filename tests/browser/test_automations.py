"""The automations screen: each kind's switch (and what the API then holds), its message editor
with the variables its kind allows, 422s beside their fields, and its recent runs."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from shopify_app.extensions import db
from shopify_app.models import AutomationRun, RunState
from shopify_app.models.types import utcnow

from ..conftest import open_shop
from .harness import check_accessibility, open_screen


@pytest.fixture
def shop_and_api(app):
    api, shop = open_shop(app)
    return shop, api


@pytest.fixture
def automations_api(shop_and_api):
    return shop_and_api[1]


def automation(api, kind: str) -> dict:
    return next(item for item in api.get("/api/automations").get_json()["items"] if item["kind"] == kind)


def section(page: Page, heading: str):
    return page.get_by_role("region", name=heading, exact=True)


def test_turning_an_automation_on_and_off_is_what_the_api_holds(page: Page, automations_api):
    open_screen(page, "/automations")
    switch = page.get_by_role("switch", name="Send welcome messages")
    expect(switch).not_to_be_checked()
    switch.check()
    expect(page.get_by_role("status").filter(has_text="Welcome message on")).to_be_visible()
    assert automation(automations_api, "welcome")["enabled"] is True
    switch.uncheck()
    expect(page.get_by_role("status").filter(has_text="Welcome message off")).to_be_visible()
    assert automation(automations_api, "welcome")["enabled"] is False
    assert automation(automations_api, "birthday")["enabled"] is False  # only the one switched


def test_editing_a_message_with_a_variable_of_its_kind_is_saved(page: Page, automations_api):
    open_screen(page, "/automations")
    shipping = section(page, "Shipping update")
    shipping.get_by_label("Message", exact=True).fill("Order {{order_number}} is on its way.")
    shipping.get_by_role("button", name="Insert tracking_url").click()
    message = shipping.get_by_label("Message", exact=True)
    expect(message).to_have_value("Order {{order_number}} is on its way. {{tracking_url}}")
    expect(section(page, "Welcome message").get_by_role("button", name="Insert tracking_url")).to_have_count(0)
    shipping.get_by_label("Wait before sending (minutes)").fill("30")
    shipping.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Shipping update saved")).to_be_visible()
    stored = automation(automations_api, "shipping_update")
    assert stored["body"] == "Order {{order_number}} is on its way. {{tracking_url}}"
    assert stored["delay_minutes"] == 30


def test_422s_are_shown_beside_their_fields(page: Page, automations_api):
    open_screen(page, "/automations")
    welcome = section(page, "Welcome message")
    welcome.get_by_label("Message", exact=True).fill("Track it: {{tracking_url}}")
    welcome.get_by_role("button", name="Save").click()
    expect(welcome.get_by_label("Message", exact=True)).to_have_accessible_description(re.compile("tracking_url"))
    expect(welcome.get_by_role("alert")).to_contain_text("Welcome message was not saved")
    birthday = section(page, "Birthday message")
    birthday.get_by_label("Hour of the day to send (0-23, America/New_York)").fill("24")
    birthday.get_by_role("button", name="Save").click()
    expect(birthday.get_by_label("Hour of the day to send (0-23, America/New_York)")).to_have_accessible_description(
        "hour must be a whole number from 0 to 23."
    )
    assert automation(automations_api, "welcome")["body"].startswith("Welcome to {{shop_name}}")
    assert automation(automations_api, "birthday")["conditions"] == {"hour": 10}


def test_recent_runs_page_with_a_cursor(page: Page, shop_and_api):
    shop, automations_api = shop_and_api
    welcome = automation(automations_api, "welcome")
    contact = automations_api.post(
        "/api/contacts", json={"phone": "+14155550123", "consent_state": "subscribed", "consent_text": "Yes."}
    ).get_json()["id"]
    for n in range(25):
        db.session.add(
            AutomationRun(
                shop_id=shop.id,
                automation_id=welcome["id"],
                contact_id=contact,
                trigger_key=f"test:{n}",
                state=RunState.CANCELLED,
                due_at=utcnow(),
                cancel_reason="automation_disabled",
            )
        )
    db.session.commit()
    open_screen(page, "/automations")
    region = section(page, "Welcome message")
    region.get_by_role("button", name="Show recent runs").click()
    table = region.get_by_role("table", name="Recent runs of Welcome message")
    expect(table.get_by_role("row")).to_have_count(21)  # the header and the first 20
    region.get_by_role("button", name="Show more").click()
    expect(table.get_by_role("row")).to_have_count(26)
    expect(region.get_by_role("button", name="Show more")).to_have_count(0)
    expect(table.get_by_role("cell", name="automation disabled").first).to_be_visible()


def test_an_automation_without_runs_says_so(page: Page, automations_api):
    open_screen(page, "/automations")
    region = section(page, "Win-back message")
    region.get_by_role("button", name="Show recent runs").click()
    expect(region).to_contain_text("No runs yet.")


def test_the_automations_screen_passes_axe(page: Page, automations_api):
    open_screen(page, "/automations")
    assert check_accessibility(page) == []
