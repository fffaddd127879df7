"""The Segments screen as a merchant uses it: build filters row by row and watch the API's count
follow, save, rename and delete a segment; 422 messages beside their fields; axe; names as text."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select, update

from shopify_app.extensions import db
from shopify_app.models import Contact, ContactProduct, SeenProduct, Segment

from ..conftest import ApiClient
from .harness import check_accessibility, open_screen

HOSTILE = "<img src=x onerror=alert(1)>"
SUBSCRIBE = {"consent_state": "subscribed", "consent_text": "Yes, text me offers."}


@pytest.fixture
def contacts(api: ApiClient) -> None:
    """Five contacts: three tagged vip (two subscribed), one wholesale, one untagged; one Greek."""
    for phone, tags, consent in (
        ("+14155550101", ["vip"], SUBSCRIBE),
        ("+14155550102", ["vip"], SUBSCRIBE),
        ("+14155550103", ["vip", "wholesale"], {}),
        ("+14155550104", ["wholesale"], SUBSCRIBE),
        ("+306912345678", [], SUBSCRIBE),
    ):
        assert api.post("/api/contacts", json={"phone": phone, "tags": tags, **consent}).status_code == 201


def segments() -> list[Segment]:
    db.session.rollback()  # the server committed in its own session
    return list(db.session.scalars(select(Segment).order_by(Segment.id)))


def audience(page: Page):
    return page.locator("#audience-count")


def filter_row(page: Page, number: int):
    return page.get_by_role("group", name=f"Filter {number}")


def test_the_count_follows_the_filters_and_the_segment_saves(page, shop, contacts):
    open_screen(page, "/segments", shop)
    expect(page.get_by_role("heading", name="No segments yet")).to_be_visible()
    expect(audience(page)).to_have_text("5 subscribers")  # no filter yet: everyone
    assert check_accessibility(page) == []

    first = filter_row(page, 1)
    expect(first.get_by_label("Field")).to_have_value("tags")
    first.get_by_label("Condition").select_option("tags_any")
    first.get_by_label("Value").fill("vip")
    expect(audience(page)).to_have_text("3 subscribers")
    expect(page.get_by_text("(2 can receive marketing texts)")).to_be_visible()

    page.get_by_role("button", name="Add filter").click()
    second = filter_row(page, 2)
    second.get_by_label("Field").select_option("consent_state")
    expect(second.get_by_label("Value")).to_have_value("subscribed")
    expect(audience(page)).to_have_text("2 subscribers")
    second.get_by_label("Value").select_option("unsubscribed")
    expect(audience(page)).to_have_text("1 subscriber")

    page.get_by_role("button", name="Add filter").click()
    third = filter_row(page, 3)
    third.get_by_label("Field").select_option("country")
    third.get_by_label("Value").fill("USA")  # not a two-letter code: the API says so beside it
    expect(third.get_by_label("Value")).to_have_accessible_description(
        "Two-letter country codes separated by commas, e.g. US, CA. Use ISO 3166 alpha-2 country codes, e.g. US."
    )
    expect(audience(page)).to_have_text("—")
    page.get_by_role("button", name="Remove filter 3").click()
    expect(audience(page)).to_have_text("1 subscriber")

    page.get_by_role("button", name="Save segment").click()  # no name
    expect(page.get_by_label("Segment name")).to_have_attribute("aria-invalid", "true")
    assert segments() == []
    page.get_by_label("Segment name").fill("VIPs not subscribed")
    page.get_by_role("button", name="Save segment").click()
    saved = page.get_by_role("table", name="Saved segments")
    row = saved.get_by_role("row").filter(has_text="VIPs not subscribed")
    expect(row).to_contain_text("1 subscriber")
    [segment] = segments()
    assert segment.name == "VIPs not subscribed"
    assert segment.filters == {"tags_any": ["vip"], "consent_state": "unsubscribed"}
    expect(page.get_by_role("heading", name="Edit segment: VIPs not subscribed")).to_be_visible()


def test_a_segment_renames_and_edits_and_deletes(page, shop, api, contacts):
    created = api.post("/api/segments", json={"name": "Wholesale", "filters": {"tags_any": ["wholesale"]}})
    assert created.status_code == 201
    open_screen(page, "/segments", shop)
    saved = page.get_by_role("table", name="Saved segments")
    expect(saved.get_by_role("row").filter(has_text="Wholesale")).to_contain_text("2 subscribers")

    page.get_by_role("button", name="Edit Wholesale").click()
    expect(filter_row(page, 1).get_by_label("Value")).to_have_value("wholesale")
    expect(audience(page)).to_have_text("2 subscribers")
    page.get_by_label("Segment name").fill("Trade buyers")
    filter_row(page, 1).get_by_label("Condition").select_option("tags_none")
    expect(audience(page)).to_have_text("3 subscribers")
    page.get_by_role("button", name="Save segment").click()
    expect(saved.get_by_role("row").filter(has_text="Trade buyers")).to_contain_text("3 subscribers")
    [segment] = segments()
    assert (segment.name, segment.filters) == ("Trade buyers", {"tags_none": ["wholesale"]})

    page.get_by_role("button", name="Delete Trade buyers").click()
    page.locator('s-modal[heading="Delete this segment?"]').get_by_role("button", name="Delete segment").click()
    expect(page.get_by_role("heading", name="No segments yet")).to_be_visible()
    assert segments() == []


def test_a_segment_named_like_markup_shows_as_text(page, shop, api):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    assert api.post("/api/segments", json={"name": HOSTILE, "filters": {}}).status_code == 201
    open_screen(page, "/segments", shop)
    expect(page.get_by_role("table", name="Saved segments")).to_contain_text(HOSTILE)
    page.get_by_role("button", name=f"Edit {HOSTILE}").click()
    expect(page.get_by_role("heading", name=f"Edit segment: {HOSTILE}")).to_be_visible()
    assert page.locator("img").count() == 0
    assert dialogs == []
    assert check_accessibility(page) == []


def test_commerce_filters_and_the_product_picker(page, shop, api, contacts):
    """Spent at least 100 and bought a product found by title: the count follows, the segment
    saves the API's filters (amount as a string, product ids as numbers)."""
    ids = [item["id"] for item in api.get("/api/contacts?limit=10").get_json()["items"]]
    spenders = sorted(ids)[:2]
    db.session.execute(update(Contact).where(Contact.id.in_(spenders)).values(order_count=2, total_spent=250))
    db.session.add_all(
        [
            SeenProduct(shop_id=shop.id, product_id=7, title="Blue Mug"),
            SeenProduct(shop_id=shop.id, product_id=8, title="Green Tea"),
            ContactProduct(shop_id=shop.id, contact_id=spenders[0], product_id=7),
        ]
    )
    db.session.commit()
    open_screen(page, "/segments", shop)
    expect(audience(page)).to_have_text("5 subscribers")

    first = filter_row(page, 1)
    first.get_by_label("Field").select_option("total_spent")
    first.get_by_label("Value").fill("100")
    expect(audience(page)).to_have_text("2 subscribers")

    page.get_by_role("button", name="Add filter").click()
    second = filter_row(page, 2)
    second.get_by_label("Field").select_option("products")
    second.get_by_label("Find a product").fill("mug")
    second.get_by_role("button", name="Add Blue Mug (7)").click()
    expect(second.get_by_label("Value")).to_have_value("7")
    expect(audience(page)).to_have_text("1 subscriber")
    assert check_accessibility(page) == []

    page.get_by_label("Segment name").fill("Mug buyers")
    page.get_by_role("button", name="Save segment").click()
    expect(
        page.get_by_role("table", name="Saved segments").get_by_role("row").filter(has_text="Mug buyers")
    ).to_contain_text("1 subscriber")
    [segment] = segments()
    assert segment.filters == {"total_spent_min": "100.00", "products_any": [7]}
