"""Local-time sending in a real browser: the composer's "Send in each subscriber's time zone"
with an hour on their clock, a quiet-hours hour refused beside its field, and the campaign page
showing each time-zone cohort waiting for its hour; axe on both screens."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import select

from shopify_app.extensions import db, sms_backend
from shopify_app.models import Campaign, CampaignState

from .harness import check_accessibility, open_screen
from .test_campaigns import browser_app, merchant  # noqa: F401 (fixtures)


def test_send_at_ten_in_each_subscribers_time_zone(page: Page, browser_app, merchant):  # noqa: F811
    api, shop = merchant  # three subscribers with +1 415 numbers: America/Los_Angeles
    assert api.patch("/api/settings", json={"quiet_hours": {"start": "21:00", "end": "08:00"}}).status_code == 200
    open_screen(page, "/campaigns/new", shop)
    page.get_by_label("Campaign name").fill("Good morning")
    page.get_by_role("textbox", name="Message", exact=True).fill("Good morning, 10% off today!")
    page.get_by_role("combobox", name="Audience").select_option(label="All subscribers")
    expect(page.locator("#estimate")).to_contain_text("Recipients")
    page.get_by_label("When").select_option(label="Send in each subscriber's time zone")

    # 22:30 is within the shop's quiet hours (21:00-08:00): the API's 422, beside the field.
    hour = page.get_by_label("Hour on their clock")
    hour.select_option("22:30")
    page.get_by_role("button", name="Save draft").click()
    expect(hour).to_have_attribute("aria-invalid", "true")
    expect(hour).to_have_accessible_description(re.compile("quiet hours"))
    assert check_accessibility(page) == []

    hour.select_option("10:00")
    page.get_by_role("button", name="Review and launch").click()
    dialog = page.get_by_role("dialog", name="Launch campaign")
    expect(dialog).to_contain_text(re.compile(r"Sends\s*10:00 AM in each subscriber's time zone, the next time"))
    dialog.get_by_role("button", name="Send campaign").click()

    expect(page.locator("#status")).to_contain_text("Sending")
    expect(page.locator("#status")).to_contain_text("Sends at 10:00 in each subscriber's time zone.")
    cohorts = page.get_by_role("table", name="Time zone cohorts")
    row = cohorts.get_by_role("row").filter(has_text="America/Los_Angeles")
    expect(row).to_contain_text("Waiting")
    expect(row).to_contain_text("0 of 3")
    assert check_accessibility(page) == []
    [campaign] = db.session.scalars(select(Campaign).where(Campaign.shop_id == shop.id))
    db.session.refresh(campaign)
    assert (campaign.state, campaign.local_send_time) == (CampaignState.SENDING, "10:00")
    assert sms_backend().sent == []  # nobody's clock reads 10:00 yet
