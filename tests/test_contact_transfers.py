"""CSV import and export of contacts."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from shopify_app.extensions import db, redis_ext
from shopify_app.models import ConsentEvent, Contact, ContactTransfer, ImportSeenNumber, TransferChunk
from shopify_app.services.contacts import contact_transfers, csv_import

from .redis_contents import redis_contents
from .test_jobs import drain_if_async


def upload(api, text: str, filename: str = "contacts.csv"):
    return api.post(
        "/api/contacts/imports",
        data={"consent_attestation": "true", "file": (io.BytesIO(text.encode("utf-8")), filename)},
        content_type="multipart/form-data",
    )


def csv_text(rows: list[dict[str, str]], header: list[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def crash_on_second_batch(message: str = "worker killed"):
    """`csv_import._import_batch` that raises on its second call (a worker killed mid-import)."""
    original, calls = csv_import._import_batch, {"n": 0}

    def crashing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError(message)
        return original(*args, **kwargs)

    return crashing


SAMPLE = (
    "phone,first_name,email,tags,consent,birthday\n"
    '+14155550101,Ada,ada@example.com,"vip,winter",yes,1990-05-17\n'
    "(415) 555-0102,Bob,,,no,\n"
    "not-a-phone,Cy,,,yes,\n"
    "415-555-0101,Dup,,,yes,\n"
    "+14155550103,Eve,bad-email,,yes,13-45\n"
)


def test_small_import_runs_inline_and_reports_row_errors(api):
    response = upload(api, SAMPLE)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "completed"
    assert (body["processed_rows"], body["created_count"]) == (5, 3)
    errors = {(e["row"], e["field"]) for e in body["errors"]}
    assert errors == {(4, "phone"), (5, "phone"), (6, "email"), (6, "birthday")}
    contacts = {c["phone"]: c for c in api.get("/api/contacts").get_json()["items"]}
    assert contacts["+1******0101"]["consent_state"] == "subscribed"
    assert contacts["+1******0101"]["consent_source"] == "import"
    assert contacts["+1******0101"]["tags"] == ["vip", "winter"]
    assert contacts["+1******0101"]["birthday"] == "1990-05-17"
    assert contacts["+1******0102"]["consent_state"] == "unsubscribed"  # "no" is not consent
    assert contacts["+1******0103"]["email"] is None
    assert db.session.scalar(select(func.count()).select_from(ConsentEvent)) == 2


def test_a_file_without_a_consent_column_imports_nobody_as_subscribed(api):
    body = upload(api, "Phone,First Name\n+14155550101,Ada\n+14155550102,Bob\n").get_json()
    assert body["created_count"] == 2
    assert body["errors"][0]["field"] == "consent"
    assert {c["consent_state"] for c in api.get("/api/contacts").get_json()["items"]} == {"unsubscribed"}


def test_shopify_customer_export_columns_are_understood(api):
    text = 'First Name,Last Name,Email,Accepts SMS Marketing,Phone,Tags\nAda,L,a@x.io,yes,+14155550101,"vip, new"\n'
    upload(api, text)
    [contact] = api.get("/api/contacts").get_json()["items"]
    assert (contact["consent_state"], contact["tags"], contact["last_name"]) == ("subscribed", ["new", "vip"], "L")


def test_existing_contacts_are_left_unchanged(api):
    api.post("/api/contacts", json={"phone": "+14155550101", "consent_state": "unsubscribed"})
    body = upload(api, "phone,consent\n+14155550101,yes\n").get_json()
    assert body["created_count"] == 0
    assert body["errors"] == [{"row": 2, "field": "phone", "error": "Already a contact; left unchanged."}]
    assert api.get("/api/contacts").get_json()["items"][0]["consent_state"] == "unsubscribed"


def test_a_suppressed_number_is_not_resubscribed_by_an_import(api):
    contact = api.post(
        "/api/contacts", json={"phone": "+14155550101", "consent_state": "subscribed", "consent_text": "ok"}
    ).get_json()
    api.patch(f"/api/contacts/{contact['id']}", json={"consent_state": "unsubscribed"})
    api.delete(f"/api/contacts/{contact['id']}")
    body = upload(api, "phone,consent\n+14155550101,yes\n").get_json()
    assert body["errors"][0]["field"] == "consent"
    assert api.get("/api/contacts").get_json()["items"][0]["consent_state"] == "unsubscribed"


def test_a_file_without_a_phone_column_fails_clearly(api):
    body = upload(api, "name,email\nAda,a@x.io\n").get_json()
    assert body["status"] == "failed"
    assert "phone column" in body["failure"]


def test_a_large_import_runs_as_a_job_with_progress(app, api):
    rows = [{"phone": f"+1415555{n:04d}", "consent": "yes"} for n in range(1200)]
    response = upload(api, csv_text(rows, ["phone", "consent"]))
    assert response.status_code == 202
    transfer_id = response.get_json()["id"]
    drain_if_async(app)
    body = api.get(f"/api/contacts/imports/{transfer_id}").get_json()
    assert body["status"] == "completed"
    assert (body["processed_rows"], body["created_count"], body["error_count"]) == (1200, 1200, 0)


def test_an_interrupted_import_resumes_after_the_last_committed_batch(api, shop, monkeypatch):
    rows = [{"phone": f"+1415555{n:04d}", "consent": "yes"} for n in range(2500)]
    transfer = contact_transfers.start_import(
        shop=shop, stream=io.BytesIO(csv_text(rows, ["phone", "consent"]).encode()), filename="big.csv"
    )
    monkeypatch.setattr(csv_import, "BATCH_ROWS", 1000)  # three batches
    original = csv_import._import_batch
    monkeypatch.setattr(csv_import, "_import_batch", crash_on_second_batch())
    with pytest.raises(RuntimeError):
        contact_transfers.run_import(transfer_id=transfer.id, last_attempt=False)  # RQ retries it
    db.session.rollback()
    monkeypatch.setattr(csv_import, "_import_batch", original)
    done = contact_transfers.run_import(transfer_id=transfer.id)
    assert (done.processed_rows, done.created_count, done.error_count) == (2500, 2500, 0)
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 2500


def test_the_stored_upload_is_encrypted(api):
    upload(api, "phone,first_name\n+14155550101,Adaline\n")
    for chunk in db.session.scalars(select(TransferChunk)):
        assert "Adaline" not in chunk.ciphertext
        assert "4155550101" not in chunk.ciphertext


def test_import_without_a_file_is_400(api):
    assert api.post("/api/contacts/imports", data={}, content_type="multipart/form-data").status_code == 400


def test_import_over_50_megabytes_is_413(api):
    big = b"phone\n" + b"+14155550101\n" * (50 * 1024 * 1024 // 13 + 10)
    response = api.post(
        "/api/contacts/imports",
        data={"consent_attestation": "true", "file": (io.BytesIO(big), "big.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413


def test_export_builds_a_csv_with_the_filters(app, api):
    api.post(
        "/api/contacts",
        json={
            "phone": "+14155550101",
            "first_name": "Ada",
            "consent_state": "subscribed",
            "consent_text": "ok",
            "tags": ["vip"],
        },
    )
    api.post("/api/contacts", json={"phone": "+14155550102", "first_name": "Bob"})
    response = api.post("/api/contacts/exports?consent_state=subscribed")
    assert response.status_code == 202
    export_id = response.get_json()["id"]
    drain_if_async(app)
    assert api.get(f"/api/contacts/exports/{export_id}").get_json()["status"] == "completed"
    download = api.get(f"/api/contacts/exports/{export_id}/download")
    assert download.status_code == 200
    assert download.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    assert [(r["phone"], r["first_name"], r["tags"]) for r in rows] == [("+14155550101", "Ada", "vip")]


def test_another_shops_imports_and_exports_are_404(app, api, other_api):
    import_id = upload(api, "phone\n+14155550101\n").get_json()["id"]
    export_id = api.post("/api/contacts/exports").get_json()["id"]
    drain_if_async(app)
    assert other_api.get(f"/api/contacts/imports/{import_id}").status_code == 404
    assert other_api.get(f"/api/contacts/exports/{export_id}").status_code == 404
    assert other_api.get(f"/api/contacts/exports/{export_id}/download").status_code == 404
    assert other_api.get(f"/api/contacts/exports/{import_id}").status_code == 404  # kinds don't mix either


def test_old_mac_line_endings_import_and_broken_csv_fails_the_import_not_the_server(app, api):
    import io

    old_mac = b"phone,consent\r+14155550101,yes\r+14155550102,yes\r"
    response = api.post(
        "/api/contacts/imports",
        data={"consent_attestation": "true", "file": (io.BytesIO(old_mac), "mac.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201
    assert response.get_json()["created_count"] == 2
    stray = b'phone\n+14155550103\r"x"y"\n'
    broken = api.post(
        "/api/contacts/imports",
        data={"consent_attestation": "true", "file": (io.BytesIO(stray), "x.csv")},
        content_type="multipart/form-data",
    )
    assert broken.status_code in (200, 201)


def test_an_export_downloads_whole_outside_any_outer_app_context(make_app):
    """As in production: each request pushes and pops its own app context, so the streamed CSV
    is produced after the view returned (and the request's session is gone)."""
    from .conftest import ApiClient, install_shop

    app = make_app(QUEUE_ASYNC=False)
    with app.app_context():
        domain = install_shop("alpha.myshopify.com").domain
    api = ApiClient(app.test_client(), domain)
    for n in range(3):
        contact = {
            "phone": f"+1415555010{n}",
            "first_name": f"P{n}",
            "consent_state": "subscribed",
            "consent_text": "ok",
        }
        assert api.post("/api/contacts", json=contact).status_code == 201
    export_id = api.post("/api/contacts/exports?consent_state=subscribed").get_json()["id"]
    download = api.get(f"/api/contacts/exports/{export_id}/download")
    assert download.status_code == 200
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    assert sorted(r["first_name"] for r in rows) == ["P0", "P1", "P2"]


def test_an_export_filtered_by_phone_leaves_the_number_nowhere_in_redis(app, api):
    api.post("/api/contacts", json={"phone": "+14155550101", "first_name": "Ada"})
    api.post("/api/contacts", json={"phone": "+14155550102", "first_name": "Bob"})
    response = api.post("/api/contacts/exports?phone=%2B14155550101")
    assert response.status_code == 202
    export_id = response.get_json()["id"]
    stored = redis_contents(redis_ext.client())  # the job is in Redis (queued, or run and kept)
    assert b"4155550101" not in stored
    assert b"rq:job:" in stored
    drain_if_async(app)
    rows = list(
        csv.DictReader(io.StringIO(api.get(f"/api/contacts/exports/{export_id}/download").get_data(as_text=True)))
    )
    assert [row["phone"] for row in rows] == ["+14155550101"]  # the filter reached the job
    assert b"4155550101" not in redis_contents(redis_ext.client())
    transfer = db.session.get(ContactTransfer, export_id)
    db.session.refresh(transfer)
    assert transfer.filters_ciphertext is None  # done: the filter is not kept


def test_an_export_filter_waits_sealed_in_its_row(app, api, shop):
    transfer = contact_transfers.start_export(shop=shop, query={"phone": "+14155550101", "tag": "vip"})
    assert "4155550101" not in transfer.filters_ciphertext
    assert json.loads(transfer.filters) == {"phone": "+14155550101", "tag": "vip"}


def test_an_export_job_enqueued_by_an_earlier_release_still_applies_its_filter(app, api, shop):
    api.post("/api/contacts", json={"phone": "+14155550101", "first_name": "Ada"})
    api.post("/api/contacts", json={"phone": "+14155550102", "first_name": "Bob"})
    transfer = contact_transfers.start_export(shop=shop, query={})
    done = contact_transfers.run_export(transfer_id=transfer.id, legacy_query={"phone": "+14155550102"})
    assert done.processed_rows == 1


def test_a_nul_byte_in_a_row_is_that_rows_error_and_the_others_import(api):
    text = (
        "phone,first_name,tags,consent_text\n"
        "+14155550101,Ada,vip,ok\n"
        "+14155550102,Bob,a\x00b,ok\n"
        "+14155550103,Cy,,o\x00k\n"
        "+14155550104,Di,,ok\n"
    )
    response = upload(api, text)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "completed"
    assert (body["processed_rows"], body["created_count"]) == (4, 2)
    assert [(e["row"], e["field"]) for e in body["errors"] if e["field"] != "consent"] == [
        (3, "tags"),
        (4, "consent_text"),
    ]
    assert sorted(c["first_name"] for c in api.get("/api/contacts").get_json()["items"]) == ["Ada", "Di"]


def test_a_nul_byte_in_the_file_name_is_a_400_naming_the_problem(api):
    response = upload(api, "phone\n+14155550101\n", filename="con\x00tacts.csv")
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["details"] == {"location": "form", "reason": "nul"}
    assert api.get("/api/contacts").get_json()["items"] == []


def _stored_import(shop, rows: int = 1200):
    text = csv_text([{"phone": f"+1415555{n:04d}", "consent": "yes"} for n in range(rows)], ["phone", "consent"])
    return contact_transfers.start_import(shop=shop, stream=io.BytesIO(text.encode()), filename="big.csv")


def chunks_of(transfer_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(TransferChunk).where(TransferChunk.transfer_id == transfer_id)
    )


def test_an_import_job_that_raises_on_its_last_attempt_ends_failed_and_retention_purges_its_file(
    app, shop, monkeypatch
):
    from jobs.contacts import run_import
    from shopify_app.models import ContactTransfer
    from shopify_app.services.privacy.privacy import apply_retention

    transfer = _stored_import(shop)
    monkeypatch.setattr(csv_import, "BATCH_ROWS", 1000)  # two batches
    # A message that must not be stored:
    monkeypatch.setattr(csv_import, "_import_batch", crash_on_second_batch("+14155550001 broke it"))
    with pytest.raises(RuntimeError):
        run_import(transfer.id)  # called directly: no RQ retry is left
    db.session.expire_all()
    failed = db.session.get(ContactTransfer, transfer.id)
    assert failed.status == "failed"
    assert "RuntimeError" in failed.failure
    assert "4155550001" not in failed.failure
    assert failed.finished_at is not None
    db.session.add(TransferChunk(transfer_id=transfer.id, seq=99, shop_id=shop.id, ciphertext="left by a crash"))
    db.session.commit()
    assert apply_retention()["import_files"] >= 1
    assert chunks_of(transfer.id) == 0


def test_an_import_job_that_raises_with_retries_left_stays_resumable(app, shop, monkeypatch):
    from shopify_app.models import ContactTransfer

    transfer = _stored_import(shop)
    monkeypatch.setattr(csv_import, "_import_batch", lambda *a, **k: (_ for _ in ()).throw(RuntimeError()))
    with pytest.raises(RuntimeError):
        contact_transfers.run_import(transfer_id=transfer.id, last_attempt=False)
    db.session.expire_all()
    assert db.session.get(ContactTransfer, transfer.id).status == "running"
    assert chunks_of(transfer.id) > 0


def test_housekeeping_fails_an_import_stalled_past_its_deadline_and_drops_its_file(app, shop):
    from jobs.housekeeping import fail_stalled_transfers
    from shopify_app.models import ContactTransfer, TransferStatus
    from shopify_app.models.types import utcnow

    stalled, recent = _stored_import(shop, rows=3), _stored_import(shop, rows=3)
    stalled.status = recent.status = TransferStatus.RUNNING
    stalled.created_at = utcnow() - contact_transfers.stall_deadline() - timedelta(minutes=1)
    db.session.commit()
    assert fail_stalled_transfers() == 1
    db.session.expire_all()
    failed = db.session.get(ContactTransfer, stalled.id)
    assert (failed.status, failed.failure) == ("failed", "stalled")
    assert chunks_of(stalled.id) == 0
    assert db.session.get(ContactTransfer, recent.id).status == "running"
    assert chunks_of(recent.id) > 0


def test_retention_purges_the_files_of_finished_imports_only(app, shop):
    from shopify_app.models import TransferStatus
    from shopify_app.services.privacy.privacy import apply_retention

    finished, queued = _stored_import(shop, rows=3), _stored_import(shop, rows=3)
    finished.status = TransferStatus.COMPLETED
    db.session.commit()
    apply_retention()
    assert chunks_of(finished.id) == 0
    assert chunks_of(queued.id) > 0


def test_an_export_escapes_spreadsheet_formulas_as_the_reports_do(app, api):
    from shopify_app.services.campaigns.reports import as_csv

    api.post(
        "/api/contacts",
        json={"phone": "+14155550101", "first_name": '=HYPERLINK("http://evil.example","x")', "tags": ["+cmd"]},
    )
    api.post("/api/contacts", json={"phone": "+14155550102", "first_name": "-2+3", "last_name": "@SUM(A1)"})
    export_id = api.post("/api/contacts/exports").get_json()["id"]
    drain_if_async(app)
    rows = list(
        csv.DictReader(io.StringIO(api.get(f"/api/contacts/exports/{export_id}/download").get_data(as_text=True)))
    )
    assert [(r["first_name"], r["last_name"], r["tags"]) for r in rows] == [
        ('\'=HYPERLINK("http://evil.example","x")', "", "'+cmd"),
        ("'-2+3", "'@SUM(A1)", ""),
    ]
    assert [r["phone"] for r in rows] == ["+14155550101", "+14155550102"]  # our E.164, re-importable
    report = as_csv({"name": "=cmd|' /C calc'!A0", "revenue": {}}, leading=("name",))
    assert report.splitlines()[1].startswith("'=cmd")


def _seen_numbers(transfer_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(ImportSeenNumber).where(ImportSeenNumber.transfer_id == transfer_id)
    )


def test_a_number_met_again_later_in_the_file_is_a_duplicate_in_any_batch(api, shop, monkeypatch):
    """Within a batch the preparing step finds it; across batches `import_seen_numbers` does
    (the job keeps no set of the file's numbers); a number that was a contact before the file
    is "already a contact". The seen numbers are gone when the import ends."""
    monkeypatch.setattr(csv_import, "BATCH_ROWS", 1000)
    assert api.post("/api/contacts", json={"phone": "+14155559999"}).status_code == 201
    rows = [{"phone": f"+1415555{n:04d}", "consent": "yes"} for n in range(2500)]
    rows[10]["phone"] = rows[9]["phone"]  # the same batch
    rows[2400]["phone"] = rows[5]["phone"]  # the third batch, the first's number
    rows[1500]["phone"] = "+14155559999"  # a contact before the import
    transfer = contact_transfers.start_import(
        shop=shop, stream=io.BytesIO(csv_text(rows, ["phone", "consent"]).encode()), filename="dups.csv"
    )
    done = contact_transfers.run_import(transfer_id=transfer.id)
    assert (done.processed_rows, done.created_count, done.error_count) == (2500, 2497, 3)
    assert [(e["row"], e["error"]) for e in done.errors] == [
        (12, "Duplicate of an earlier row."),
        (1502, "Already a contact; left unchanged."),
        (2402, "Duplicate of an earlier row."),
    ]
    assert _seen_numbers(transfer.id) == 0


def test_a_resumed_import_still_knows_the_numbers_of_its_committed_batches(api, shop, monkeypatch):
    monkeypatch.setattr(csv_import, "BATCH_ROWS", 1000)
    rows = [{"phone": f"+1415555{n:04d}", "consent": "yes"} for n in range(2500)]
    rows[2200]["phone"] = rows[3]["phone"]
    transfer = contact_transfers.start_import(
        shop=shop, stream=io.BytesIO(csv_text(rows, ["phone", "consent"]).encode()), filename="resume.csv"
    )
    original = csv_import._import_batch
    monkeypatch.setattr(csv_import, "_import_batch", crash_on_second_batch())
    with pytest.raises(RuntimeError):
        contact_transfers.run_import(transfer_id=transfer.id, last_attempt=False)
    db.session.rollback()
    assert _seen_numbers(transfer.id) == 1000  # the committed first batch's
    monkeypatch.setattr(csv_import, "_import_batch", original)
    done = contact_transfers.run_import(transfer_id=transfer.id)
    assert [(e["row"], e["error"]) for e in done.errors] == [(2202, "Duplicate of an earlier row.")]
    assert done.created_count == 2499


def test_a_failed_import_leaves_no_seen_numbers(app, shop, monkeypatch):
    monkeypatch.setattr(csv_import, "BATCH_ROWS", 1000)
    transfer = _stored_import(shop)
    monkeypatch.setattr(csv_import, "_import_batch", crash_on_second_batch())
    with pytest.raises(RuntimeError):
        contact_transfers.run_import(transfer_id=transfer.id)  # the last attempt: marked failed
    db.session.expire_all()
    assert db.session.get(ContactTransfer, transfer.id).status == "failed"
    assert _seen_numbers(transfer.id) == 0
