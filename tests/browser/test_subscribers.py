"""The Subscribers screens as a merchant uses them: import a CSV and watch it finish, search by
phone, open a contact (consent history, texts sent), tag and unsubscribe and delete it; every
screen passes axe, and a shopper's name that looks like markup stays text."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from shopify_app.extensions import db
from shopify_app.models import Campaign, CampaignKind, ConsentState, Contact, Message, MessageState
from shopify_app.models.types import utcnow

from ..conftest import ApiClient, settle_jobs
from .harness import check_accessibility, open_screen

HOSTILE = "<img src=x onerror=alert(1)>"
SUBSCRIBE = {"consent_state": "subscribed", "consent_text": "Yes, text me offers. Reply STOP to opt out."}


@pytest.fixture
def dialogs(page: Page) -> list[str]:
    """Every alert()/confirm() the page opens (none should)."""
    seen: list[str] = []

    def record(dialog):
        seen.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    return seen


def create(api: ApiClient, phone: str, **fields) -> dict:
    response = api.post("/api/contacts", json={"phone": phone, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def modal(page: Page, heading: str):
    """An <s-modal>'s contents (slotted into its dialog, so not inside the dialog's role scope)."""
    expect(page.get_by_role("dialog", name=heading)).to_be_visible()
    return page.locator(f's-modal[heading="{heading}"]')


def contacts_table(page: Page):
    return page.get_by_role("table", name="Contacts")


def fresh(contact_id: int) -> Contact | None:
    db.session.rollback()  # the server committed in its own session
    return db.session.get(Contact, contact_id)


def test_the_empty_list_says_what_to_do_next_and_passes_axe(page, shop):
    open_screen(page, "/subscribers", shop)
    expect(page.get_by_role("heading", name="No subscribers yet")).to_be_visible()
    expect(page.get_by_role("button", name="Import CSV")).to_be_visible()
    assert check_accessibility(page) == []


def test_importing_a_csv_shows_progress_to_the_end_and_the_new_rows(page, shop, tmp_path: Path):
    csv = tmp_path / "shoppers.csv"
    csv.write_text(
        "phone,first_name,last_name,tags,consent\n"
        "+14155550101,Ada,Lovelace,vip,yes\n"
        "+14155550102,Grace,Hopper,,no\n"
        "not a phone,Bad,Row,,yes\n",
        encoding="utf-8",
    )
    open_screen(page, "/subscribers", shop)
    page.get_by_role("button", name="Import CSV").click()
    dialog = modal(page, "Import subscribers")
    dialog.get_by_label("CSV file").set_input_files(str(csv))

    dialog.get_by_role("button", name="Import", exact=True).click()  # without the attestation: the API says no
    expect(dialog.get_by_text(re.compile("agreed to receive your marketing texts"))).to_be_visible()
    assert db.session.scalar(select(Contact.id)) is None

    dialog.get_by_label(re.compile("Every shopper this file marks as subscribed")).check()
    dialog.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("heading", name="Import finished")).to_be_visible()
    expect(page.get_by_text("shoppers.csv: 3 of 3 rows read, 2 new subscribers, 1 row with problems.")).to_be_visible()
    expect(page.get_by_role("list", name="Rows with problems")).to_have_text("Row 4, phone: Not a valid phone number.")
    table = contacts_table(page)
    expect(table.get_by_role("row")).to_have_count(3)  # the header and two contacts
    ada = table.get_by_role("row").filter(has_text="Ada Lovelace")
    expect(ada).to_contain_text("+1******0101")
    expect(ada).to_contain_text("Subscribed")
    expect(ada).to_contain_text("vip")
    expect(table.get_by_role("row").filter(has_text="Grace Hopper")).to_contain_text("Unsubscribed")
    assert check_accessibility(page) == []  # the table, the banner and its list of problems
    db.session.rollback()
    states = {contact.first_name: contact.consent_state for contact in db.session.scalars(select(Contact))}
    assert states == {"Ada": ConsentState.SUBSCRIBED, "Grace": ConsentState.UNSUBSCRIBED}


def test_a_search_by_phone_finds_the_one_contact(page, shop, api):
    create(api, "+14155550101", first_name="Ada")
    create(api, "+14155550102", first_name="Grace")
    create(api, "+14155550103", first_name="Linus", email="linus@example.com")
    open_screen(page, "/subscribers", shop)
    expect(contacts_table(page).get_by_role("row")).to_have_count(4)

    page.get_by_label("Phone or email").fill("(415) 555-0102")
    page.get_by_role("button", name="Search").click()
    expect(contacts_table(page).get_by_role("row")).to_have_count(2)
    expect(contacts_table(page)).to_contain_text("Grace")

    page.get_by_label("Phone or email").fill("Linus@Example.com")
    page.get_by_role("button", name="Search").click()
    expect(contacts_table(page).get_by_role("row")).to_have_count(2)
    expect(contacts_table(page)).to_contain_text("Linus")

    page.get_by_label("Phone or email").fill("12")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_label("Phone or email")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("heading", name="No contacts match")).to_be_visible()


def test_filters_and_pages(page, shop, api):
    for n in range(30):
        create(api, f"+1415555{n:04d}", tags=["vip"] if n % 2 else [], **(SUBSCRIBE if n < 5 else {}))
    open_screen(page, "/subscribers", shop)
    table = contacts_table(page)
    expect(table.get_by_role("row")).to_have_count(26)  # 25 a page
    expect(table).to_contain_text("+1******0029")
    page.get_by_role("button", name="Next").click()
    expect(table.get_by_role("row")).to_have_count(6)
    expect(table).to_contain_text("+1******0000")
    expect(page.get_by_role("button", name="Next")).to_be_disabled()
    page.get_by_role("button", name="Previous").click()
    expect(table).to_contain_text("+1******0029")
    expect(page.get_by_role("button", name="Previous")).to_be_disabled()

    page.get_by_label("Consent", exact=True).select_option("subscribed")
    page.get_by_label("Tag", exact=True).fill("vip")
    page.get_by_role("button", name="Search").click()
    expect(table.get_by_role("row")).to_have_count(3)  # 1 and 3
    page.get_by_label("Created on or after").fill((utcnow() + timedelta(days=2)).date().isoformat())
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name="No contacts match")).to_be_visible()
    page.get_by_role("button", name="Clear").click()
    expect(table.get_by_role("row")).to_have_count(26)


def test_adding_a_subscriber_needs_the_consent_text_and_shows_the_new_row(page, shop):
    open_screen(page, "/subscribers", shop)
    page.get_by_role("button", name="Add subscriber").first.click()
    dialog = modal(page, "Add subscriber")
    dialog.get_by_label("Phone").fill("+1 415 555 0142")
    dialog.get_by_label("First name").fill("Ada")
    dialog.get_by_label("Tags").fill("vip, early")
    dialog.get_by_label("SMS consent").select_option("subscribed")
    dialog.get_by_role("button", name="Add subscriber").click()
    consent_text = dialog.get_by_label("Consent text the shopper agreed to")
    expect(consent_text).to_have_attribute("aria-invalid", "true")
    expect(consent_text).to_have_accessible_description(re.compile("needs the consent text"))
    assert check_accessibility(page) == []  # the open form, with its error
    consent_text.fill("Yes, text me offers.")
    dialog.get_by_role("button", name="Add subscriber").click()
    expect(page.get_by_role("dialog", name="Add subscriber")).to_be_hidden()
    row = contacts_table(page).get_by_role("row").filter(has_text="Ada")
    expect(row).to_contain_text("Subscribed")
    expect(row).to_contain_text("early")
    db.session.rollback()
    contact = db.session.scalar(select(Contact))
    assert contact.consent_state == ConsentState.SUBSCRIBED
    assert sorted(contact.tag_names) == ["early", "vip"]


def test_a_contact_shows_its_consent_history_and_texts_and_can_be_tagged_and_unsubscribed(page, shop, api):
    contact = create(api, "+14155550142", first_name="Ada", last_name="Lovelace", tags=["vip"], **SUBSCRIBE)
    campaign = Campaign(shop_id=shop.id, name="Spring sale", kind=CampaignKind.BROADCAST, body="Hi")
    db.session.add(campaign)
    db.session.flush()
    db.session.add(
        Message(
            shop_id=shop.id,
            campaign_id=campaign.id,
            contact_id=contact["id"],
            state=MessageState.DELIVERED,
            sent_at=utcnow(),
            segments=1,
        )
    )
    open_screen(page, f"/subscribers/{contact['id']}", shop)
    expect(page.get_by_role("heading", level=1)).to_have_text("Ada Lovelace")
    history = page.get_by_role("table", name="Consent history")
    expect(history.get_by_role("row")).to_have_count(2)
    expect(history).to_contain_text("Yes, text me offers. Reply STOP to opt out.")
    expect(history).to_contain_text("Changed in the app")
    # The consent sync is off in tests: nothing was sent to Shopify for this contact.
    expect(page.get_by_role("definition").filter(has_text="Not sent yet")).to_be_visible()
    sent = page.get_by_role("table", name="Messages sent")
    expect(sent).to_contain_text("Spring sale")
    expect(sent).to_contain_text("delivered")
    assert check_accessibility(page) == []

    page.get_by_label("Add tags").fill("winter, wholesale")
    page.get_by_role("button", name="Add", exact=True).click()
    tags = page.get_by_role("list", name="Tags")
    expect(tags).to_contain_text("wholesale")
    assert sorted(fresh(contact["id"]).tag_names) == ["vip", "wholesale", "winter"]
    page.get_by_role("button", name="Remove tag vip").click()
    expect(tags).not_to_contain_text("vip")
    assert sorted(fresh(contact["id"]).tag_names) == ["wholesale", "winter"]

    page.get_by_role("button", name="Unsubscribe").click()
    confirm = modal(page, "Unsubscribe this subscriber?")
    confirm.get_by_role("button", name="Cancel").click()
    assert fresh(contact["id"]).consent_state == ConsentState.SUBSCRIBED
    page.get_by_role("button", name="Unsubscribe").click()
    modal(page, "Unsubscribe this subscriber?").get_by_role("button", name="Unsubscribe").click()
    expect(history.get_by_role("row")).to_have_count(3)
    expect(history.get_by_role("row").nth(1)).to_contain_text("Unsubscribed")
    expect(page.get_by_role("button", name="Unsubscribe")).to_be_disabled()
    assert fresh(contact["id"]).consent_state == ConsentState.UNSUBSCRIBED


def test_deleting_a_contact_confirms_then_returns_to_the_list_with_a_toast(page, shop, api):
    contact = create(api, "+14155550142", first_name="Ada")
    create(api, "+14155550143", first_name="Grace")
    open_screen(page, f"/subscribers/{contact['id']}", shop)
    page.get_by_role("button", name="Delete").click()
    modal(page, "Delete this subscriber?").get_by_role("button", name="Delete subscriber").click()
    expect(page).to_have_url(re.compile(r"/subscribers\?"))
    expect(page.get_by_role("status").filter(has_text="Subscriber deleted")).to_be_visible()
    expect(contacts_table(page).get_by_role("row")).to_have_count(2)
    assert "deleted" not in page.url
    assert fresh(contact["id"]) is None


def test_another_shops_contact_is_not_found(page, shop, other_api):
    theirs = create(other_api, "691 234 5678", first_name="Eleni")
    open_screen(page, f"/subscribers/{theirs['id']}", shop)
    expect(page.get_by_role("alert")).to_contain_text("This subscriber does not exist")
    expect(page.get_by_text("Eleni")).to_have_count(0)


def test_a_name_that_looks_like_markup_shows_as_text(page, shop, api, dialogs):
    contact = create(
        api, "+14155550142", first_name=HOSTILE, tags=["<b>vip</b>"], consent_state="subscribed", consent_text=HOSTILE
    )
    open_screen(page, "/subscribers", shop)
    expect(contacts_table(page)).to_contain_text(HOSTILE)
    expect(contacts_table(page)).to_contain_text("<b>vip</b>")
    open_screen(page, f"/subscribers/{contact['id']}", shop)
    expect(page.get_by_role("heading", level=1)).to_have_text(HOSTILE)
    expect(page.get_by_role("table", name="Consent history")).to_contain_text(HOSTILE)
    assert page.locator("img").count() == 0
    assert page.locator("b").count() == 0
    assert dialogs == []


def test_an_export_of_the_filtered_contacts_downloads_through_the_session(page, app, shop, api):
    create(api, "+14155550101", first_name="Ada", tags=["vip"])
    create(api, "+14155550102", first_name="Grace")
    open_screen(page, "/subscribers", shop)
    page.get_by_label("Tag", exact=True).fill("vip")
    page.get_by_role("button", name="Search").click()
    expect(contacts_table(page).get_by_role("row")).to_have_count(2)
    page.get_by_role("button", name="Export CSV").click()
    expect(
        page.get_by_role("heading", name="Exporting contacts").or_(page.get_by_role("heading", name="Export ready"))
    ).to_be_visible()
    settle_jobs(app)  # with Redis the export is a queued job; without, it ran in the request
    expect(page.get_by_role("heading", name="Export ready")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    assert download.value.suggested_filename.startswith("contacts-")
    body = Path(download.value.path()).read_text(encoding="utf-8")
    assert "Ada" in body
    assert "Grace" not in body
