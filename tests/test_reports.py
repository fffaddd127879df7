"""Reports checked against hand-computed numbers; the audit log of merchant actions."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from shopify_app.extensions import db, sms_backend
from shopify_app.models import Message
from shopify_app.models.types import utcnow
from shopify_app.services.billing import credits as ledger

from .conftest import ApiClient, install_shop, settle_jobs
from .payloads import payload
from .shopify_signing import webhook_request

SECRET = "dlr-path-secret-0123456789abcdef0123456789"
PHONES = ["+14155550101", "+14155550102", "+14155550103", "+14155550104"]


@pytest.fixture
def reported(make_app):
    """4 messages: 2 delivered, 1 failed, 1 still sent; one clicked twice and bought $50; one
    opted out after the send. Returns (app, api, campaign id)."""
    app = make_app(MITTO_WEBHOOK_SECRET=SECRET, SEND_RATE_PER_ACCOUNT=0, SEND_RATE_PER_SHOP=0)
    with app.app_context():
        shop = install_shop("alpha.myshopify.com")
        ledger.grant(shop_id=shop.id, amount=100, key="grant:test")
        db.session.commit()
        api = ApiClient(app.test_client(), shop.domain)
        api.patch("/api/settings", json={"quiet_hours": None})
        ids = []
        for phone in PHONES:
            body = {"phone": phone, "consent_state": "subscribed", "consent_text": "ok"}
            ids.append(api.post("/api/contacts", json=body).get_json()["id"])
        campaign = api.post("/api/campaigns", json={"name": "Sale", "body": "Sale: https://alpha.myshopify.com/s"})
        campaign_id = campaign.get_json()["id"]
        api.post(f"/api/campaigns/{campaign_id}/launch")
        settle_jobs(app)
        messages = {m.contact_id: m for m in db.session.scalars(select(Message))}
        reports = [
            {"messageId": messages[ids[0]].provider_message_id, "deliveryStatus": "Delivered"},
            {"messageId": messages[ids[1]].provider_message_id, "deliveryStatus": "Delivered"},
            {"messageId": messages[ids[2]].provider_message_id, "deliveryStatus": "Undelivered"},
        ]
        assert app.test_client().post(f"/mitto/dlr/{SECRET}", json=reports).status_code == 202
        settle_jobs(app)
        text = next(m.text for m in sms_backend().sent if m.destination == PHONES[0])
        path = re.search(r"/r/[A-Za-z0-9_-]{8}", text).group(0)
        assert app.test_client().get(path).status_code == 302
        assert app.test_client().get(path).status_code == 302
        order = payload("orders/create", id=77, total_price="50.00", currency="USD", created_at=utcnow().isoformat())
        order["customer"] = {"id": None, "phone": PHONES[0]}
        app.test_client().post("/webhooks/shopify", **webhook_request("orders/create", order))
        settle_jobs(app)
        api.patch(f"/api/contacts/{ids[3]}", json={"consent_state": "unsubscribed"})
        yield app, api, campaign_id


EXPECTED = {
    "messages": 4,
    "sent": 4,
    "delivered": 2,
    "failed": 1,
    "delivery_rate": 0.5,
    "clicks": 2,
    "unique_clicks": 1,
    "ctr": 0.25,
    "orders": 1,
    "revenue": {"USD": "50.00"},
    "opt_outs": 1,
    "credits_spent": 4,
    "credits_per_order": 4.0,
}


def test_a_campaign_report_matches_the_hand_computed_numbers(reported):
    _app, api, campaign_id = reported
    report = api.get(f"/api/reports/campaigns/{campaign_id}").get_json()
    assert {key: report[key] for key in EXPECTED} == EXPECTED
    assert (report["campaign_id"], report["name"], report["state"]) == (campaign_id, "Sale", "completed")


def test_the_csv_export_has_the_same_numbers(reported):
    _app, api, campaign_id = reported
    response = api.get(f"/api/reports/campaigns/{campaign_id}?format=csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    [row] = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert row["delivered"] == "2"
    assert row["ctr"] == "0.25"
    assert row["revenue"] == "USD 50.00"
    assert row["credits_per_order"] == "4.0"
    assert row["name"] == "Sale"


def test_the_summary_covers_the_period(reported):
    _app, api, _campaign_id = reported
    report = api.get("/api/reports/summary").get_json()  # the last 30 days
    assert {key: report[key] for key in EXPECTED} == EXPECTED
    empty = api.get("/api/reports/summary?from=2020-01-01&to=2020-02-01").get_json()
    assert (empty["sent"], empty["orders"], empty["delivery_rate"]) == (0, 0, None)
    assert api.get("/api/reports/summary?from=2026-02-01&to=2026-01-01").status_code == 422
    assert api.get("/api/reports/summary?from=2020-01-01&to=2026-01-01").status_code == 422
    assert api.get("/api/reports/summary?format=xml").status_code == 422
    csv_body = api.get("/api/reports/summary?format=csv").get_data(as_text=True)
    assert csv_body.splitlines()[0].startswith("from,to,messages,sent")


def test_another_shops_report_is_404(reported):
    app, _api, campaign_id = reported
    other = install_shop("beta.myshopify.com")
    other_api = ApiClient(app.test_client(), other.domain)
    assert other_api.get(f"/api/reports/campaigns/{campaign_id}").status_code == 404
    assert other_api.get("/api/reports/summary").get_json()["sent"] == 0


# --- audit ----------------------------------------------------------------------------------------


def test_merchant_actions_are_audited_with_actor_request_id_and_target(reported):
    app, api, _campaign_id = reported
    campaign = api.post("/api/campaigns", json={"name": "Next", "body": "Hi"}).get_json()
    api.post(f"/api/campaigns/{campaign['id']}/launch", headers={"X-Request-ID": "req-launch-1"})
    api.patch("/api/settings", json={"frequency_cap": {"max_messages": 3, "per_days": 7}})
    api.get("/api/campaigns")  # reads are not audited
    assert api.post("/api/campaigns", json={}).status_code == 422  # failures are not audited
    entries = api.get("/api/audit?limit=200").get_json()["items"]
    actions = [e["action"] for e in entries]
    assert actions[:3] == ["update_settings", "launch_campaign", "create_campaign"]
    launch = entries[1]
    assert launch["actor"] == "user:42"
    assert launch["request_id"] == "req-launch-1"
    assert (launch["target_type"], launch["target_id"]) == ("campaign", str(campaign["id"]))
    assert "list_campaigns" not in actions
    assert "delete_contact" not in actions
    other = ApiClient(app.test_client(), install_shop("beta.myshopify.com").domain)
    assert other.get("/api/audit").get_json()["items"] == []
    page = api.get("/api/audit?limit=2").get_json()
    assert len(page["items"]) == 2
    assert page["next_cursor"]


def test_the_trigger_kept_counters_agree_with_the_messages_and_survive_compaction(reported):
    from sqlalchemy import func

    from shopify_app.models import MessageStat
    from shopify_app.services.campaigns import reports

    _app, _api, campaign_id = reported
    if db.session.connection().dialect.name != "postgresql":
        pytest.skip("the counters are kept by a PostgreSQL trigger; SQLite reports aggregate messages")
    direct = reports._by_state(Message.campaign_id == campaign_id)
    assert reports._counted(MessageStat.campaign_id == campaign_id) == direct
    deltas = db.session.scalar(select(func.count()).select_from(MessageStat))
    assert reports.compact_stats() < deltas
    assert reports._counted(MessageStat.campaign_id == campaign_id) == direct
    db.session.execute(db.delete(Message).where(Message.campaign_id == campaign_id))
    db.session.commit()
    assert reports._counted(MessageStat.campaign_id == campaign_id) == {}


def test_a_cached_summary_is_a_hit_until_a_delivery_report_changes_the_numbers(reported):
    app, api, campaign_id = reported
    first = api.get("/api/reports/summary")
    assert first.headers["X-Cache"] == "MISS"
    again = api.get("/api/reports/summary")
    assert again.headers["X-Cache"] == "HIT"
    assert again.get_json() == first.get_json()
    assert api.get("/api/reports/summary?format=csv").headers["X-Cache"] == "HIT"  # same query, other format
    assert api.get("/api/reports/summary?from=2026-01-01").headers["X-Cache"] == "MISS"  # another query
    still_sent = next(m for m in db.session.scalars(select(Message)) if m.state.value == "sent")
    report = {"messageId": still_sent.provider_message_id, "deliveryStatus": "Delivered"}
    assert app.test_client().post(f"/mitto/dlr/{SECRET}", json=report).status_code == 202
    settle_jobs(app)
    refreshed = api.get("/api/reports/summary")
    assert refreshed.headers["X-Cache"] == "MISS"
    assert refreshed.get_json()["delivered"] == first.get_json()["delivered"] + 1
    assert api.get(f"/api/reports/campaigns/{campaign_id}").headers["X-Cache"] == "MISS"
    assert api.get(f"/api/reports/campaigns/{campaign_id}").headers["X-Cache"] == "HIT"
