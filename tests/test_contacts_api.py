"""The contacts API: validation, merge-on-duplicate, masking, pagination, filters, tenancy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from shopify_app.extensions import db
from shopify_app.models import ConsentEvent, Contact, ContactTag, Suppression

SUBSCRIBE = {"consent_state": "subscribed", "consent_text": "Yes, text me offers. Reply STOP to opt out."}


def create(api, phone="+1 415 555 0142", **fields):
    return api.post("/api/contacts", json={"phone": phone, **fields})


def test_create_returns_201_with_the_phone_masked(api):
    response = create(api, first_name="Ada", email="Ada@Example.com", tags=["vip"], **SUBSCRIBE)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["phone"] == "+1******0142"
    assert body["first_name"] == "Ada"
    assert body["email"] == "ada@example.com"
    assert body["tags"] == ["vip"]
    assert body["consent_state"] == "subscribed"
    assert body["consent_source"] == "admin"
    assert body["country_code"] == "US"
    assert body["timezone"] == "America/Los_Angeles"


def test_national_numbers_use_the_shops_country(api, other_api):
    assert create(api, phone="(415) 555-0142").get_json()["phone"] == "+1******0142"
    assert create(other_api, phone="691 234 5678").get_json()["phone"] == "+30******5678"


@pytest.mark.parametrize("phone", ["12", "not a phone", "+999 123", "+1 415 555 01423456789"])
def test_invalid_phone_is_422_naming_the_field(api, phone):
    response = create(api, phone=phone)
    assert response.status_code == 422
    assert "phone" in response.get_json()["error"]["details"]["fields"]


def test_subscribing_without_consent_text_is_422(api):
    response = create(api, consent_state="subscribed")
    assert response.status_code == 422
    assert "consent_text" in response.get_json()["error"]["details"]["fields"]


@pytest.mark.parametrize(
    "fields",
    [
        {"email": "not-an-email"},
        {"birthday": "1990-02-30"},
        {"birthday": "13-01"},
        {"tags": ["a,b"]},
        {"consent_state": "pending"},
        {"unknown_field": 1},
    ],
)
def test_bad_fields_are_422(api, fields):
    assert create(api, **fields).status_code == 422


def test_non_json_body_is_400(api):
    response = api.post("/api/contacts", data="phone=1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400


def test_creating_an_existing_number_returns_200_and_fills_empty_fields(api):
    first = create(api, phone="+14155550142", first_name="Ada").get_json()
    second = create(api, phone="415-555-0142", first_name="Other", last_name="Lovelace")
    assert second.status_code == 200
    body = second.get_json()
    assert body["id"] == first["id"]
    assert body["first_name"] == "Ada"  # not overwritten
    assert body["last_name"] == "Lovelace"  # filled
    assert body["consent_state"] == "unsubscribed"  # no consent without an explicit consent_state


def test_consent_changes_only_explicitly_and_each_change_is_an_event(api):
    contact = create(api, **SUBSCRIBE).get_json()
    api.patch(f"/api/contacts/{contact['id']}", json={"first_name": "Ada"})
    api.patch(f"/api/contacts/{contact['id']}", json={"consent_state": "unsubscribed"})
    events = api.get(f"/api/contacts/{contact['id']}/consent-events").get_json()["items"]
    assert [(e["state"], e["source"]) for e in events] == [("subscribed", "admin"), ("unsubscribed", "admin")]
    assert events[0]["consent_text"] == SUBSCRIBE["consent_text"]


def test_patch_to_a_number_another_contact_has_is_409_naming_phone(api):
    create(api, phone="+14155550142")
    other = create(api, phone="+14155550143").get_json()
    response = api.patch(f"/api/contacts/{other['id']}", json={"phone": "+1 (415) 555-0142"})
    assert response.status_code == 409
    assert "phone" in response.get_json()["error"]["details"]["fields"]


def test_patch_changes_the_phone(api):
    contact = create(api, phone="+14155550142").get_json()
    response = api.patch(f"/api/contacts/{contact['id']}", json={"phone": "+14155550199"})
    assert response.get_json()["phone"] == "+1******0199"
    assert api.get("/api/contacts?phone=%2B14155550199").get_json()["items"][0]["id"] == contact["id"]


def test_delete_removes_contact_events_and_tags(api):
    contact = create(api, tags=["vip"], **SUBSCRIBE).get_json()
    assert api.delete(f"/api/contacts/{contact['id']}").status_code == 204
    assert api.get(f"/api/contacts/{contact['id']}").status_code == 404
    for model in (Contact, ConsentEvent, ContactTag):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0


def test_deleting_an_opted_out_contact_keeps_only_its_hash_suppressed(api, shop):
    contact = create(api, **SUBSCRIBE).get_json()
    api.patch(f"/api/contacts/{contact['id']}", json={"consent_state": "unsubscribed"})
    api.delete(f"/api/contacts/{contact['id']}")
    [suppression] = db.session.scalars(select(Suppression)).all()
    assert suppression.shop_id == shop.id
    assert len(suppression.phone_hash) == 64
    # Fresh explicit consent from the merchant lifts it; no consent leaves the number unsubscribed.
    assert create(api).get_json()["consent_state"] == "unsubscribed"


def test_tags_can_be_added_and_removed(api):
    contact = create(api, tags=["vip"]).get_json()
    body = api.post(f"/api/contacts/{contact['id']}/tags", json={"tags": ["winter", "vip"]}).get_json()
    assert body["tags"] == ["vip", "winter"]
    body = api.delete(f"/api/contacts/{contact['id']}/tags/vip").get_json()
    assert body["tags"] == ["winter"]


def test_list_is_cursor_paginated_newest_first(api):
    ids = [create(api, phone=f"+1415555{n:04d}").get_json()["id"] for n in range(1, 8)]
    page = api.get("/api/contacts?limit=3").get_json()
    assert [item["id"] for item in page["items"]] == ids[::-1][:3]
    seen = [item["id"] for item in page["items"]]
    while page["next_cursor"]:
        page = api.get(f"/api/contacts?limit=3&cursor={page['next_cursor']}").get_json()
        seen += [item["id"] for item in page["items"]]
    assert seen == ids[::-1]


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=x", "cursor=%%%", "consent_state=maybe"])
def test_bad_list_parameters_are_rejected(api, query):
    assert api.get(f"/api/contacts?{query}").status_code in (400, 422)


def test_list_filters(api):
    create(api, phone="+14155550101", tags=["vip"], **SUBSCRIBE)
    create(api, phone="+14155550102", tags=["winter"])
    create(api, phone="+14155550103", tags=["vip"])

    def phones(query: str) -> list[str]:
        return sorted(item["phone"] for item in api.get(f"/api/contacts?{query}").get_json()["items"])

    assert phones("tag=vip") == ["+1******0101", "+1******0103"]
    assert phones("consent_state=subscribed") == ["+1******0101"]
    assert phones("tag=vip&consent_state=unsubscribed") == ["+1******0103"]
    assert phones("phone=415-555-0102") == ["+1******0102"]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert phones(f"created_from={tomorrow}") == []
    assert len(phones(f"created_to={tomorrow}")) == 3


def test_another_shops_contact_is_404_on_every_endpoint(api, other_api):
    contact = create(api, **SUBSCRIBE).get_json()
    cid = contact["id"]
    for response in (
        other_api.get(f"/api/contacts/{cid}"),
        other_api.patch(f"/api/contacts/{cid}", json={"first_name": "x"}),
        other_api.delete(f"/api/contacts/{cid}"),
        other_api.post(f"/api/contacts/{cid}/tags", json={"tags": ["x"]}),
        other_api.delete(f"/api/contacts/{cid}/tags/vip"),
        other_api.get(f"/api/contacts/{cid}/consent-events"),
    ):
        assert response.status_code == 404
    assert other_api.get("/api/contacts").get_json()["items"] == []
    assert api.get(f"/api/contacts/{cid}").get_json()["first_name"] is None


def test_no_plaintext_phone_or_email_anywhere_in_the_database(api):
    create(api, phone="+14155550142", email="ada@example.com", first_name="Adaline", **SUBSCRIBE)
    tables = [t.name for t in db.metadata.sorted_tables]
    for table in tables:
        for row in db.session.execute(text(f"SELECT * FROM {table}")):  # noqa: S608
            dump = " ".join(str(value) for value in row)
            for secret in ("4155550142", "555-0142", "ada@example.com", "Adaline"):
                assert secret not in dump, (table, secret)


def test_requests_without_a_session_token_are_401(app, shop):
    assert app.test_client().get("/api/contacts").status_code == 401


def test_no_plaintext_pii_after_every_way_a_number_arrives(app, api, shop):
    """Admin create, CSV import, storefront sign-up (with IP) and a webhook carrying PII."""
    import io

    from shopify_app.services.webhooks.webhook_intake import record_event

    from .shopify_signing import proxy_query

    create(api, phone="+14155550142", email="ada@example.com", first_name="Adaline", **SUBSCRIBE)
    api.post(
        "/api/contacts/imports",
        data={
            "consent_attestation": "true",
            "file": (io.BytesIO(b"phone,email,first_name\n+14155550143,bob@example.com,Bobbington\n"), "c.csv"),
        },
        content_type="multipart/form-data",
    )
    app.test_client().post(
        "/proxy/subscribe?" + proxy_query(),
        json={"phone": "+14155550144", "consent": "yes", "email": "cy@example.com", "first_name": "Cyrano"},
        headers={"X-Forwarded-For": "203.0.113.77"},
    )
    record_event(
        shop_domain=shop.domain,
        topic="customers/create",
        webhook_id="pii-1",
        event_id=None,
        api_version=None,
        body=b'{"phone": "+14155550145", "email": "dee@example.com"}',
    )
    secrets = ("415555014", "example.com", "Adaline", "Bobbington", "Cyrano", "203.0.113.77")
    for table in (t.name for t in db.metadata.sorted_tables):
        for row in db.session.execute(text(f"SELECT * FROM {table}")):  # noqa: S608
            dump = " ".join(str(value) for value in row)
            for secret in secrets:
                assert secret not in dump, (table, secret)
