"""A CSV import's new contacts are sealed in bulk (`NewContactRows`), without a `Contact` per
row: read back through the model, each row holds what the model itself would have stored."""

from __future__ import annotations

import pytest

from shopify_app.models import ConsentState, Contact
from shopify_app.services.contacts import transfers
from shopify_app.services.contacts.phones import Phone
from shopify_app.services.contacts.pii import email_hash, phone_hash


@pytest.mark.parametrize(
    "profile",
    [
        {"first_name": "Ana", "last_name": "Ruiz", "email": " Ana@Example.com", "birthday": "1990-02-03", "tags": []},
        {"first_name": "Zoë €", "tags": []},
        {"last_name": "日本", "tags": []},
        {"tags": []},
    ],
)
def test_a_new_contact_row_holds_what_the_model_would_store(app, shop, profile):
    phone = Phone(e164="+14155550142", region="US", timezone="America/Los_Angeles")
    digest = phone_hash(phone.e164, shop_id=shop.id)
    row = transfers.NewContactRows(shop.id).row(phone, digest, profile, ConsentState.SUBSCRIBED)
    stored = Contact(**row)
    expected = Contact(shop_id=shop.id)
    expected.phone = phone.e164
    for name in ("email", "first_name", "last_name", "birthday"):
        setattr(expected, name, profile.get(name))
    for name in ("phone", "email", "first_name", "last_name", "birthday"):
        assert getattr(stored, name) == getattr(expected, name)
    assert (stored.first_name_len, stored.last_name_len) == (expected.first_name_len or 0, expected.last_name_len or 0)
    assert stored.names_ucs2 == bool(expected.names_ucs2)
    email = profile.get("email")
    assert row["email_hash"] == (email_hash(email, shop_id=shop.id) if email else None)
    assert row["phone_hash"] == transfers.NewContactRows(shop.id).phone_hash(phone.e164)
