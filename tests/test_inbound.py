"""Inbound texts: STOP/START/HELP keywords and opt-outs in other words (the rules themselves are in
test_reply_intent.py), Y for a pending opt-in, the join keyword, the inbox store."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shopify_app.extensions import db, sms_backend
from shopify_app.models import ConsentEvent, Contact, InboundMessage, Shop
from shopify_app.services.contacts.contacts import is_suppressed

from .conftest import ApiClient, install_shop, settle_jobs

SECRET = "inbound-path-secret-0123456789abcdef01234567"
SHOP_NUMBER = "+14155559000"
SHOPPER = "+14155550101"


@pytest.fixture
def inbox(make_app):
    app = make_app(MITTO_WEBHOOK_SECRET=SECRET)
    with app.app_context():
        shop = install_shop("alpha.myshopify.com", number=SHOP_NUMBER)
        api = ApiClient(app.test_client(), shop.domain)
        assert api.patch("/api/settings", json={"sender_id": SHOP_NUMBER, "join_keyword": "JOIN"}).status_code == 200
        yield app, api


def text(app, body: str, *, sender: str = SHOPPER, message_id: str | None = None, to: str = SHOP_NUMBER):
    payload = {"from": sender, "to": to, "text": body}
    if message_id:
        payload["messageId"] = message_id
    response = app.test_client().post(f"/mitto/inbound/{SECRET}", json=payload)
    settle_jobs(app)
    return response


def contact() -> Contact:
    db.session.expire_all()
    return db.session.scalars(select(Contact)).one()


def replies() -> list[str]:
    return [message.text for message in sms_backend().sent]


def subscribe(api) -> None:
    api.post("/api/contacts", json={"phone": SHOPPER, "consent_state": "subscribed", "consent_text": "ok"})


@pytest.mark.parametrize(
    "word",
    [
        "STOP",
        "stop",
        " Stop ",
        "opt out",
        "OptOut",
        "STOPALL",
        "unsubscribe",
        "cancel",
        "END",
        "quit",
        "revoke",
        "stop!!!",
    ],
)
def test_every_stop_keyword_unsubscribes_and_confirms_once(inbox, word):
    app, api = inbox
    subscribe(api)
    assert text(app, word).status_code == 202
    assert contact().consent_state.value == "unsubscribed"
    events = db.session.scalars(select(ConsentEvent).order_by(ConsentEvent.id)).all()
    assert events[-1].source.value == "keyword"
    assert len(replies()) == 1
    assert "unsubscribed" in replies()[0]
    text(app, word)  # a second STOP changes nothing and sends nothing
    assert len(replies()) == 1


@pytest.mark.parametrize("sentence", ["Stop texting me please.", "please remove me", "I don't want these messages"])
def test_an_opt_out_written_as_a_sentence_unsubscribes_and_stays_in_the_inbox(inbox, sentence):
    app, api = inbox
    subscribe(api)
    assert text(app, sentence).status_code == 202
    assert contact().consent_state.value == "unsubscribed"
    [stored] = db.session.scalars(select(InboundMessage)).all()
    assert (stored.keyword, stored.outcome, stored.text) == ("stop", "unsubscribed", sentence)
    event = db.session.scalars(select(ConsentEvent).order_by(ConsentEvent.id.desc())).first()
    assert event.source.value == "keyword"
    assert event.consent_text.startswith("Texted ")
    assert [m["text"] for m in api.get(f"/api/inbox/{contact().id}").get_json()["items"]] == [sentence]
    assert len(replies()) == 1
    assert "unsubscribed" in replies()[0]


def test_a_stop_from_a_number_that_is_not_a_contact_suppresses_it(inbox):
    app, _api = inbox
    text(app, "Stop texting me")
    [stored] = db.session.scalars(select(InboundMessage)).all()
    assert (stored.keyword, stored.outcome) == ("stop", "suppressed")
    shop = db.session.get(Shop, stored.shop_id)
    assert is_suppressed(shop=shop, e164=SHOPPER)
    assert db.session.scalars(select(Contact)).all() == []


@pytest.mark.parametrize("question", ["When does the sale end?", "I'll cancel my order if it's late", "Yes, in blue?"])
def test_a_keyword_inside_a_question_stays_in_the_inbox_and_changes_nothing(inbox, question):
    app, api = inbox
    subscribe(api)
    text(app, question)
    assert contact().consent_state.value == "subscribed"
    [stored] = db.session.scalars(select(InboundMessage)).all()
    assert (stored.keyword, stored.outcome) == (None, "stored")
    assert replies() == []


def test_start_inside_a_question_does_not_resubscribe(inbox):
    app, api = inbox
    subscribe(api)
    text(app, "STOP")
    text(app, "Start date of the next sale?")
    assert contact().consent_state.value == "unsubscribed"
    assert len(replies()) == 1


@pytest.mark.parametrize("word", ["START", "unstop", "Yes"])
def test_start_keywords_resubscribe(inbox, word):
    app, api = inbox
    subscribe(api)
    text(app, "STOP")
    text(app, word)
    assert contact().consent_state.value == "subscribed"
    assert "subscribed to marketing texts" in replies()[-1]


@pytest.mark.parametrize("word", ["help", "INFO", " Info ", "help me"])
def test_help_answers_with_the_shop_name(inbox, word):
    app, api = inbox
    subscribe(api)
    text(app, word)
    assert replies()[-1].startswith("Alpha: ")
    assert "STOP" in replies()[-1]
    assert contact().consent_state.value == "subscribed"


def test_the_join_keyword_starts_a_double_opt_in_that_y_confirms(inbox):
    app, _api = inbox
    text(app, "join")
    assert contact().consent_state.value == "pending"
    assert "Reply Y" in replies()[-1]
    text(app, "y")
    assert contact().consent_state.value == "subscribed"


def test_y_from_a_contact_who_is_not_pending_does_nothing(inbox):
    app, api = inbox
    subscribe(api)
    text(app, "STOP")
    text(app, "Y")
    assert contact().consent_state.value == "unsubscribed"


def test_other_texts_are_stored_sealed_for_the_inbox(inbox):
    app, api = inbox
    subscribe(api)
    text(app, "Do you ship to Canada?")
    [stored] = db.session.scalars(select(InboundMessage)).all()
    assert (stored.outcome, stored.keyword, stored.contact_id) == ("stored", None, contact().id)
    assert stored.text == "Do you ship to Canada?"
    assert "Canada" not in stored.text_ciphertext
    assert "4155550101" not in (stored.sender_ciphertext or "")
    assert replies() == []


def test_a_replayed_inbound_id_is_processed_once(inbox):
    app, api = inbox
    subscribe(api)
    assert text(app, "STOP", message_id="in-1").get_json() == {"status": "accepted"}
    api.patch(f"/api/contacts/{contact().id}", json={"consent_state": "subscribed", "consent_text": "again"})
    assert text(app, "STOP", message_id="in-1").get_json() == {"status": "duplicate"}
    assert contact().consent_state.value == "subscribed"


def test_texts_to_a_number_no_shop_owns_are_not_kept(inbox):
    app, _api = inbox
    assert text(app, "Hello", to="+14155558888").status_code == 202
    [stored] = db.session.scalars(select(InboundMessage)).all()
    assert (stored.shop_id, stored.text_ciphertext, stored.outcome) == (None, None, "unknown_number")


def test_a_wrong_secret_is_404_and_a_bad_body_is_400(inbox):
    app, _api = inbox
    assert app.test_client().post("/mitto/inbound/nope", json={}).status_code == 404
    assert app.test_client().post(f"/mitto/inbound/{SECRET}", json={"text": "hi"}).status_code == 400
    assert app.test_client().post(f"/mitto/inbound/{SECRET}", data=b"junk").status_code == 400


def test_the_inbox_threads_texts_per_contact_and_other_shops_see_nothing(inbox, other_api):
    app, api = inbox
    subscribe(api)
    text(app, "Do you ship to Canada?")
    text(app, "And to Greece?")
    text(app, "Hi from someone else", sender="+14155550102")
    threads = api.get("/api/inbox").get_json()["items"]
    assert [t["latest"]["text"] for t in threads] == ["And to Greece?"]  # only contacts' threads
    contact_id = threads[0]["contact"]["id"]
    assert threads[0]["contact"]["phone"] == "+1******0101"
    messages = api.get(f"/api/inbox/{contact_id}").get_json()["items"]
    assert [m["text"] for m in messages] == ["And to Greece?", "Do you ship to Canada?"]
    assert other_api.get(f"/api/inbox/{contact_id}").status_code == 404
    assert other_api.get("/api/inbox").get_json()["items"] == []
