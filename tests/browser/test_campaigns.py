"""The campaign screens in a real browser (issue 25): compose a campaign and see its segments
and cost, test it on the merchant's phone, launch it through the cost confirmation, watch it
complete and read its report; pause and resume a sending campaign, cancel after a
confirmation; 422s beside their fields; names shown as text; axe on every screen."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from shopify_app.extensions import db, sms_backend
from shopify_app.models import Campaign, CampaignState

from ..conftest import open_shop, settle_jobs
from .harness import check_accessibility, open_screen

SUBSCRIBE = {"consent_state": "subscribed", "consent_text": "Yes, texts please."}
HOSTILE = "<img src=x onerror=alert(1)>"
MERCHANT_PHONE = "+14155550100"


@pytest.fixture
def browser_app(make_app):
    """Jobs wait in the (fake) queue until the test runs them: a launched campaign is `sending`
    while the page polls, and completes when settle_jobs() sends it."""
    app = make_app(QUEUE_ASYNC=True)
    with app.app_context():
        yield app


@pytest.fixture
def merchant(browser_app):
    """An installed shop (with a US number) holding 1,000 credits and three subscribers."""
    api, shop = open_shop(browser_app, credits=1000)
    for n, name in enumerate(["Ada", "Bob", "Cy"]):
        contact = {"phone": f"+1415555{n:04d}", "first_name": name, **SUBSCRIBE}
        assert api.post("/api/contacts", json=contact).status_code == 201
    return api, shop


def campaign_row(campaign_id: int) -> Campaign:
    db.session.expire_all()
    return db.session.get(Campaign, campaign_id)


def no_serious_violations(page: Page) -> None:
    assert check_accessibility(page) == []


def test_compose_test_launch_watch_and_report(page: Page, browser_app, merchant):
    _api, shop = merchant
    open_screen(page, "/campaigns", shop)
    expect(page.get_by_role("heading", name="No campaigns yet")).to_be_visible()
    no_serious_violations(page)
    page.locator("#list").get_by_role("link", name="Create campaign").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New campaign")
    page.wait_for_function("() => !document.querySelector('[aria-busy=\"true\"]')")

    page.get_by_label("Campaign name").fill("Spring sale")
    message = page.get_by_role("textbox", name="Message", exact=True)
    message.fill("Hi {{first_name}}, 20% off all week!")
    # The counter and the preview are the API's (POST /api/templates/preview), not the page's.
    expect(page.locator("#counter")).to_have_text(re.compile(r"\d+ characters · 1 SMS segment · GSM-7"))
    expect(page.locator("#preview")).to_contain_text("Hi Alex, 20% off all week!")
    message.fill("Hi {{first_name}}, 20% off all week! 🌸")
    expect(page.locator("#counter")).to_contain_text("UCS-2")
    message.fill("Hi {{first_name}}, 20% off all week!")
    page.get_by_label("Variable").select_option(label="Shop name")
    page.get_by_role("button", name="Insert variable").click()
    expect(message).to_have_value("Hi {{first_name}}, 20% off all week! {{shop_name}}")
    expect(page.locator("#counter")).to_contain_text("GSM-7")

    # Choosing the audience saves the draft and shows what it would cost.
    page.get_by_role("combobox", name="Audience").select_option(label="All subscribers")
    estimate = page.locator("#estimate")
    expect(estimate).to_contain_text("Recipients")
    expect(estimate.locator(".metric").nth(0)).to_contain_text("3")
    expect(estimate.locator(".metric").nth(1)).to_contain_text("3")
    expect(page).to_have_url(re.compile(r"/campaigns/\d+/edit\?"))
    campaign_id = int(re.search(r"/campaigns/(\d+)/edit", page.url).group(1))
    draft = campaign_row(campaign_id)
    assert (draft.name, draft.state, draft.segment_id) == ("Spring sale", CampaignState.DRAFT, None)
    assert draft.body == "Hi {{first_name}}, 20% off all week! {{shop_name}}"
    no_serious_violations(page)

    # A test to the merchant's own phone, through the send path.
    page.get_by_label("Your phone number").fill(MERCHANT_PHONE)
    page.get_by_role("button", name="Send test").click()
    expect(page.locator("#test-result")).to_contain_text("Test sent to +1")
    expect(page.locator("#test-result")).to_contain_text("1 of")

    # Launch through the confirmation, which shows the recipients and the credits.
    page.get_by_role("button", name="Review and launch").click()
    dialog = page.get_by_role("dialog", name="Launch campaign")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(re.compile(r"Recipients\s*3"))
    expect(dialog).to_contain_text(re.compile(r"Estimated credits\s*3"))
    expect(dialog).to_contain_text(re.compile(r"Sends\s*Now"))
    dialog.get_by_role("button", name="Send campaign").click()
    expect(page).to_have_url(re.compile(rf"/campaigns/{campaign_id}\?"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Spring sale")
    expect(page.locator("#status")).to_contain_text("Sending")
    assert campaign_row(campaign_id).state == CampaignState.SENDING

    # The page polls while it sends; the jobs run here.
    settle_jobs(browser_app)
    expect(page.locator("#status")).to_contain_text("Completed")
    expect(page.locator("#progress")).to_contain_text("3 of 3 messages handled")
    assert campaign_row(campaign_id).state == CampaignState.COMPLETED
    destinations = sorted(message.destination for message in sms_backend().sent)
    assert destinations == ["+14155550000", "+14155550001", "+14155550002", MERCHANT_PHONE]

    report = page.locator("#report")
    expect(report).to_contain_text("Attributed revenue")
    expect(report.locator(".metric", has_text="Credits spent")).to_contain_text("3")
    expect(report.locator(".metric", has_text="Attributed revenue")).to_contain_text("$0.00")
    no_serious_violations(page)
    with page.expect_download() as info:
        page.get_by_role("button", name="Download CSV").click()
    download = info.value
    assert download.suggested_filename == f"campaign-{campaign_id}.csv"
    header, row = Path(download.path()).read_text(encoding="utf-8").splitlines()
    assert header.startswith("campaign_id,name,messages,sent,delivered,failed")
    assert row.startswith(f"{campaign_id},Spring sale,3,3")

    # Back on the list: the campaign with its counters.
    open_screen(page, "/campaigns", shop)
    row = page.get_by_role("row", name=re.compile("Spring sale"))
    expect(row).to_contain_text("Completed")
    expect(row.get_by_role("cell").nth(2)).to_have_text("3")
    no_serious_violations(page)


def test_pause_resume_and_cancel_a_sending_campaign(page: Page, browser_app, merchant):
    api, shop = merchant
    campaign = api.post("/api/campaigns", json={"name": "Flash sale", "body": "Flash sale today!"}).get_json()
    assert api.post(f"/api/campaigns/{campaign['id']}/launch").status_code == 200
    open_screen(page, f"/campaigns/{campaign['id']}", shop)
    expect(page.locator("#status")).to_contain_text("Sending")
    expect(page.get_by_role("button", name="Resume")).to_have_count(0)

    page.get_by_role("button", name="Pause").click()
    expect(page.locator("#status")).to_contain_text("Paused")
    assert campaign_row(campaign["id"]).state == CampaignState.PAUSED
    settle_jobs(browser_app)  # a paused campaign's batches send nothing
    assert sms_backend().sent == []

    page.get_by_role("button", name="Resume").click()
    expect(page.locator("#status")).to_contain_text("Sending")
    assert campaign_row(campaign["id"]).state == CampaignState.SENDING
    settle_jobs(browser_app)
    expect(page.locator("#status")).to_contain_text("Completed")
    expect(page.get_by_role("button", name="Pause")).to_have_count(0)
    assert len(sms_backend().sent) == 3

    # Cancel asks first; keeping the campaign changes nothing.
    other = api.post("/api/campaigns", json={"name": "Later", "body": "Later!"}).get_json()
    assert api.post(f"/api/campaigns/{other['id']}/launch").status_code == 200
    open_screen(page, f"/campaigns/{other['id']}", shop)
    page.get_by_role("button", name="Cancel campaign").click()
    dialog = page.get_by_role("dialog", name="Cancel this campaign?")
    expect(dialog).to_be_visible()
    no_serious_violations(page)
    dialog.get_by_role("button", name="Keep campaign").click()
    expect(dialog).to_be_hidden()
    assert campaign_row(other["id"]).state == CampaignState.SENDING
    page.get_by_role("button", name="Cancel campaign").click()
    dialog.get_by_role("button", name="Cancel campaign").click()
    expect(page.locator("#status")).to_contain_text("Cancelled")
    assert campaign_row(other["id"]).state == CampaignState.CANCELLED


def test_422s_appear_beside_their_fields(page: Page, browser_app, merchant):
    _api, shop = merchant
    open_screen(page, "/campaigns/new", shop)
    page.get_by_role("textbox", name="Message", exact=True).fill("Hello {{nickname}}")
    # The preview's 422: the message names a variable templating does not know.
    message = page.get_by_role("textbox", name="Message", exact=True)
    expect(message).to_have_attribute("aria-invalid", "true")
    expect(message).to_have_accessible_description(re.compile("Unknown variable"))
    message.fill("Hello!")
    expect(page.locator("#counter")).to_contain_text("1 SMS segment")
    page.get_by_role("button", name="Save draft").click()
    name = page.get_by_label("Campaign name")
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_have_accessible_description(re.compile(r"\w"))
    assert db.session.scalar(select(Campaign.id).where(Campaign.shop_id == shop.id)) is None
    no_serious_violations(page)
    # Scheduling without a date is caught beside the date.
    name.fill("Weekend")
    page.get_by_label("When").select_option(label="Schedule for later")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_label("Date")).to_have_accessible_description(re.compile("Choose a date"))


def test_a_scheduled_time_is_the_shops_wall_clock(page: Page, browser_app, merchant):
    _api, shop = merchant
    shop.timezone = "America/New_York"
    db.session.commit()
    open_screen(page, "/campaigns/new", shop)
    page.get_by_label("Campaign name").fill("Summer")
    page.get_by_role("textbox", name="Message", exact=True).fill("Summer is here!")
    page.get_by_role("combobox", name="Audience").select_option(label="All subscribers")
    expect(page.locator("#estimate")).to_contain_text("Recipients")
    page.get_by_label("When").select_option(label="Schedule for later")
    expect(page.get_by_label("Date")).to_have_accessible_description(re.compile("America/New_York"))
    page.get_by_label("Date").fill("2031-07-01")
    page.get_by_label("Time").select_option("09:30")
    page.get_by_role("button", name="Review and launch").click()
    dialog = page.get_by_role("dialog", name="Launch campaign")
    expect(dialog).to_contain_text("Jul 1, 2031, 9:30")
    dialog.get_by_role("button", name="Schedule campaign").click()
    expect(page.locator("#status")).to_contain_text("Scheduled")
    [campaign] = db.session.scalars(select(Campaign).where(Campaign.shop_id == shop.id))
    db.session.refresh(campaign)
    assert campaign.state == CampaignState.SCHEDULED
    assert campaign.send_at.isoformat() == "2031-07-01T13:30:00+00:00"  # EDT is UTC-4


def test_test_send_and_launch_errors_show_the_apis_message(page: Page, browser_app):
    api, shop = open_shop(browser_app, credits=1)
    for n in range(3):
        api.post("/api/contacts", json={"phone": f"+1415555{n:04d}", **SUBSCRIBE})
    opted_out = {"phone": "+14155550777", "consent_state": "unsubscribed"}
    assert api.post("/api/contacts", json=opted_out).status_code == 201
    campaign = api.post("/api/campaigns", json={"name": "Short", "body": "Sale!"}).get_json()
    open_screen(page, f"/campaigns/{campaign['id']}/edit", shop)
    expect(page.get_by_label("Campaign name")).to_have_value("Short")
    page.get_by_label("Your phone number").fill("+14155550777")
    page.get_by_role("button", name="Send test").click()
    expect(page.locator("#test-result")).to_contain_text("opted out")
    page.get_by_label("Your phone number").fill("12")
    page.get_by_role("button", name="Send test").click()
    expect(page.get_by_label("Your phone number")).to_have_attribute("aria-invalid", "true")

    page.get_by_role("combobox", name="Audience").select_option(label="All subscribers")
    page.get_by_role("button", name="Review and launch").click()
    dialog = page.get_by_role("dialog", name="Launch campaign")
    dialog.get_by_role("button", name="Send campaign").click()
    error = page.locator("#launch-error")
    expect(error).to_contain_text("Not enough credits")
    expect(error).to_contain_text("Needed: 3 credits. Available: 1 credits.")
    assert campaign_row(campaign["id"]).state == CampaignState.DRAFT


def test_names_are_text_and_the_list_pages(page: Page, browser_app, merchant):
    api, shop = merchant
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    for n in range(26):
        api.post("/api/campaigns", json={"name": f"Campaign {n:02d}", "body": "Hi!"})
    hostile = api.post("/api/campaigns", json={"name": HOSTILE, "body": "Hi <b>there</b>"}).get_json()
    open_screen(page, "/campaigns", shop)
    expect(page.get_by_role("link", name=HOSTILE)).to_be_visible()
    expect(page.get_by_role("row")).to_have_count(26)  # the header and 25 campaigns
    page.get_by_role("button", name="Next page").click()
    expect(page.get_by_role("link", name="Campaign 00")).to_be_visible()
    expect(page.get_by_role("link", name=HOSTILE)).to_have_count(0)
    page.get_by_role("button", name="Previous page").click()
    expect(page.get_by_role("link", name=HOSTILE)).to_be_visible()

    open_screen(page, f"/campaigns/{hostile['id']}", shop)
    expect(page.get_by_role("heading", level=1)).to_have_text(HOSTILE)
    expect(page.locator("#status")).to_contain_text("Hi <b>there</b>")
    open_screen(page, f"/campaigns/{hostile['id']}/edit", shop)
    expect(page.get_by_label("Campaign name")).to_have_value(HOSTILE)
    assert page.locator("img, b").count() == 0
    assert dialogs == []


def test_a_time_that_has_passed_is_refused_beside_the_date(page: Page, browser_app, merchant):
    _api, shop = merchant
    open_screen(page, "/campaigns/new", shop)
    page.get_by_label("Campaign name").fill("Yesterday")
    page.get_by_role("textbox", name="Message", exact=True).fill("Too late!")
    page.get_by_role("combobox", name="Audience").select_option(label="All subscribers")
    expect(page.locator("#estimate")).to_contain_text("Recipients")
    page.get_by_label("When").select_option(label="Schedule for later")
    page.get_by_label("Date").fill("2020-01-01")
    page.get_by_role("button", name="Review and launch").click()
    page.get_by_role("dialog", name="Launch campaign").get_by_role("button", name="Schedule campaign").click()
    expect(page.get_by_label("Date")).to_have_accessible_description(re.compile("This time has passed"))
    expect(page.get_by_role("dialog", name="Launch campaign")).to_be_hidden()
    [campaign] = db.session.scalars(select(Campaign).where(Campaign.shop_id == shop.id))
    db.session.refresh(campaign)
    assert campaign.state == CampaignState.DRAFT
    assert sms_backend().sent == []
