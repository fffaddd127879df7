"""Shopify's mandatory compliance webhooks, proven by querying every table afterwards."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select, text

from shopify_app.extensions import db
from shopify_app.models import AuditLog, Contact, Order, PrivacyRequest, Shop, WebhookEvent

from .conftest import ApiClient, install_shop
from .payloads import SHOP, payload
from .shopify_signing import proxy_query, webhook_request
from .test_jobs import drain_if_async

CUSTOMER_TRACES = ("4155550199", "555-0199", "bob@biller.com", "Biller", "706405506930370084", "198.51.100.23")


def deliver(app, topic: str, body: dict, shop: str = SHOP) -> None:
    response = app.test_client().post("/webhooks/shopify", **webhook_request(topic, body, shop=shop))
    assert response.status_code == 200, response.get_json()
    drain_if_async(app)
    db.session.expire_all()


def every_row_as_text() -> dict[str, list[str]]:
    dump: dict[str, list[str]] = {}
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(text(f"SELECT * FROM {table.name}")).all()  # noqa: S608
        dump[table.name] = [" ".join(str(value) for value in row) for row in rows]
    return dump


def decrypted_everything() -> str:
    """Every sealed value decrypted, so a trace hidden in ciphertext is found too."""
    from shopify_app.security.crypto import keyring
    from shopify_app.services.privacy.key_rotation import SEALED_COLUMNS

    values = []
    for sealed in SEALED_COLUMNS:
        for row in db.session.scalars(select(sealed.model)):
            token = getattr(row, sealed.column)
            if token:
                values.append(keyring().decrypt(token, aad=sealed.aad(row)))
    return " ".join(values)


@pytest.fixture
def customer_everywhere(app, shop):
    """Bob, known through every path: Shopify customer, sign-up with IP, order, checkout, tags."""
    api = ApiClient(app.test_client(), shop.domain)
    deliver(app, "customers/create", payload("customers/create"))
    app.test_client().post(
        "/proxy/subscribe?" + proxy_query(),
        json={"phone": "+1 415 555 0199", "consent": "yes", "consent_text": "Texts please"},
        headers={"X-Forwarded-For": "198.51.100.23"},
    )
    deliver(app, "orders/create", payload("orders/create"))
    deliver(app, "checkouts/update", payload("checkouts/update"))
    contact_id = db.session.scalars(select(Contact.id)).one()
    api.post(f"/api/contacts/{contact_id}/tags", json={"tags": ["vip"]})
    api.post("/api/contacts", json={"phone": "+14155550100", "first_name": "Other"})  # someone else
    api.post("/api/contacts/exports")
    from shopify_app.services.contacts import inbound
    from shopify_app.services.sending import senders

    senders.assign(number="+14155559000", shop_domain=shop.domain)

    inbound_id = inbound.record(sender="+14155550199", to="+14155559000", text="Bob Biller here, hi", message_id="i1")
    inbound.process(inbound_id=inbound_id)
    drain_if_async(app)
    return api


def test_data_request_exports_everything_held_about_the_customer(app, customer_everywhere, shop):
    deliver(app, "customers/data_request", payload("customers/data_request"))
    [request] = db.session.scalars(select(PrivacyRequest)).all()
    export = json.loads(request.export)
    [contact] = export["contacts"]
    assert (contact["phone"], contact["email"], contact["first_name"]) == ("+14155550199", "bob@biller.com", "Bob")
    assert contact["tags"] == ["vip"]
    assert [e["state"] for e in export["consent_events"]] == ["subscribed"]
    assert [o["shopify_order_id"] for o in export["orders"]] == [820982911946154508]
    assert [c["token"] for c in export["checkouts"]] == ["123123123"]
    assert [t["text"] for t in export["inbound_texts"]] == ["Bob Biller here, hi"]
    assert request.summary == {"contacts": 1, "consent_events": 1, "orders": 1, "checkouts": 1}
    assert "bob@biller.com" not in (request.export_ciphertext or "")
    [entry] = db.session.scalars(select(AuditLog).where(AuditLog.action == "customer_data_request")).all()
    assert entry.shop_id == shop.id
    listed = customer_everywhere.get("/api/privacy/requests").get_json()["items"]
    assert listed[0]["kind"] == "data_request"
    download = customer_everywhere.get(f"/api/privacy/requests/{request.id}/export")
    assert json.loads(download.get_data())["contacts"][0]["phone"] == "+14155550199"


def test_data_request_exports_are_not_visible_to_another_shop(app, customer_everywhere, other_api):
    deliver(app, "customers/data_request", payload("customers/data_request"))
    request_id = db.session.scalars(select(PrivacyRequest.id)).one()
    assert other_api.get(f"/api/privacy/requests/{request_id}/export").status_code == 404
    assert other_api.get("/api/privacy/requests").get_json()["items"] == []


def test_customer_redact_leaves_nothing_of_the_customer_in_any_table(app, customer_everywhere):
    deliver(app, "customers/data_request", payload("customers/data_request"))
    deliver(app, "customers/redact", payload("customers/redact"))
    dump = every_row_as_text()
    plain = decrypted_everything()
    for trace in CUSTOMER_TRACES:
        for table, rows in dump.items():
            assert not any(trace in row for row in rows), (table, trace)
        assert trace not in plain, trace
    # Aggregates stay; someone else's data stays.
    [order] = db.session.scalars(select(Order)).all()
    assert (order.contact_id, order.shopify_customer_id, str(order.total_price)) == (None, None, "403.00")
    assert [c.first_name for c in db.session.scalars(select(Contact))] == ["Other"]
    assert db.session.scalars(select(AuditLog.action).where(AuditLog.action == "customer_redacted")).one()


def test_customer_redact_is_idempotent(app, customer_everywhere):
    deliver(app, "customers/redact", payload("customers/redact"))
    deliver(app, "customers/redact", payload("customers/redact"))
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 1


def test_shop_redact_deletes_every_row_of_the_shop_and_nothing_else(app, customer_everywhere, shop):
    other = install_shop("beta.myshopify.com")
    ApiClient(app.test_client(), other.domain).post("/api/contacts", json={"phone": "+306912345678"})
    deliver(app, "shop/redact", payload("shop/redact"))
    for table in db.metadata.sorted_tables:
        if "shop_id" in table.c:
            count = db.session.scalar(select(func.count()).select_from(table).where(table.c.shop_id == shop.id))
            assert count == 0, table.name
    assert db.session.get(Shop, shop.id) is None
    assert db.session.get(Shop, other.id) is not None
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 1
    for table, rows in every_row_as_text().items():
        for trace in CUSTOMER_TRACES:
            assert not any(trace in row for row in rows), (table, trace)
    # The redaction itself is recorded, without the shop's data.
    [event] = db.session.scalars(select(WebhookEvent).where(WebhookEvent.topic == "shop/redact")).all()
    assert (event.shop_id, event.payload_ciphertext) == (None, None)


def test_compliance_webhook_for_another_shop_in_the_payload_is_401(app, shop):
    body = payload("customers/redact", shop_domain="beta.myshopify.com")
    response = app.test_client().post("/webhooks/shopify", **webhook_request("customers/redact", body, shop=SHOP))
    assert response.status_code == 401


def test_export_files_and_imports_do_not_keep_pii(app, api):
    upload = io.BytesIO(b"phone,first_name\n+14155550199,Bob\n")
    api.post(
        "/api/contacts/imports",
        data={"consent_attestation": "true", "file": (upload, "c.csv")},
        content_type="multipart/form-data",
    )
    from shopify_app.models import TransferChunk

    assert db.session.scalar(select(func.count()).select_from(TransferChunk)) == 0  # deleted once imported


def test_retention_deletes_only_rows_past_their_period(app, shop):
    from datetime import timedelta

    from shopify_app.models import DeliveryEvent, DeliveryOutcome, InboundMessage
    from shopify_app.models.types import utcnow
    from shopify_app.services.privacy.privacy import apply_retention

    now = utcnow()
    for age in (91, 89):
        db.session.add(
            DeliveryEvent(
                provider_message_id=f"m{age}",
                status="Delivered",
                outcome=DeliveryOutcome.DELIVERED,
                received_at=now - timedelta(days=age),
                applied_at=now - timedelta(days=age),
            )
        )
    db.session.add(
        DeliveryEvent(provider_message_id="unapplied", status="Delivered", outcome=DeliveryOutcome.DELIVERED)
    )
    db.session.add(InboundMessage(shop_id=None, outcome="unknown_number", received_at=now - timedelta(days=31)))
    db.session.add(InboundMessage(shop_id=shop.id, outcome="stored", received_at=now - timedelta(days=400)))
    db.session.commit()
    assert apply_retention(now=now) == {
        "delivery_events": 1,
        "unowned_inbound_messages": 1,
        "cancelled_automation_runs": 0,
        "import_files": 0,
    }
    assert db.session.scalar(select(func.count()).select_from(DeliveryEvent)) == 2
    assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 1


# --- every erasure, against every table, the sealed files and Redis ----------------------------

# Bob's phone (E.164 and national digits, as typed), email and names.
BOB = ("+14155550199", "4155550199", "555-0199", "bob@biller.com", "Biller", "Bobbington")


def every_text_value() -> list[tuple[str, str]]:
    """(table.column, value) for every non-null value of every table, read as the admin engine
    (past row-level security), JSON and bytes included."""
    from shopify_app.tenancy import admin_engine

    found = []
    with admin_engine().connect() as connection:
        for table in db.metadata.sorted_tables:
            for row in connection.execute(table.select()).mappings():
                for column, value in row.items():
                    if isinstance(value, bytes | bytearray | memoryview):
                        found.append((f"{table.name}.{column}", bytes(value).decode("latin-1")))
                    elif isinstance(value, dict | list):
                        found.append((f"{table.name}.{column}", json.dumps(value)))
                    elif value is not None:
                        found.append((f"{table.name}.{column}", str(value)))
    return found


def every_redis_text() -> list[str]:
    """Every key and value in Redis, RQ's zlib-compressed job data decompressed."""
    import contextlib
    import zlib

    from shopify_app.extensions import redis_ext

    client = redis_ext.client()
    readers = {
        b"string": lambda key: [client.get(key)],
        b"hash": lambda key: [v for pair in client.hgetall(key).items() for v in pair],
        b"list": lambda key: client.lrange(key, 0, -1),
        b"set": lambda key: list(client.smembers(key)),
        b"zset": lambda key: client.zrange(key, 0, -1),
    }
    texts = []
    for key in client.scan_iter():
        kind = client.type(key)
        values = readers.get(kind if isinstance(kind, bytes) else kind.encode(), lambda key: [])(key)
        for value in [key, *values]:
            raw = value if isinstance(value, bytes) else str(value).encode()
            with contextlib.suppress(zlib.error):
                raw = zlib.decompress(raw)
            texts.append(raw.decode("latin-1"))
    return texts


@pytest.fixture
def customer_with_files(app, customer_everywhere, shop):
    """Bob also in every file kind: a Shopify data request's export, a built and a pending
    merchant export, a contact export (from `customer_everywhere`), an import not yet run, a
    cached report, and the sign-up limiter keys of his number."""
    from shopify_app.services.contacts import contact_transfers
    from shopify_app.services.privacy import privacy

    api = customer_everywhere
    deliver(app, "customers/data_request", payload("customers/data_request"))
    assert api.post("/api/privacy/exports", json={"phone": "+14155550199"}).status_code == 202
    drain_if_async(app)
    privacy.request_export(shop=shop, lookup={"email": "bob@biller.com"})  # its job not run yet
    upload = b"phone,first_name,last_name,email\n+14155550199,Bob,Bobbington,bob@biller.com\n"
    contact_transfers.start_import(shop=shop, stream=io.BytesIO(upload), filename="later.csv")
    assert api.get("/api/reports/summary").status_code == 200
    db.session.expire_all()
    assert any("4155550199" in value for _, value in every_text_value()) is False  # sealed, not clear
    assert "bob@biller.com" in decrypted_everything()
    return api


ERASURES = {
    "customers/redact": lambda app, api: deliver(app, "customers/redact", payload("customers/redact")),
    "merchant erasure": lambda app, api: api.post("/api/privacy/erasures", json={"phone": "(415) 555-0199"}),
    "shop/redact": lambda app, api: deliver(app, "shop/redact", payload("shop/redact")),
}


@pytest.mark.parametrize("erasure", ERASURES)
def test_every_erasure_leaves_the_customer_in_no_table_file_or_redis_key(app, customer_with_files, erasure):
    ERASURES[erasure](app, customer_with_files)
    drain_if_async(app)
    db.session.expire_all()
    plain = decrypted_everything()
    values = every_text_value()
    redis_texts = every_redis_text()
    for trace in BOB:
        assert [where for where, value in values if trace in value] == [], trace
        assert trace not in plain, trace
        assert [text for text in redis_texts if trace in text] == [], trace
    if erasure != "shop/redact":  # someone else's data stays
        assert [c.first_name for c in db.session.scalars(select(Contact))] == ["Other"]


def test_an_erasure_ends_the_imports_and_exports_whose_files_it_deleted(app, customer_with_files, shop):
    from shopify_app.models import ContactTransfer

    api = customer_with_files
    export_id = db.session.scalars(select(ContactTransfer.id).where(ContactTransfer.kind == "export")).one()
    assert api.get(f"/api/contacts/exports/{export_id}/download").status_code == 200
    ERASURES["merchant erasure"](app, api)
    assert api.get(f"/api/contacts/exports/{export_id}/download").status_code == 410
    [pending] = db.session.scalars(select(ContactTransfer).where(ContactTransfer.kind == "import")).all()
    assert (pending.status, pending.failure) == ("failed", "erased")
    listed = {r["kind"]: r for r in api.get("/api/privacy/requests").get_json()["items"]}
    assert set(listed) == {"merchant_erasure"}  # the data request's and merchant's exports named Bob
