"""A contact export imports back: into another shop, or into the same shop after its contacts
were deleted, every contact returns with its consent state, tags and profile, under the
import's own consent rules (explicit consent per row; an opted-out number stays out)."""

from __future__ import annotations

import csv
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from shopify_app.services.contacts.csv_export import EXPORT_COLUMNS, EXPORT_ONLY_COLUMNS
from shopify_app.services.contacts.csv_import import COLUMN_ALIASES
from shopify_app.services.contacts.spreadsheet import read_cell, safe_cell

from .shopify_signing import proxy_query
from .test_contact_transfers import upload
from .test_jobs import drain_if_async

PROFILE_FIELDS = ("consent_state", "first_name", "last_name", "email", "birthday", "tags")


def make_contacts(app, api) -> None:
    """Five numbers in every consent state, with tags and names a spreadsheet would run."""
    api.post(
        "/api/contacts",
        json={
            "phone": "+14155550101",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ada@example.com",
            "birthday": "1990-05-17",
            "tags": ["vip", "winter"],
            "consent_state": "subscribed",
            "consent_text": "Ticked the box at the till",
        },
    )
    api.post(
        "/api/contacts",
        json={"phone": "+14155550102", "first_name": '=HYPERLINK("http://evil.example","x")', "tags": ["-sale"]},
    )
    opted_out = api.post(
        "/api/contacts",
        json={"phone": "+14155550103", "last_name": "@SUM(A1)", "consent_state": "subscribed", "consent_text": "ok"},
    ).get_json()
    api.patch(f"/api/contacts/{opted_out['id']}", json={"consent_state": "unsubscribed"})
    api.post(f"/api/contacts/{opted_out['id']}/tags", json={"tags": ["+churned"]})
    api.post(
        "/api/contacts",
        json={
            "phone": "+14155550104",
            "first_name": "'=not a formula",  # an apostrophe that is data, before a formula sign
            "last_name": "'Brien",
            "birthday": "02-29",
            "consent_state": "subscribed",
            "consent_text": "ok",
            "tags": ["@home"],
        },
    )
    signup = {"phone": "+14155550105", "consent": "on", "first_name": "Pat"}
    assert api.client.post("/proxy/subscribe?" + proxy_query(), json=signup).status_code == 201  # pending
    drain_if_async(app)
    pending = next(c for c in contacts_of(api) if c["first_name"] == "Pat")
    api.post(f"/api/contacts/{pending['id']}/tags", json={"tags": ["storefront"]})


def contacts_of(api) -> list[dict]:
    return api.get("/api/contacts?limit=200").get_json()["items"]


def profiles(api) -> dict[str, tuple]:
    return {
        contact["phone"]: tuple(sorted(contact[name]) if name == "tags" else contact[name] for name in PROFILE_FIELDS)
        for contact in contacts_of(api)
    }


def export_csv(app, api) -> str:
    export_id = api.post("/api/contacts/exports").get_json()["id"]
    drain_if_async(app)
    return api.get(f"/api/contacts/exports/{export_id}/download").get_data(as_text=True)


def test_an_export_imports_into_another_shop_with_the_same_states_tags_and_profiles(app, api, other_api):
    make_contacts(app, api)
    before = profiles(api)
    assert {state for state, *_ in before.values()} == {"subscribed", "unsubscribed", "pending"}
    exported = export_csv(app, api)
    assert "'=HYPERLINK" in exported  # the file is spreadsheet-safe...

    body = upload(other_api, exported, filename="contacts-1.csv").get_json()
    assert body["status"] == "completed", body
    assert (body["created_count"], body["errors"]) == (5, [])  # ...and reads back whole, no warning
    assert profiles(other_api) == before
    imported = {contact["phone"]: contact for contact in contacts_of(other_api)}
    assert imported["+1******0101"]["consent_source"] == "import"
    [event] = other_api.get(f"/api/contacts/{imported['+1******0101']['id']}/consent-events").get_json()["items"]
    assert (event["state"], event["source"]) == ("subscribed", "import")
    assert "contacts-1.csv" in event["consent_text"]
    assert "admin" in event["consent_text"]  # how the file says consent was first given


def test_an_export_imports_back_into_the_same_shop_after_its_contacts_were_deleted(app, api):
    make_contacts(app, api)
    before = profiles(api)
    exported = export_csv(app, api)
    for contact in contacts_of(api):
        assert api.delete(f"/api/contacts/{contact['id']}").status_code == 204
    assert contacts_of(api) == []

    body = upload(api, exported).get_json()
    assert (body["created_count"], body["errors"]) == (5, [])
    assert profiles(api) == before  # the opted-out number stays unsubscribed (and suppressed)


def test_importing_the_export_over_the_same_contacts_changes_nothing(app, api):
    make_contacts(app, api)
    before = profiles(api)
    body = upload(api, export_csv(app, api)).get_json()
    assert body["created_count"] == 0
    assert {error["error"] for error in body["errors"]} == {"Already a contact; left unchanged."}
    assert profiles(api) == before


def test_a_subscribed_row_still_needs_a_number_that_never_opted_out(app, api, other_api):
    make_contacts(app, api)
    exported = export_csv(app, api)
    opted_out = other_api.post(
        "/api/contacts", json={"phone": "+14155550101", "consent_state": "subscribed", "consent_text": "ok"}
    ).get_json()
    other_api.patch(f"/api/contacts/{opted_out['id']}", json={"consent_state": "unsubscribed"})
    other_api.delete(f"/api/contacts/{opted_out['id']}")  # now on the other shop's suppression list

    body = upload(other_api, exported).get_json()
    assert body["errors"] == [
        {"row": 2, "field": "consent", "error": "This number opted out before; imported without consent."}
    ]
    assert {c["phone"]: c["consent_state"] for c in contacts_of(other_api)}["+1******0101"] == "unsubscribed"


def test_a_consent_state_column_is_consent_only_where_it_says_subscribed_or_pending(api):
    text = "phone,consent_state\n+14155550101,subscribed\n+14155550102,unsubscribed\n+14155550103,\n"
    text += "+14155550104,maybe\n+14155550105,pending\n"
    body = upload(api, text).get_json()
    assert (body["created_count"], body["errors"]) == (5, [])
    states = {c["phone"]: c["consent_state"] for c in contacts_of(api)}
    assert states == {
        "+1******0101": "subscribed",
        "+1******0102": "unsubscribed",
        "+1******0103": "unsubscribed",
        "+1******0104": "unsubscribed",
        "+1******0105": "pending",
    }


def test_every_column_an_export_writes_is_read_by_the_import_or_deliberately_left():
    read = {alias for aliases in COLUMN_ALIASES.values() for alias in aliases}
    assert set(EXPORT_COLUMNS) - read == set(EXPORT_ONLY_COLUMNS)


@settings(deadline=None)
@given(st.text(max_size=12))
def test_read_cell_undoes_safe_cell_for_every_text(text):
    assert read_cell(safe_cell(text)) == text


def test_safe_cell_leaves_an_apostrophe_that_is_plain_text_alone():
    assert safe_cell("'Brien") == "'Brien"
    assert read_cell("'Brien") == "'Brien"
    assert safe_cell("=1+1") == "'=1+1"
    assert safe_cell("'=1+1") == "''=1+1"


def test_the_export_header_is_what_the_import_reads(app, api):
    header = next(csv.reader(io.StringIO(export_csv(app, api))))
    assert tuple(header) == EXPORT_COLUMNS
