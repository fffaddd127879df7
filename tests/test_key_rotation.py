"""`flask rotate-keys`: every sealed column moves to the newest key; reads work throughout."""

from __future__ import annotations

import base64
import io
import os

from sqlalchemy import select, text

from shopify_app.extensions import db
from shopify_app.models import Contact, Shop
from shopify_app.services.contacts.contacts import contact_view
from shopify_app.services.privacy.key_rotation import SEALED_COLUMNS
from shopify_app.services.shops.auth import access_token_for

OLD = "k2025:" + base64.b64encode(os.urandom(32)).decode()
NEW = "k2026:" + base64.b64encode(os.urandom(32)).decode()


def all_ciphertexts() -> list[str]:
    values = []
    for sealed in SEALED_COLUMNS:
        table, column = sealed.model.__tablename__, getattr(sealed.model, sealed.column).expression.name
        values += [row[0] for row in db.session.execute(text(f"SELECT {column} FROM {table}")) if row[0]]  # noqa: S608
    return values


def seed_everything(app) -> int:
    """Data in every sealed column, written with the old key."""
    from .conftest import ApiClient, install_shop

    shop = install_shop("alpha.myshopify.com")
    db.session.commit()
    api = ApiClient(app.test_client(), shop.domain)
    api.post(
        "/api/contacts",
        json={
            "phone": "+14155550101",
            "email": "a@x.io",
            "first_name": "Ada",
            "last_name": "L",
            "birthday": "05-17",
            "consent_state": "subscribed",
            "consent_text": "ok",
        },
    )
    api.post(
        "/api/contacts/imports",
        data={"consent_attestation": "true", "file": (io.BytesIO(b"phone\n+14155550102\n"), "c.csv")},
        content_type="multipart/form-data",
    )
    app.test_client().post(
        "/proxy/subscribe?" + __import__("tests.shopify_signing", fromlist=["x"]).proxy_query(),
        json={"phone": "+14155550103", "consent": "yes"},
    )
    db.session.add(Shop(domain="beta.myshopify.com", settings={}))
    db.session.commit()
    from shopify_app.services.webhooks.webhook_intake import record_event

    record_event(shop_domain=shop.domain, topic="x/y", webhook_id="w1", event_id=None, api_version=None, body=b"{}")
    return shop.id


def test_rotation_moves_every_sealed_value_to_the_new_key_and_keeps_it_readable(make_app):
    old_app = make_app(ENCRYPTION_KEYS=OLD)
    with old_app.app_context():
        shop_id = seed_everything(old_app)
        before = all_ciphertexts()
        assert before
        assert [v[:12] for v in before if not v.startswith("v1.k2025.")] == []
        db.session.remove()

    rotating = make_app(ENCRYPTION_KEYS=f"{NEW},{OLD}")
    with rotating.app_context():
        # Reads work before rotation (old key still listed) ...
        shop = db.session.get(Shop, shop_id)
        token_before = access_token_for(shop)
        result = rotating.test_cli_runner().invoke(args=["rotate-keys", "--batch-size", "2"])
        assert result.exit_code == 0, result.output
        assert "contacts.phone_ciphertext: 3 re-encrypted" in result.output
        after = all_ciphertexts()
        assert len(after) == len(before)
        assert all(value.startswith("v1.k2026.") for value in after)
        # ... and a second run finds nothing left: it resumes where it stopped.
        again = rotating.test_cli_runner().invoke(args=["rotate-keys"])
        counts = [line for line in again.stdout.splitlines() if "re-encrypted" in line]
        assert len(counts) == len(SEALED_COLUMNS)
        assert all(line.endswith(": 0 re-encrypted") for line in counts)
        db.session.remove()

    new_only = make_app(ENCRYPTION_KEYS=NEW)
    with new_only.app_context():
        shop = db.session.get(Shop, shop_id)
        assert shop.access_token == token_before
        views = [contact_view(c) for c in db.session.scalars(select(Contact).order_by(Contact.id))]
        assert [v["phone"] for v in views] == ["+1******0101", "+1******0102", "+1******0103"]
        assert views[0]["first_name"] == "Ada"
        db.session.remove()


def test_every_ciphertext_column_in_the_schema_is_rotated(app):
    """A `*_ciphertext` column that rotation skips becomes unreadable once the old key is retired."""
    rotated = {(sealed.model.__tablename__, sealed.column) for sealed in SEALED_COLUMNS}
    columns = {
        (table.name, column.name)
        for table in db.metadata.sorted_tables
        for column in table.columns
        if column.name.endswith("ciphertext")
    }
    assert columns == rotated
