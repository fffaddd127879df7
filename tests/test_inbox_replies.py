"""POST /api/inbox/<contact_id>/reply: only to contacts who may receive it, and a conversation's
first reply names the shop and says how to opt out (services/inbox_replies.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from shopify_app.extensions import db
from shopify_app.models import ConsentSource, ConsentState, InboundMessage, Message
from shopify_app.models.types import utcnow
from shopify_app.services.contacts.contacts import ConsentChange, apply_consent, create_or_merge, parse_phone

from .conftest import ApiClient, install_shop, mitto_config, open_shop, settle_jobs

SHOPPER = "+14155550199"


@pytest.fixture
def shop_app(make_app, fake_mitto):
    app = make_app(**mitto_config(fake_mitto))
    with app.app_context():
        api, shop = open_shop(app, credits=1000)
        yield app, api, shop


def subscriber(api) -> int:
    body = {"phone": SHOPPER, "consent_state": "subscribed", "consent_text": "Yes, texts please."}
    response = api.post("/api/contacts", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def pending(shop, *, texted_hours_ago: float | None) -> int:
    """A contact who texted the join keyword (double opt-in not confirmed), and their text."""
    contact = create_or_merge(shop=shop, phone=parse_phone(shop, SHOPPER), data={}, consent=None)[0]
    apply_consent(contact, ConsentChange(state=ConsentState.PENDING, source=ConsentSource.KEYWORD))
    if texted_hours_ago is not None:
        inbound = InboundMessage(
            shop_id=shop.id, contact_id=contact.id, received_at=utcnow() - timedelta(hours=texted_hours_ago)
        )
        inbound.text = "Is the blue one in stock?"
        db.session.add(inbound)
    db.session.commit()
    return contact.id


def reply(app, api, contact_id: int, text: str):
    response = api.post(f"/api/inbox/{contact_id}/reply", json={"text": text})
    settle_jobs(app)
    return response


def texts(fake_mitto) -> list[str]:
    return [m["text"] for m in fake_mitto.received if m["destination"] == SHOPPER]


def test_the_first_reply_names_the_shop_and_says_how_to_opt_out_and_later_ones_go_as_written(shop_app, fake_mitto):
    app, api, _shop = shop_app
    contact_id = subscriber(api)
    assert reply(app, api, contact_id, "Yes, it ships Monday.").status_code == 202
    assert reply(app, api, contact_id, "And it comes in blue.").status_code == 202
    assert texts(fake_mitto) == ["Alpha: Yes, it ships Monday. Reply STOP to opt out", "And it comes in blue."]


def test_a_first_reply_that_names_the_shop_and_says_stop_goes_as_written(shop_app, fake_mitto):
    app, api, _shop = shop_app
    contact_id = subscriber(api)
    reply(app, api, contact_id, "Hi from Alpha! It ships Monday. Reply STOP to opt out.")
    assert texts(fake_mitto) == ["Hi from Alpha! It ships Monday. Reply STOP to opt out."]


def test_a_shop_name_inside_a_link_does_not_count_as_naming_the_shop(shop_app, fake_mitto):
    app, api, _shop = shop_app
    contact_id = subscriber(api)
    reply(app, api, contact_id, "Here it is: https://alpha.myshopify.com/products/tee")
    [sent] = texts(fake_mitto)
    assert sent.startswith("Alpha: Here it is: https://")
    assert "myshopify" not in sent  # shortened before the check
    assert sent.endswith(" Reply STOP to opt out")


def test_a_reply_after_30_days_without_one_opens_a_new_conversation(shop_app, fake_mitto):
    app, api, _shop = shop_app
    contact_id = subscriber(api)
    reply(app, api, contact_id, "It ships Monday.")
    earlier = db.session.scalars(select(Message)).one()
    earlier.sent_at = utcnow() - timedelta(days=31)
    db.session.commit()
    reply(app, api, contact_id, "Back in stock now.")
    assert texts(fake_mitto)[-1] == "Alpha: Back in stock now. Reply STOP to opt out"


def test_a_pending_contact_who_texted_in_the_last_24_hours_can_be_answered(shop_app, fake_mitto):
    app, api, shop = shop_app
    contact_id = pending(shop, texted_hours_ago=23)
    response = reply(app, api, contact_id, "Yes, in all sizes.")
    assert response.status_code == 202, response.get_json()
    assert texts(fake_mitto) == ["Alpha: Yes, in all sizes. Reply STOP to opt out"]


@pytest.mark.parametrize("texted_hours_ago", [None, 25])
def test_a_pending_contact_without_a_text_in_the_last_24_hours_is_409(shop_app, fake_mitto, texted_hours_ago):
    app, api, shop = shop_app
    contact_id = pending(shop, texted_hours_ago=texted_hours_ago)
    response = reply(app, api, contact_id, "Hello!")
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "reply_window_closed"
    assert error["details"] == {"consent_state": "pending", "window_hours": 24}
    assert fake_mitto.received == []
    assert db.session.scalars(select(Message)).all() == []


def test_an_unsubscribed_contact_is_409_even_one_who_texted_today(shop_app, fake_mitto):
    app, api, shop = shop_app
    contact_id = pending(shop, texted_hours_ago=1)
    api.patch(f"/api/contacts/{contact_id}", json={"consent_state": "unsubscribed"})
    response = reply(app, api, contact_id, "Hello!")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "contact_unsubscribed"
    assert fake_mitto.received == []


def test_another_shops_contact_is_404_and_nothing_is_sent(shop_app, fake_mitto):
    app, api, _shop = shop_app
    contact_id = subscriber(api)
    other = install_shop("beta.myshopify.com")
    db.session.commit()
    response = ApiClient(app.test_client(), other.domain).post(f"/api/inbox/{contact_id}/reply", json={"text": "hi"})
    assert response.status_code == 404
    assert set(response.get_json()["error"]) == {"code", "message", "details"}
    assert fake_mitto.received == []
