"""What the Subscribers screens needed of the API: a search by email (its blind index, like the
phone), the import's consent attestation, and the texts sent to one contact."""

from __future__ import annotations

import io
from datetime import timedelta

from shopify_app.extensions import db
from shopify_app.models import Campaign, CampaignKind, Contact, Message, MessageState
from shopify_app.models.types import utcnow

SUBSCRIBE = {"consent_state": "subscribed", "consent_text": "Yes, text me offers. Reply STOP to opt out."}


def create(api, phone, **fields):
    response = api.post("/api/contacts", json={"phone": phone, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def ids(api, query):
    response = api.get("/api/contacts", query_string=query)
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


# --- search by email ---------------------------------------------------------------------------


def test_the_list_finds_a_contact_by_email_whatever_its_case(api, other_api):
    ada = create(api, "+14155550101", email="ada@example.com")
    create(api, "+14155550102", email="bob@example.com")
    other = create(other_api, "691 234 5678", email="ada@example.com")
    assert ids(api, {"email": "Ada@Example.COM"}) == [ada["id"]]
    assert ids(api, {"email": "nobody@example.com"}) == []
    assert ids(other_api, {"email": "ada@example.com"}) == [other["id"]]  # each shop its own


def test_an_email_search_combines_with_the_other_filters(api):
    create(api, "+14155550101", email="ada@example.com")
    assert ids(api, {"email": "ada@example.com", "consent_state": "subscribed"}) == []
    assert len(ids(api, {"email": "ada@example.com", "consent_state": "unsubscribed"})) == 1


def test_a_malformed_email_search_is_422_naming_the_field(api):
    response = api.get("/api/contacts", query_string={"email": "not an email"})
    assert response.status_code == 422
    assert "email" in response.get_json()["error"]["details"]["fields"]


def test_an_export_filtered_by_email_holds_only_that_contact(app, api):
    from .conftest import settle_jobs

    create(api, "+14155550101", email="ada@example.com")
    create(api, "+14155550102", email="bob@example.com")
    export = api.post("/api/contacts/exports?email=bob@example.com").get_json()
    settle_jobs(app)
    body = api.get(f"/api/contacts/exports/{export['id']}/download").get_data(as_text=True)
    assert "bob@example.com" in body
    assert "ada@example.com" not in body


# --- the import's attestation ------------------------------------------------------------------


def upload(api, **form):
    data = {"file": (io.BytesIO(b"phone,consent\n+14155550199,yes\n"), "c.csv"), **form}
    return api.post("/api/contacts/imports", data=data, content_type="multipart/form-data")


def test_an_import_without_the_consent_attestation_is_422_and_imports_nothing(api):
    for form in ({}, {"consent_attestation": ""}, {"consent_attestation": "false"}, {"consent_attestation": "no"}):
        response = upload(api, **form)
        assert response.status_code == 422, form
        assert "consent_attestation" in response.get_json()["error"]["details"]["fields"]
    assert db.session.query(Contact).count() == 0


def test_an_attested_import_subscribes_the_rows_that_say_yes(api):
    response = upload(api, consent_attestation="true")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["created_count"] == 1
    assert api.get("/api/contacts?consent_state=subscribed").get_json()["items"][0]["phone"] == "+1******0199"


# --- texts sent to a contact -------------------------------------------------------------------


def campaign(shop_id, name, kind=CampaignKind.BROADCAST):
    row = Campaign(shop_id=shop_id, name=name, kind=kind, body="Hi")
    db.session.add(row)
    db.session.flush()
    return row


def message(shop_id, campaign_row, contact_id, *, sent=True, minutes=0, state=MessageState.DELIVERED):
    row = Message(
        shop_id=shop_id,
        campaign_id=campaign_row.id,
        contact_id=contact_id,
        state=state if sent else MessageState.QUEUED,
        sent_at=utcnow() - timedelta(minutes=minutes) if sent else None,
        segments=1,
        credits=1,
    )
    db.session.add(row)
    db.session.flush()
    return row


def test_a_contacts_messages_are_its_sent_texts_newest_first_with_their_campaign(api, shop):
    ada = create(api, "+14155550101", **SUBSCRIBE)
    bob = create(api, "+14155550102", **SUBSCRIBE)
    spring = campaign(shop.id, "Spring sale")
    welcome = campaign(shop.id, "Welcome", CampaignKind.AUTOMATION)
    first = message(shop.id, spring, ada["id"], minutes=60)
    second = message(shop.id, welcome, ada["id"])
    message(shop.id, spring, bob["id"])
    message(shop.id, campaign(shop.id, "Summer"), ada["id"], sent=False)  # queued: not sent to them (yet)
    db.session.commit()

    response = api.get(f"/api/contacts/{ada['id']}/messages")
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [item["id"] for item in items] == [second.id, first.id]
    assert items[0]["campaign_name"] == "Welcome"
    assert items[0]["campaign_kind"] == "automation"
    assert items[1]["campaign_name"] == "Spring sale"
    assert items[1]["campaign_id"] == spring.id
    assert items[1]["state"] == "delivered"
    assert items[1]["sent_at"]
    assert "phone" not in items[1]
    assert "body" not in items[1]


def test_a_contacts_messages_page_with_a_cursor(api, shop):
    ada = create(api, "+14155550101", **SUBSCRIBE)
    sent = [message(shop.id, campaign(shop.id, f"Sale {n}"), ada["id"], minutes=10 - n).id for n in range(5)]
    db.session.commit()
    seen, cursor = [], None
    while True:
        page = api.get(f"/api/contacts/{ada['id']}/messages", query_string={"limit": 2, "cursor": cursor}).get_json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sent[::-1]


def test_another_shops_contact_has_no_messages_to_show_but_a_404(api, other_api, shop):
    ada = create(api, "+14155550101", **SUBSCRIBE)
    message(shop.id, campaign(shop.id, "Spring sale"), ada["id"])
    db.session.commit()
    assert other_api.get(f"/api/contacts/{ada['id']}/messages").status_code == 404
    assert api.get("/api/contacts/999999/messages").status_code == 404


def test_bad_message_list_parameters_are_rejected(api):
    ada = create(api, "+14155550101")
    for query in ("limit=0", "limit=500", "cursor=%%%"):
        assert api.get(f"/api/contacts/{ada['id']}/messages?{query}").status_code in (400, 422)
