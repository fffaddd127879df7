"""The inbox screen: conversations with their unread counts, a thread that is marked read when
opened, a reply sent through the send path (the memory SMS backend), errors from the API's
error shape, and shopper text shown as text."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from shopify_app.extensions import db, sms_backend
from shopify_app.models import Contact, InboundMessage
from shopify_app.models.types import utcnow

from ..conftest import open_shop, settle_jobs
from .harness import check_accessibility, open_screen

HOSTILE = "<img src=x onerror=alert(1)>"
SHOPPER = "+14155550199"


@pytest.fixture
def inbox_shop(app):
    api, shop = open_shop(app, credits=100)
    return api, shop


def contact_who_texted(
    api,
    shop,
    *,
    first_name: str,
    phone: str = SHOPPER,
    texts: tuple[str, ...] = ("Is the blue one in stock?",),
    consent="subscribed",
) -> int:
    body = {"phone": phone, "first_name": first_name, "consent_state": consent, "consent_text": "Yes, texts please."}
    response = api.post("/api/contacts", json=body)
    assert response.status_code == 201, response.get_json()
    contact_id = response.get_json()["id"]
    for n, text in enumerate(texts):
        inbound = InboundMessage(
            shop_id=shop.id, contact_id=contact_id, received_at=utcnow() - timedelta(minutes=len(texts) - n)
        )
        inbound.text = text
        db.session.add(inbound)
    db.session.commit()
    return contact_id


def test_replying_sends_through_the_send_path_and_the_thread_is_marked_read(page: Page, app, inbox_shop):
    api, shop = inbox_shop
    contact_id = contact_who_texted(api, shop, first_name="Dana", texts=("Hi!", "Is the blue one in stock?"))
    open_screen(page, "/inbox")
    conversations = page.get_by_role("list", name="Conversations")
    expect(conversations).to_contain_text("2 unread")
    expect(page.get_by_text("1 conversation has unread texts.")).to_be_visible()
    conversations.get_by_role("button", name="Dana").click()
    thread = page.get_by_role("list", name="Messages from Dana")
    expect(thread.get_by_role("listitem")).to_have_count(2)
    expect(thread.get_by_role("listitem").last).to_contain_text("Is the blue one in stock?")
    expect(page.get_by_text("No unread texts.")).to_be_visible()
    expect(conversations).not_to_contain_text("unread")
    assert api.get("/api/inbox").get_json()["items"][0]["unread"] == 0

    page.get_by_label("Reply", exact=True).fill("Yes, it ships Monday.")
    page.get_by_role("button", name="Send reply").click()
    replies = page.get_by_role("list", name="Your replies")
    expect(replies).to_contain_text("Yes, it ships Monday.")
    expect(page.get_by_label("Reply", exact=True)).to_have_value("")
    settle_jobs(app)
    sent = [message for message in sms_backend().sent if message.destination == SHOPPER]
    assert [message.text for message in sent] == ["Alpha: Yes, it ships Monday. Reply STOP to opt out"]
    assert contact_id == db.session.scalar(select(Contact.id))


def test_a_reply_the_api_refuses_shows_its_message_and_sends_nothing(page: Page, app, inbox_shop):
    api, shop = inbox_shop
    contact_id = contact_who_texted(api, shop, first_name="Sam")
    assert api.patch(f"/api/contacts/{contact_id}", json={"consent_state": "unsubscribed"}).status_code == 200
    open_screen(page, "/inbox")
    page.get_by_role("button", name="Sam").click()
    page.get_by_label("Reply", exact=True).fill("Hello again")
    page.get_by_role("button", name="Send reply").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The reply was not sent")
    message = api.post(f"/api/inbox/{contact_id}/reply", json={"text": "Hello again"}).get_json()["error"]["message"]
    expect(alert).to_contain_text(message)
    expect(page.get_by_label("Reply", exact=True)).to_have_value("Hello again")  # kept to try again
    settle_jobs(app)
    assert sms_backend().sent == []


def test_a_blank_reply_is_a_422_beside_the_field(page: Page, inbox_shop):
    api, shop = inbox_shop
    contact_who_texted(api, shop, first_name="Lee")
    open_screen(page, "/inbox")
    page.get_by_role("button", name="Lee").click()
    page.get_by_label("Reply", exact=True).fill("   ")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_label("Reply", exact=True)).to_have_accessible_description(
        "Sent now from your number, unless it is quiet hours where they are. The reply cannot be blank."
    )


def test_a_contact_named_like_markup_shows_literally(page: Page, inbox_shop):
    api, shop = inbox_shop
    contact_who_texted(api, shop, first_name=HOSTILE, texts=(HOSTILE,))
    open_screen(page, "/inbox")
    page.on("dialog", lambda dialog: pytest.fail(f"a dialog opened: {dialog.message}"))
    conversations = page.get_by_role("list", name="Conversations")
    expect(conversations.get_by_role("button", name=HOSTILE)).to_be_visible()
    conversations.get_by_role("button", name=HOSTILE).click()
    expect(page.get_by_role("heading", name=HOSTILE)).to_be_visible()
    expect(page.get_by_role("list", name=f"Messages from {HOSTILE}")).to_contain_text(HOSTILE)
    assert page.locator("img").count() == 0


def test_an_empty_inbox_says_what_to_do(page: Page, inbox_shop):
    open_screen(page, "/inbox")
    expect(page.get_by_role("heading", name="No texts yet")).to_be_visible()
    assert check_accessibility(page) == []


def test_the_inbox_screen_passes_axe(page: Page, inbox_shop):
    api, shop = inbox_shop
    contact_who_texted(api, shop, first_name="Dana")
    open_screen(page, "/inbox")
    page.get_by_role("button", name="Dana").click()
    expect(page.get_by_label("Reply", exact=True)).to_be_visible()
    assert check_accessibility(page) == []
