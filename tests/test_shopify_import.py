"""Shopify's existing SMS subscribers become contacts: a bulk operation on the loopback fake,
polled by jobs that re-enqueue themselves, its JSONL streamed in chunks; idempotent, never
resubscribing a number that opted out here, one import at a time, another shop's a 404."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest
import requests
from sqlalchemy import func, select
from structlog.testing import capture_logs

from shopify_app.clients.shopify import OfflineToken
from shopify_app.extensions import db
from shopify_app.models import ConsentEvent, ConsentState, Contact, ContactTransfer, Shop
from shopify_app.services.contacts import shopify_import, shopify_jsonl
from shopify_app.services.shops import auth

from .conftest import ApiClient, install_shop, open_shop, settle_jobs
from .shopify_signing import webhook_request

SHOP = "alpha.myshopify.com"
CONSENTED = "2025-03-01T10:00:00Z"


@pytest.fixture
def world(make_app, fake_shopify):
    app = make_app(SHOPIFY_ADMIN_BASE_URL=fake_shopify.admin_base_url)
    with app.app_context():
        api, shop = open_shop(app, SHOP, fake_shopify=fake_shopify)
        yield app, api, shop


def line(number: int, phone: str | None, state: str = "SUBSCRIBED", at: str | None = CONSENTED) -> str:
    consent = {"marketingState": state, "marketingOptInLevel": "SINGLE_OPT_IN", "consentUpdatedAt": at}
    return json.dumps({"id": f"gid://shopify/Customer/{number}", "phone": phone, "smsMarketingConsent": consent})


def run_import(app, api, expect: int = 202) -> dict:
    started = api.post("/api/contacts/shopify-import")
    assert started.status_code == expect, started.get_json()
    settle_jobs(app)
    db.session.expire_all()
    progress = api.get(f"/api/contacts/imports/{started.get_json()['id']}")
    assert progress.status_code == 200
    return progress.get_json()


def contacts() -> list[Contact]:
    db.session.expire_all()
    return list(db.session.scalars(select(Contact).order_by(Contact.id)))


def test_subscribers_become_subscribed_contacts_with_source_shopify_and_shopifys_consent_time(
    world, fake_shopify, caplog
):
    app, api, shop = world
    fake_shopify.bulk_jsonl[SHOP] = [
        line(1, "+14155550101"),
        line(2, "(415) 555-0102", at="2024-12-24T08:30:00+02:00"),  # national format: the shop's country
        line(3, "+14155550103", state="NOT_SUBSCRIBED"),
        line(4, "+14155550104", state="UNSUBSCRIBED"),
        line(5, "12"),  # not a phone: an error on its line
        line(6, None),
    ]
    caplog.set_level(logging.DEBUG)
    with capture_logs() as logs:
        progress = run_import(app, api)
    assert progress["kind"] == "shopify_import"
    assert progress["status"] == "completed"
    assert (progress["processed_rows"], progress["total_rows"]) == (6, 6)
    assert (progress["created_count"], progress["error_count"]) == (2, 2)
    assert {(error["row"], error["field"]) for error in progress["errors"]} == {(5, "phone"), (6, "phone")}
    first, second = contacts()
    assert [c.phone for c in (first, second)] == ["+14155550101", "+14155550102"]
    assert all(c.consent_state == ConsentState.SUBSCRIBED for c in (first, second))
    assert all(c.consent_source.value == "shopify" for c in (first, second))
    assert first.consented_at == datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
    assert second.consented_at == datetime(2024, 12, 24, 6, 30, tzinfo=UTC)
    assert (first.shopify_customer_id, second.shopify_customer_id) == (1, 2)
    events = db.session.scalars(select(ConsentEvent).order_by(ConsentEvent.id)).all()
    assert [(e.contact_id, e.source.value, e.state.value) for e in events] == [
        (first.id, "shopify", "subscribed"),
        (second.id, "shopify", "subscribed"),
    ]
    assert "SINGLE_OPT_IN" in events[0].consent_text
    # The download went to the signed URL without the access token; nothing logged a phone or token.
    assert [(d["status"], d["token_sent"]) for d in fake_shopify.bulk_downloads] == [(200, False)]
    written = repr(logs) + caplog.text
    assert "shopify_import_completed" in written
    for secret in ("4155550101", "555-0102", shop.access_token, "shpat_"):
        assert secret not in written


def test_the_current_import_is_none_then_the_running_one_then_the_finished_one(world, fake_shopify):
    app, api, shop = world
    none = api.get("/api/contacts/shopify-import")
    assert (none.status_code, none.get_data()) == (204, b"")
    fake_shopify.bulk_jsonl[SHOP] = [line(1, "+14155550101")]
    transfer, started = shopify_import.start(shop=shop)  # as the install starts it
    assert started
    running = api.get("/api/contacts/shopify-import").get_json()
    assert (running["id"], running["kind"], running["status"]) == (transfer.id, "shopify_import", "queued")
    settle_jobs(app)
    db.session.expire_all()
    finished = api.get("/api/contacts/shopify-import").get_json()
    assert (finished["id"], finished["status"], finished["created_count"]) == (transfer.id, "completed", 1)


def test_another_shops_import_is_not_the_current_one(world, fake_shopify):
    app, _api, shop = world
    other_api, _other = open_shop(app, "beta.myshopify.com", fake_shopify=fake_shopify)
    shopify_import.start(shop=shop)
    assert other_api.get("/api/contacts/shopify-import").status_code == 204


def test_a_second_run_adds_nothing(world, fake_shopify):
    app, api, _shop = world
    fake_shopify.bulk_jsonl[SHOP] = [line(n, f"+1415555{n:04d}") for n in range(1, 6)]
    assert run_import(app, api)["created_count"] == 5
    events_before = db.session.scalar(select(func.count()).select_from(ConsentEvent))
    again = run_import(app, api)
    assert again["status"] == "completed"
    assert (again["created_count"], again["updated_count"], again["error_count"]) == (0, 0, 0)
    assert len(contacts()) == 5
    assert db.session.scalar(select(func.count()).select_from(ConsentEvent)) == events_before


def test_a_number_that_unsubscribed_here_stays_unsubscribed_and_one_without_consent_is_subscribed(world, fake_shopify):
    app, api, _shop = world
    stopped = api.post(
        "/api/contacts", json={"phone": "+14155550101", "consent_state": "subscribed", "consent_text": "ok"}
    ).get_json()
    assert api.patch(f"/api/contacts/{stopped['id']}", json={"consent_state": "unsubscribed"}).status_code == 200
    never = api.post("/api/contacts", json={"phone": "+14155550102"}).get_json()
    assert never["consent_state"] == "unsubscribed"
    fake_shopify.bulk_jsonl[SHOP] = [line(1, "+14155550101"), line(2, "+14155550102")]
    progress = run_import(app, api)
    assert (progress["created_count"], progress["updated_count"], progress["error_count"]) == (0, 1, 1)
    assert progress["errors"] == [{"row": 1, "field": "consent", "error": "Unsubscribed here; left unsubscribed."}]
    by_id = {c.id: c for c in contacts()}
    assert by_id[stopped["id"]].consent_state == ConsentState.UNSUBSCRIBED
    assert by_id[never["id"]].consent_state == ConsentState.SUBSCRIBED
    assert by_id[never["id"]].consent_source.value == "shopify"
    assert by_id[never["id"]].consented_at == datetime(2025, 3, 1, 10, 0, tzinfo=UTC)


def test_a_failed_bulk_operation_fails_the_import_saying_why(world, fake_shopify):
    app, api, _shop = world
    fake_shopify.bulk_jsonl[SHOP] = [line(1, "+14155550101")]
    fake_shopify.fail_next_bulk_operation("ACCESS_DENIED")
    progress = run_import(app, api)
    assert progress["status"] == "failed"
    assert progress["failure"] == "Shopify's export of its customers ended FAILED (ACCESS_DENIED)."
    assert contacts() == []
    assert fake_shopify.bulk_downloads == []
    assert run_import(app, api)["status"] == "completed"  # a failed import does not block the next


def test_the_jsonl_is_streamed_in_chunks_never_read_whole(world, fake_shopify, monkeypatch):
    app, api, _shop = world
    fake_shopify.bulk_jsonl[SHOP] = [line(n, f"+1415556{n:04d}") for n in range(2500)]
    pulled = 0
    chunks: list[tuple[int, int]] = []  # (lines in the chunk, lines read from the stream so far)
    real_lines, real_chunk, real_get = shopify_jsonl.jsonl_lines, shopify_jsonl.import_chunk, requests.get
    gets: list[dict] = []

    def counting_lines(response):
        nonlocal pulled
        for raw in real_lines(response):
            pulled += 1
            yield raw

    def recording_chunk(shop, transfer, lines):
        chunks.append((len(lines), pulled))
        real_chunk(shop, transfer, lines)

    def recording_get(url, **kwargs):
        gets.append(kwargs)
        return real_get(url, **kwargs)

    monkeypatch.setattr(shopify_jsonl, "jsonl_lines", counting_lines)
    monkeypatch.setattr(shopify_jsonl, "import_chunk", recording_chunk)
    monkeypatch.setattr(shopify_jsonl.requests, "get", recording_get)
    progress = run_import(app, api)
    assert progress["created_count"] == 2500
    assert [size for size, _ in chunks] == [1000, 1000, 500]
    # Each chunk is imported as soon as its lines are read, before the rest of the file is.
    assert [read for _, read in chunks] == [1000, 2000, 2500]
    assert gets[0]["stream"] is True


def test_an_expired_download_link_is_retried_and_resumes(world, fake_shopify):
    app, api, _shop = world
    fake_shopify.bulk_jsonl[SHOP] = [line(1, "+14155550101")]
    fake_shopify.fail_next_bulk_download(403)
    progress = run_import(app, api)
    assert progress["status"] == "completed"
    assert progress["created_count"] == 1
    assert [d["status"] for d in fake_shopify.bulk_downloads] == [403, 200]


def test_one_import_at_a_time_a_second_start_answers_the_running_one(world, fake_shopify):
    _app, api, _shop = world
    first = api.post("/api/contacts/shopify-import")
    second = api.post("/api/contacts/shopify-import")
    assert (first.status_code, second.status_code) == (202, 200)
    assert second.get_json()["id"] == first.get_json()["id"]
    assert second.get_json()["status"] == "queued"


def test_a_throttled_start_is_retried_and_completes(world, fake_shopify):
    app, api, _shop = world
    fake_shopify.bulk_jsonl[SHOP] = [line(1, "+14155550101")]
    fake_shopify.throttle_next(2)
    assert run_import(app, api)["created_count"] == 1


def test_our_own_operation_left_running_by_a_dead_attempt_is_adopted(world, fake_shopify):
    app, api, _shop = world
    fake_shopify.bulk_jsonl[SHOP] = [line(1, "+14155550101")]
    with fake_shopify._lock:  # an earlier attempt started it and died before saving its id
        fake_shopify._bulk_run_query(SHOP, {"query": shopify_import.BULK_QUERY})
    progress = run_import(app, api)
    assert progress["status"] == "completed"
    assert len(fake_shopify.bulk_operations) == 1


def test_another_apps_running_operation_fails_the_import_clearly(world, fake_shopify):
    app, api, _shop = world
    with fake_shopify._lock:
        fake_shopify._bulk_run_query(SHOP, {"query": "{ products { edges { node { id } } } }"})
    progress = run_import(app, api)
    assert progress["status"] == "failed"
    assert "already running another bulk export" in progress["failure"]


def test_user_errors_on_the_run_mutation_fail_the_import(world, fake_shopify):
    app, api, _shop = world
    fake_shopify.user_errors_next("bulkOperationRunQuery", [{"field": ["query"], "message": "Bad", "code": "INVALID"}])
    progress = run_import(app, api)
    assert progress["status"] == "failed"
    assert "INVALID" in progress["failure"]


def test_another_shops_import_is_404(world, fake_shopify):
    app, api, _shop = world
    mine = run_import(app, api)
    other = ApiClient(app.test_client(), install_shop("beta.myshopify.com").domain)
    response = other.get(f"/api/contacts/imports/{mine['id']}")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "import_not_found"


def test_an_install_and_a_reinstall_start_the_import_as_a_job(make_app, fake_shopify):
    app = make_app(SHOPIFY_ADMIN_BASE_URL=fake_shopify.admin_base_url, SHOPIFY_IMPORT_ON_INSTALL=1)
    with app.app_context():
        fake_shopify.add_customer(SHOP, phone="+14155550101", state="SUBSCRIBED")

        def install() -> Shop:
            token = fake_shopify.issue_access_token(SHOP)
            return auth.install_shop(domain=SHOP, token=OfflineToken(token, "read_customers", None, None, None))

        install()
        assert fake_shopify.bulk_operations == {}  # queued: the install did not wait on Shopify
        settle_jobs(app)
        assert [c.consent_state for c in contacts()] == [ConsentState.SUBSCRIBED]
        install()  # a token renewal of an installed shop: no new import
        assert db.session.scalar(select(func.count()).select_from(ContactTransfer)) == 1
        response = app.test_client().post("/webhooks/shopify", **webhook_request("app/uninstalled", {"domain": SHOP}))
        assert response.status_code == 200
        settle_jobs(app)
        install()
        settle_jobs(app)
        transfers = db.session.scalars(select(ContactTransfer).order_by(ContactTransfer.id)).all()
        assert [t.status.value for t in transfers] == ["completed", "completed"]
        assert len(contacts()) == 1


def test_an_uninstall_ends_a_running_import(world, fake_shopify):
    app, api, _shop = world
    started = api.post("/api/contacts/shopify-import").get_json()
    response = app.test_client().post("/webhooks/shopify", **webhook_request("app/uninstalled", {"domain": SHOP}))
    assert response.status_code == 200
    settle_jobs(app)
    db.session.expire_all()
    transfer = db.session.get(ContactTransfer, started["id"])
    assert (transfer.status.value, transfer.failure) == ("failed", "The app was uninstalled.")


def test_a_graphql_error_such_as_a_missing_scope_fails_the_import_naming_its_code(world, fake_shopify):
    app, api, _shop = world
    fake_shopify.graphql_errors_next([{"message": "Access denied", "extensions": {"code": "ACCESS_DENIED"}}])
    progress = run_import(app, api)
    assert progress["status"] == "failed"
    assert progress["failure"] == "Shopify refused the export of its customers (ACCESS_DENIED)."


def test_imported_subscribers_get_no_welcome_text(world, fake_shopify):
    """They subscribed long ago in Shopify's checkout: a welcome now would be a surprise text to
    every customer of the shop. (A consent change from Shopify's webhook does welcome: that is a
    new checkout opt-in. The import writes its contacts in bulk, past that trigger.)"""
    from shopify_app.models import AutomationRun

    from .test_automations import enable

    app, api, _shop = world
    enable(api, "welcome")
    fake_shopify.bulk_jsonl[SHOP] = [line(n, f"+1415555{n:04d}") for n in range(1, 4)]
    assert run_import(app, api)["created_count"] == 3
    settle_jobs(app)
    assert db.session.scalar(select(func.count()).select_from(AutomationRun)) == 0
