"""Merchant privacy tools: a customer's export (built by a job, downloadable once) and erasure,
the same as Shopify's compliance webhooks, both audited."""

from __future__ import annotations

import json

from sqlalchemy import select

from shopify_app.extensions import db
from shopify_app.models import AuditLog, Contact, PrivacyRequest

from .conftest import ApiClient, install_shop, settle_jobs

PHONE = "+14155550101"


def subscriber(api) -> int:
    body = {
        "phone": PHONE,
        "email": "ana@example.com",
        "first_name": "Ana",
        "consent_state": "subscribed",
        "consent_text": "Yes",
    }
    return api.post("/api/contacts", json=body).get_json()["id"]


def test_an_export_is_built_by_a_job_and_downloadable_once(app, api):
    subscriber(api)
    response = api.post("/api/privacy/exports", json={"phone": "(415) 555-0101"})
    assert response.status_code == 202
    request_id = response.get_json()["id"]
    settle_jobs(app)
    listed = api.get("/api/privacy/requests").get_json()["items"]
    assert listed[0]["kind"] == "merchant_export"
    assert listed[0]["summary"]["status"] == "ready"
    download = api.get(f"/api/privacy/requests/{request_id}/export")
    assert download.status_code == 200
    export = json.loads(download.get_data(as_text=True))
    assert export["contacts"][0]["phone"] == PHONE
    assert export["contacts"][0]["first_name"] == "Ana"
    again = api.get(f"/api/privacy/requests/{request_id}/export")
    assert again.status_code == 410
    assert db.session.get(PrivacyRequest, request_id).export_ciphertext is None
    actions = {(a.action, a.actor) for a in db.session.scalars(select(AuditLog))}
    assert ("request_customer_export", "user:42") in actions


def test_an_erasure_removes_the_customer_and_is_audited(app, api):
    contact_id = subscriber(api)
    response = api.post("/api/privacy/erasures", json={"email": "ana@example.com"})
    assert response.status_code == 200
    assert response.get_json()["kind"] == "merchant_erasure"
    assert response.get_json()["summary"]["contacts"] == 1
    assert db.session.get(Contact, contact_id) is None
    actions = {(a.action, a.actor) for a in db.session.scalars(select(AuditLog))}
    assert ("customer_redacted", "user:42") in actions
    assert ("erase_customer", "user:42") in actions


def test_bad_lookups_are_422_and_other_shops_exports_404(app, api):
    assert api.post("/api/privacy/exports", json={}).status_code == 422
    assert api.post("/api/privacy/exports", json={"phone": "not a phone"}).status_code == 422
    assert api.post("/api/privacy/erasures", json={"email": "nope"}).status_code == 422
    subscriber(api)
    request_id = api.post("/api/privacy/exports", json={"phone": PHONE}).get_json()["id"]
    settle_jobs(app)
    other = ApiClient(app.test_client(), install_shop("beta.myshopify.com").domain)
    assert other.get(f"/api/privacy/requests/{request_id}/export").status_code == 404
    assert api.get(f"/api/privacy/requests/{request_id}/export").status_code == 200
