"""Helpers for the Shopify Flow tests: requests signed the way Flow signs them (the webhook
scheme: base64 HMAC-SHA256 of the raw body with the app secret), a shop with a Shopify customer
linked to a contact, and the app wired to the loopback fake Admin API."""

from __future__ import annotations

import json
import tomllib
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from shopify_app.extensions import db
from shopify_app.models import Contact
from shopify_app.security.hmac import sign_webhook

from .conftest import TEST_API_SECRET, open_shop

SHOP = "alpha.myshopify.com"
EXTENSIONS = Path(__file__).resolve().parent.parent / "extensions"
LIFECYCLE = "/shopify-flow/lifecycle"
SEND_SMS = "/shopify-flow/actions/send-sms"
ADD_TAG = "/shopify-flow/actions/add-subscriber-tag"


def extension_tomls() -> dict[str, dict[str, Any]]:
    """Every Flow extension's parsed shopify.extension.toml, by directory name."""
    return {
        path.parent.name: tomllib.loads(path.read_text(encoding="utf-8"))
        for path in sorted(EXTENSIONS.glob("flow-*/shopify.extension.toml"))
    }


def trigger_handles() -> set[str]:
    return {
        extension["handle"]
        for config in extension_tomls().values()
        for extension in config["extensions"]
        if extension["type"] == "flow_trigger"
    }


def signed(payload: Any, *, secret: str = TEST_API_SECRET, body: bytes | None = None) -> dict[str, Any]:
    """kwargs for `client.post(path, **...)` as Flow sends them."""
    raw = body if body is not None else json.dumps(payload).encode()
    headers = {"X-Shopify-Hmac-SHA256": sign_webhook(raw, secret)}
    return {"data": raw, "content_type": "application/json", "headers": headers}


def lifecycle_body(handle: str, enabled: bool, *, shop: str = SHOP, timestamp: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "flow_trigger_definition_id": handle,
        "has_enabled_flow": enabled,
        "shop_id": 690933842,
        "shopify_domain": shop,
    }
    if timestamp is not None:
        body["timestamp"] = timestamp
    return body


def action_body(properties: dict[str, Any], *, shop: str = SHOP, run_id: str | None = None, handle: str = "send-sms"):
    return {
        "shop_id": 690933842,
        "shopify_domain": shop,
        "action_run_id": run_id or str(uuid.uuid4()),
        "action_definition_id": handle,
        "handle": handle,
        "properties": properties,
    }


def link_customer(api: Any, phone: str, customer_id: int, *, subscribed: bool = True) -> Contact:
    """A contact for `phone` linked to Shopify customer `customer_id` (subscribed or not)."""
    body: dict[str, Any] = {"phone": phone, "first_name": "Ana"}
    if subscribed:
        body |= {"consent_state": "subscribed", "consent_text": "Texts please."}
    assert api.post("/api/contacts", json=body).status_code == 201
    db.session.expire_all()
    contact = db.session.scalars(select(Contact).order_by(Contact.id.desc())).first()
    assert contact is not None
    contact.shopify_customer_id = customer_id
    db.session.commit()
    return contact


@pytest.fixture
def flow(make_app, fake_shopify):
    """(app, api, shop) with credits, quiet hours off, the fake Admin API and Flow's handles."""
    fake_shopify.flow_trigger_handles = trigger_handles()
    app = make_app(SHOPIFY_ADMIN_BASE_URL=fake_shopify.admin_base_url, SEND_RATE_PER_ACCOUNT=0, SEND_RATE_PER_SHOP=0)
    with app.app_context():
        api, shop = open_shop(app, SHOP, credits=50, fake_shopify=fake_shopify)
        yield app, api, shop
