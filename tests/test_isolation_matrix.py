"""Tenant isolation, generated from the URL map: every /api route and method, called with shop B's
session token and shop A's ids, answers 404 and changes nothing of A's; every listing B can
read shows nothing of A's. A new route with an id it does not know fails here until the
fixture below gives shop A one: no route escapes the matrix."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from sqlalchemy import select

from shopify_app.extensions import db
from shopify_app.models import (
    BackfillStatus,
    ContactTransfer,
    Discount,
    FlowRunStep,
    InboundMessage,
    OrderBackfill,
    Shop,
    TransferKind,
)
from shopify_app.models.types import utcnow
from shopify_app.services.billing import credits as ledger
from shopify_app.services.flows import runs as flow_runs
from shopify_app.services.privacy import privacy

from .conftest import ApiClient, install_shop, settle_jobs
from .images import small_png

MARKER = "ALPHAMARKER"
PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def seed_alpha(app) -> dict[str, Any]:
    """Shop A with a row behind every kind of id the API takes; returns {url parameter: value}."""
    shop = install_shop("alpha.myshopify.com", name=f"Alpha {MARKER}")
    ledger.grant(shop_id=shop.id, amount=100, key="grant:test")
    db.session.commit()
    api = ApiClient(app.test_client(), shop.domain)
    api.patch("/api/settings", json={"quiet_hours": None})
    contact = api.post(
        "/api/contacts",
        json={"phone": "+14155550101", "first_name": MARKER, "consent_state": "subscribed", "consent_text": "ok"},
    ).get_json()
    api.post(f"/api/contacts/{contact['id']}/tags", json={"tags": ["alphatag"]})
    segment = api.post("/api/segments", json={"name": f"{MARKER} segment", "filters": {"tags_any": ["alphatag"]}})
    template = api.post("/api/templates", json={"name": f"{MARKER} template", "body": f"Hi {MARKER}"})
    sent = api.post("/api/campaigns", json={"name": f"{MARKER} sent", "body": f"Hello {MARKER}"}).get_json()
    api.post(f"/api/campaigns/{sent['id']}/launch")
    settle_jobs(app)
    draft = api.post("/api/campaigns", json={"name": f"{MARKER} draft", "body": "Draft"}).get_json()
    ab_test = {"variants": [{"body": "Draft"}, {"body": f"Draft {MARKER}"}], "test_share": 20, "metric": "clicks"}
    api.put(f"/api/campaigns/{draft['id']}/ab-test", json={**ab_test, "wait_hours": 4, "decision": "auto"})
    automation = api.get("/api/automations").get_json()["items"][0]
    export = api.post("/api/contacts/exports").get_json()
    settle_jobs(app)
    upload = {"consent_attestation": "true", "file": (io.BytesIO(b"phone,consent\n+14155550102,yes\n"), "contacts.csv")}
    imported = api.post("/api/contacts/imports", data=upload, content_type="multipart/form-data").get_json()
    media = api.post("/api/media", data={"file": (io.BytesIO(small_png()), "a.png")}).get_json()
    discount = Discount(
        shop_id=shop.id, title=f"{MARKER} discount", kind="shared", code="ALPHA10", value_type="percentage", value=10
    )
    db.session.add(discount)
    # An import of Shopify's subscribers (GET /api/contacts/shopify-import answers the newest).
    db.session.add(ContactTransfer(shop_id=shop.id, kind=TransferKind.SHOPIFY_IMPORT, filename=f"{MARKER} Shopify"))
    # A finished pull of past orders (GET /api/segments/order-backfill answers the newest).
    db.session.add(
        OrderBackfill(shop_id=shop.id, status=BackfillStatus.COMPLETED, created_from=utcnow(), created_to=utcnow())
    )
    db.session.add(InboundMessage(shop_id=shop.id, contact_id=contact["id"], outcome="stored", received_at=utcnow()))
    request = privacy.data_request(
        shop=shop, payload={"customer": {"phone": "+14155550101"}, "data_request": {"id": 1}}
    )
    db.session.commit()
    # A flow with a run that took a step (GET /api/flows/<id>/runs/<run_id>, its report).
    flow_steps = [{"id": "hi", "type": "send", "body": f"Hi {MARKER}"}]
    flow = api.post("/api/flows", json={"name": f"{MARKER} flow", "trigger": "welcome", "steps": flow_steps}).get_json()
    api.patch(f"/api/flows/{flow['id']}", json={"enabled": True})
    [run_id] = flow_runs.start_flows(shop_id=shop.id, trigger="welcome", contact_id=contact["id"], key="seed")
    db.session.add(FlowRunStep(shop_id=shop.id, run_id=run_id, step_id="hi", step_type="send", outcome="skipped"))
    db.session.commit()
    return {
        "flow_id": flow["id"],
        "run_id": run_id,
        "contact_id": contact["id"],
        "segment_id": segment.get_json()["id"],
        "template_id": template.get_json()["id"],
        "campaign_id": {"default": draft["id"], "sent": sent["id"]},
        "automation_id": automation["id"],
        "transfer_id": {"exports": export["id"], "default": imported["id"]},
        "discount_id": discount.id,
        "request_id": request.id,
        "media_id": media["id"],
        "tag": "alphatag",
    }


def snapshot(shop_id: int) -> list[str]:
    """Every row of every shop-scoped table that belongs to the shop, as text."""
    db.session.expire_all()
    rows = []
    for table in db.metadata.sorted_tables:
        if "shop_id" in table.c:
            for row in db.session.execute(select(table).where(table.c.shop_id == shop_id).order_by(*table.primary_key)):
                rows.append(f"{table.name}:{tuple(row)}")
    shop = db.session.get(Shop, shop_id)
    rows.append(f"shop:{shop.settings}:{shop.name}")
    return rows


def value_for(ids: dict[str, Any], name: str, rule: str) -> Any:
    if name not in ids:
        pytest.fail(f"{rule}: give shop A a row for <{name}> in seed_alpha (the matrix must cover every route)")
    value = ids[name]
    if isinstance(value, dict):
        return next((v for key, v in value.items() if key in rule), value["default"])
    return value


def api_routes(app) -> list[tuple[str, str]]:
    return sorted(
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    )


@pytest.fixture
def two_shops(make_app):
    app = make_app(SEND_RATE_PER_ACCOUNT=0, SEND_RATE_PER_SHOP=0)
    with app.app_context():
        ids = seed_alpha(app)
        alpha = db.session.scalar(select(Shop).where(Shop.domain == "alpha.myshopify.com"))
        beta = ApiClient(app.test_client(), install_shop("beta.myshopify.com").domain)
        yield app, ids, alpha.id, beta


def test_every_route_with_an_id_is_404_for_another_shop_and_changes_nothing(two_shops):
    app, ids, alpha_id, beta = two_shops
    before = snapshot(alpha_id)
    covered, wrong = 0, []
    for rule, method in api_routes(app):
        if not PARAM.search(rule):
            continue
        url = PARAM.sub(lambda m, rule=rule: str(value_for(ids, m.group(2), rule)), rule)
        response = getattr(beta, method.lower())(url, **({"json": {}} if method in ("POST", "PATCH", "PUT") else {}))
        covered += 1
        if response.status_code != 404:
            wrong.append(f"{method} {rule} -> {response.status_code}")
    assert wrong == []
    assert covered >= 30
    assert snapshot(alpha_id) == before


def test_no_listing_shows_another_shops_rows(two_shops):
    app, _ids, alpha_id, beta = two_shops
    before = snapshot(alpha_id)
    listed = 0
    for rule, method in api_routes(app):
        if method != "GET" or PARAM.search(rule):
            continue
        response = beta.get(rule)
        assert response.status_code in (200, 204), rule  # 204: B has none (its Shopify import)
        body = response.get_data()  # bytes: some answers are images (the join page's QR code)
        assert MARKER.encode() not in body, rule
        assert b"4155550101" not in body, rule
        listed += 1
    assert listed >= 12
    assert snapshot(alpha_id) == before
