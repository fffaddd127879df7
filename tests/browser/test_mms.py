"""The composer's image picker in a real browser (issue 29): a PNG chosen through the file input
is uploaded, its stored preview and size shown; a file that is no image gets the API's message
beside the picker; the saved draft carries the image and the estimate says who gets MMS."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from shopify_app.extensions import db
from shopify_app.models import Campaign, Media

from ..conftest import open_shop
from ..images import small_png
from .harness import check_accessibility, open_screen

SUBSCRIBE = {"consent_state": "subscribed", "consent_text": "Yes, texts please."}


@pytest.fixture
def merchant(browser_app):
    """A shop with credits, one US and one British subscriber."""
    api, shop = open_shop(browser_app, credits=100)
    for phone in ("+14155550000", "+447400123456"):
        assert api.post("/api/contacts", json={"phone": phone, **SUBSCRIBE}).status_code == 201
    return api, shop


def test_choose_an_image_see_its_preview_and_the_mms_estimate(page: Page, browser_app, merchant, tmp_path: Path):
    _api, shop = merchant
    open_screen(page, "/campaigns/new", shop)
    page.get_by_label("Campaign name").fill("Spring sale")
    page.get_by_role("textbox", name="Message", exact=True).fill("New colours are in!")
    picker = page.get_by_label("Image", exact=True)

    not_an_image = tmp_path / "trick.png"
    not_an_image.write_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    picker.set_input_files(str(not_an_image))
    expect(page.locator("#image")).to_have_attribute("error", "Upload a JPEG, PNG or GIF image.")

    photo = tmp_path / "sale.png"
    photo.write_bytes(small_png((64, 48)))
    picker.set_input_files(str(photo))
    preview = page.locator("#media-preview")
    image = preview.get_by_role("img", name="Preview of the campaign's image")
    expect(image).to_be_visible()
    expect(preview).to_contain_text("PNG · 64 \u00d7 48 px")  # width x height
    expect(preview).to_contain_text(re.compile(r"\d+ KB"))
    page.wait_for_function("() => document.querySelector('#media-preview img')?.naturalWidth === 64")  # served
    expect(page.locator("#image")).not_to_have_attribute("error", re.compile(".+"))

    page.get_by_role("combobox", name="Audience").select_option(label="All subscribers")
    expect(page.locator("#estimate")).to_contain_text("1 get the image as MMS; 1 get an SMS with a link to it.")
    db.session.expire_all()
    campaign = db.session.query(Campaign).one()
    assert campaign.media_id == db.session.query(Media.id).scalar()
    assert check_accessibility(page) == []
