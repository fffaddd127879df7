"""An A/B test in a real browser (issue 29): the composer's "A/B test" section saves the other
body and the test's settings with the draft (a bad variant's 422 beside it), the campaign page
shows each variant with its significance, and in a manual test the merchant sends one variant
to the rest of the audience; axe on both screens."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from shopify_app.extensions import db, sms_backend
from shopify_app.models import AbTest, CampaignVariant

from ..conftest import open_shop, settle_jobs
from .harness import check_accessibility, open_screen

SUBSCRIBE = {"consent_state": "subscribed", "consent_text": "Yes, texts please."}


@pytest.fixture
def browser_app(make_app):
    app = make_app(QUEUE_ASYNC=True)
    with app.app_context():
        yield app


@pytest.fixture
def merchant(browser_app):
    """An installed shop with 1,000 credits and four subscribers."""
    api, shop = open_shop(browser_app, credits=1000)
    for n in range(4):
        assert api.post("/api/contacts", json={"phone": f"+1415555{n:04d}", **SUBSCRIBE}).status_code == 201
    return api, shop


def test_compose_an_ab_test_launch_it_and_send_the_picked_variant_to_the_rest(page: Page, browser_app, merchant):
    _api, shop = merchant
    open_screen(page, "/campaigns/new", shop)
    page.wait_for_function("() => !document.querySelector('[aria-busy=\"true\"]')")
    page.get_by_label("Campaign name").fill("Spring test")
    page.get_by_role("textbox", name="Message", exact=True).fill("Spring sale A")
    page.get_by_role("checkbox", name="A/B test this message").check()
    variant_b = page.get_by_role("textbox", name="Variant B")
    variant_b.fill("Spring {{nope}}")
    page.get_by_label("Winner").select_option(label="I will pick the winner")

    # Choosing the audience saves the draft and its test: the API's 422 shows beside variant B.
    page.get_by_role("combobox", name="Audience").select_option(label="All subscribers")
    variant_b_field = page.locator("s-text-area[name='variants.1.body']")
    expect(variant_b_field).to_have_attribute("error", re.compile("Unknown variable"))
    expect(variant_b).to_have_attribute("aria-invalid", "true")
    variant_b.fill("Spring sale B")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved")).to_be_visible()
    expect(variant_b_field).not_to_have_attribute("error", re.compile("."))
    expect(page).to_have_url(re.compile(r"/campaigns/\d+/edit\?"))
    campaign_id = int(re.search(r"/campaigns/(\d+)/edit", page.url).group(1))
    db.session.expire_all()
    test = db.session.scalar(select(AbTest).where(AbTest.campaign_id == campaign_id))
    assert (test.test_share, test.metric, test.decision) == (20, "clicks", "manual")
    assert db.session.scalars(select(CampaignVariant.body)).all() == ["Spring sale B"]
    assert check_accessibility(page) == []

    page.get_by_role("button", name="Review and launch").click()
    page.get_by_role("dialog", name="Launch campaign").get_by_role("button", name="Send campaign").click()
    expect(page).to_have_url(re.compile(rf"/campaigns/{campaign_id}\?"))
    settle_jobs(browser_app)
    # 20 % of 4, at least one per variant: one recipient each; the other two wait.
    assert sorted(m.text.split(" Reply")[0] for m in sms_backend().sent) == [
        "Alpha: Spring sale A",
        "Alpha: Spring sale B",
    ]
    section = page.locator("#ab-test")
    expect(section).to_contain_text("Testing: the rest of the audience waits for the winner.")
    table = section.get_by_role("table", name="Variants")
    expect(table.get_by_role("row", name=re.compile("^A"))).to_contain_text("Spring sale A")
    expect(table.get_by_role("row", name=re.compile("^B"))).to_contain_text("Spring sale B")
    assert check_accessibility(page) == []

    section.get_by_role("button", name="Send variant B to the rest").click()
    expect(section).to_contain_text("Variant B was sent to the rest of the audience.")
    expect(section.get_by_role("button", name=re.compile("Send variant"))).to_have_count(0)
    settle_jobs(browser_app)
    texts = [m.text.split(" Reply")[0] for m in sms_backend().sent]
    assert sorted(texts) == ["Alpha: Spring sale A"] + ["Alpha: Spring sale B"] * 3
