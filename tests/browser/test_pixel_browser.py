"""The web pixel's own code (extensions/sms-blossom-pixel/src/index.js) run in Chromium.

A harness page on another loopback origin (the storefront's stand-in) maps the
`@shopify/web-pixels-extension` import to a stub whose `register` hands the pixel a fake
`analytics` (subscribe / publish), an async `browser.localStorage` and `init`, as Shopify's
strict sandbox does; the pixel's reports go to the live app's real `POST /pixel/events`,
cross-origin, so CORS is exercised too. Checked: the token in a landing URL is stored and
reported on later product views; a logged-in customer is reported by id; nothing is posted
without an identity; no email, phone or name ever leaves, and no query string.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Request
from sqlalchemy import select

from shopify_app.extensions import db
from shopify_app.models import ProductView
from shopify_app.security.link_tokens import make_link_token
from shopify_app.tenancy import privileged

from ..conftest import install_shop
from ..test_pixel_intake import ALPHA, CUSTOMER, add_contact, browse_flow
from .conftest import serving
from .harness import harness_of

PIXEL_SOURCE = Path(__file__).resolve().parents[2] / "extensions/sms-blossom-pixel/src/index.js"
STUB = "export function register(extension) { window.__registered = extension; }\n"
HARNESS = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Pixel harness</title>
<script type="importmap">{"imports": {"@shopify/web-pixels-extension": "/__pixel__/web-pixels-extension.js"}}</script>
<script type="module">
  import "/__pixel__/index.js";
  const handlers = {};
  const storage = new Map();
  const analytics = {subscribe(name, handler) { (handlers[name] ||= []).push(handler); }};
  const browser = {localStorage: {
    getItem: async (key) => (storage.has(key) ? storage.get(key) : null),
    setItem: async (key, value) => { storage.set(key, String(value)); },
  }};
  window.storageOf = (key) => storage.get(key) ?? null;
  window.startPixel = (init, settings) => window.__registered({analytics, browser, init, settings});
  // As Shopify's event bus: the event's own subscribers and the all_events ones; done when all are.
  window.publish = (event) =>
    Promise.all([...(handlers[event.name] || []), ...(handlers.all_events || [])].map((handler) => handler(event)));
  window.harnessReady = true;
</script></head><body><main><h1>Pixel harness</h1></main></body></html>"""
REPORT_FIELDS = {"event_id", "occurred_at", "shop", "product_id", "variant_id", "product_title", "url_path"}
REPORT_FIELDS |= {"customer_id", "token"}
PII = {"email": "alice@example.com", "phone": "+14155550101", "firstName": "Alice", "lastName": "Liddell"}


def product_viewed(event_id: str, href: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "name": "product_viewed",
        "timestamp": "2026-12-07T12:00:00.000Z",
        "context": {"document": {"location": {"href": href}}},
        "data": {
            "productVariant": {
                "id": "222",
                "title": "Default",
                "product": {"id": "111", "title": "Blue mug", "url": "/products/blue-mug"},
            }
        },
    }


def page_viewed(event_id: str, href: str) -> dict[str, Any]:
    return {"id": event_id, "name": "page_viewed", "timestamp": "2026-12-07T12:00:00.000Z",
            "context": {"document": {"location": {"href": href}}}, "data": {}}  # fmt: skip


@pytest.fixture
def storefront_origin() -> Iterator[str]:
    """The storefront's stand-in: a loopback server of its own (another origin than the app's,
    and a real one: Chromium keeps a page answered by a route out of the loopback space)."""
    files = {
        "/__pixel__/harness": (HARNESS, "text/html"),
        "/__pixel__/index.js": (PIXEL_SOURCE.read_text(encoding="utf-8"), "text/javascript"),
        "/__pixel__/web-pixels-extension.js": (STUB, "text/javascript"),
    }

    def wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body, content_type = files.get(environ["PATH_INFO"], ("not here", "text/plain"))
        status = "200 OK" if environ["PATH_INFO"] in files else "404 Not Found"
        start_response(status, [("Content-Type", f"{content_type}; charset=utf-8")])
        return [body.encode()]

    with serving(wsgi) as url:
        yield url


@pytest.fixture
def storefront(app, page: Page, storefront_origin: str) -> dict[str, Any]:
    """The shop, its browse flow and a contact who is customer CUSTOMER; the harness page open."""
    shop = install_shop(ALPHA)
    browse_flow(shop)
    contact = add_contact(ALPHA, PII["phone"], customer_id=CUSTOMER)
    base = harness_of(page).base_url
    page.goto(storefront_origin + "/__pixel__/harness")
    page.wait_for_function("window.harnessReady === true")
    reports: list[Request] = []
    page.on("request", lambda request: reports.append(request) if request.url.endswith("/pixel/events") else None)
    return {"shop": shop, "contact": contact, "endpoint": f"{base}/pixel/events", "page": page, "reports": reports}


def start(storefront: dict[str, Any], *, customer: dict[str, Any] | None = None) -> None:
    init = {"data": {"customer": customer}} if customer else {"data": {"customer": None}}
    settings = {"endpoint": storefront["endpoint"], "shopDomain": ALPHA}
    storefront["page"].evaluate("([init, settings]) => window.startPixel(init, settings)", [init, settings])


def publish(storefront: dict[str, Any], event: dict[str, Any]) -> None:
    storefront["page"].evaluate("(event) => window.publish(event)", event)


def posted(storefront: dict[str, Any]) -> list[dict[str, Any]]:
    bodies = []
    for request in storefront["reports"]:
        if request.method == "POST":
            response = request.response()
            assert response is not None
            assert response.status == 204
            bodies.append(json.loads(request.post_data or "{}"))
    return bodies


def stored() -> list[ProductView]:
    db.session.rollback()  # the live server committed in its own thread
    with privileged():
        return list(db.session.scalars(select(ProductView)))


def test_a_token_from_the_landing_url_is_kept_and_reported_with_later_product_views(storefront):
    token = make_link_token("browse", contact_id=storefront["contact"], shop_id=storefront["shop"].id)
    start(storefront)
    publish(storefront, page_viewed("p1", f"https://{ALPHA}/collections/sale?sb_t={token}&utm_source=sms"))
    assert storefront["page"].evaluate("() => window.storageOf('sms_blossom_browse_token')") == token
    assert posted(storefront) == []  # a page view is not a product view

    publish(storefront, product_viewed("v1", f"https://{ALPHA}/products/blue-mug?variant=222"))
    [report] = posted(storefront)
    assert report == {
        "event_id": "v1",
        "occurred_at": "2026-12-07T12:00:00.000Z",
        "shop": ALPHA,
        "product_id": "111",
        "variant_id": "222",
        "product_title": "Blue mug",
        "url_path": "/products/blue-mug",
        "token": token,
    }
    [view] = stored()
    assert (view.contact_id, view.product_id, view.url_path) == (storefront["contact"], 111, "/products/blue-mug")


def test_a_product_page_that_is_the_landing_page_reports_its_own_token(storefront):
    token = make_link_token("browse", contact_id=storefront["contact"], shop_id=storefront["shop"].id)
    start(storefront)
    publish(storefront, product_viewed("v1", f"https://{ALPHA}/products/blue-mug?sb_t={token}"))
    [report] = posted(storefront)
    assert report["token"] == token
    assert report["url_path"] == "/products/blue-mug"


def test_a_logged_in_customer_is_reported_by_id_and_nothing_personal(storefront):
    start(storefront, customer={"id": str(CUSTOMER), **PII})
    publish(storefront, product_viewed("v1", f"https://{ALPHA}/products/blue-mug"))
    [report] = posted(storefront)
    assert report["customer_id"] == str(CUSTOMER)
    assert "token" not in report
    text = json.dumps(report)
    for value in PII.values():
        assert value not in text
    assert set(report) <= REPORT_FIELDS
    assert [view.contact_id for view in stored()] == [storefront["contact"]]


def test_without_an_identity_nothing_is_posted(storefront):
    start(storefront)
    publish(storefront, page_viewed("p1", f"https://{ALPHA}/?utm_source=ads"))
    publish(storefront, product_viewed("v1", f"https://{ALPHA}/products/blue-mug"))
    assert storefront["reports"] == []
    assert stored() == []
