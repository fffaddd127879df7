"""`POST /pixel/events` (services/pixel/intake.py): unsigned reports from the web pixel are stored
only for a contact of the shop, named by a logged-in customer id the shop's contacts know or by
a browse token signed for that shop; every other report is answered the same way and stores
nothing. Validated, size-capped, rate limited per shop and per shopper, deduplicated on the
pixel's event id, CORS for the sandbox, and nothing identifying in the logs."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import select
from structlog.testing import capture_logs

from shopify_app.extensions import db
from shopify_app.models import ConsentState, Contact, Flow, ProductView
from shopify_app.models.types import utcnow
from shopify_app.security.link_tokens import make_link_token
from shopify_app.services.flows import versions
from shopify_app.tenancy import privileged

from .conftest import ApiClient, install_shop

ALPHA, BETA = "alpha.myshopify.com", "beta.myshopify.com"
CUSTOMER = 7010001


def add_contact(domain: str, phone: str, *, customer_id: int | None = None) -> int:
    api = ApiClient(current_app.test_client(), domain)
    body = {"phone": phone, "consent_state": "subscribed", "consent_text": "ok"}
    response = api.post("/api/contacts", json=body)
    assert response.status_code == 201, response.get_json()
    contact_id = int(response.get_json()["id"])
    with privileged():
        db.session.get(Contact, contact_id).shopify_customer_id = customer_id
        db.session.commit()
    return contact_id


BROWSE_STEPS = [{"id": "nudge", "type": "send", "body": "Still thinking about {{product_title}}? {{product_url}}"}]


def browse_flow(shop, *, window_minutes: int = 60, enabled: bool = True):
    """A browse-abandonment flow of `shop` (services/flows/versions.py), on unless told."""
    data = {"name": "Browse", "trigger": "browsed_product", "trigger_config": {"window_minutes": window_minutes}}
    flow = versions.create_flow(shop=shop, data={**data, "steps": BROWSE_STEPS})
    if enabled:
        versions.update_flow(shop=shop, flow_id=flow.id, data={"enabled": True})
    return flow


@pytest.fixture
def shops(app):
    alpha, beta = install_shop(ALPHA), install_shop(BETA)
    browse_flow(alpha)
    browse_flow(beta)
    alice = add_contact(ALPHA, "+14155550101", customer_id=CUSTOMER)
    bob = add_contact(BETA, "+14155550102")
    return {"alpha": alpha, "beta": beta, "alice": alice, "bob": bob}


def report(**changes) -> dict:
    body = {
        "event_id": "evt-1",
        "occurred_at": utcnow().isoformat(),
        "shop": ALPHA,
        "product_id": "gid://shopify/Product/111",
        "variant_id": "222",
        "product_title": "Blue mug",
        "url_path": "/products/blue-mug",
        "customer_id": str(CUSTOMER),
    }
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}


def post(client, body, *, content_type: str = "text/plain;charset=UTF-8", raw: bytes | None = None):
    data = raw if raw is not None else json.dumps(body).encode()
    return client.post("/pixel/events", data=data, headers={"Content-Type": content_type, "Origin": "null"})


def views() -> list[ProductView]:
    with privileged():
        return list(db.session.scalars(select(ProductView).order_by(ProductView.id)))


def test_a_logged_in_customer_who_is_a_contact_has_the_view_stored(client, shops):
    response = post(client, report(url_path="/products/blue-mug?variant=222&utm_source=sms"))
    assert response.status_code == 204
    [view] = views()
    assert (view.shop_id, view.contact_id) == (shops["alpha"].id, shops["alice"])
    assert (view.product_id, view.variant_id, view.product_title) == (111, 222, "Blue mug")
    assert view.url_path == "/products/blue-mug"  # never the query
    assert view.triggered_at is None


def test_a_browse_token_of_this_shop_names_its_contact(client, shops):
    token = make_link_token("browse", contact_id=shops["alice"], shop_id=shops["alpha"].id)
    assert post(client, report(customer_id=None, token=token), content_type="application/json").status_code == 204
    assert [view.contact_id for view in views()] == [shops["alice"]]


def test_another_shops_token_is_refused_and_says_nothing(client, shops):
    foreign = make_link_token("browse", contact_id=shops["bob"], shop_id=shops["beta"].id)
    stolen = make_link_token("browse", contact_id=shops["bob"], shop_id=shops["alpha"].id)  # alpha has no bob
    for token in (foreign, stolen, foreign[:-2] + "xx", make_link_token("unsubscribe", contact_id=1, shop_id=1)):
        response = post(client, report(customer_id=None, token=token, event_id=f"e{len(token)}"))
        assert (response.status_code, response.data) == (204, b"")
    assert views() == []


def test_unknown_customers_and_no_identity_store_nothing_and_answer_alike(client, shops):
    answers = {
        post(client, report(customer_id="999")).status_code,
        post(client, report(customer_id=None, event_id="e2")).status_code,
        post(client, report(shop=BETA, event_id="e3")).status_code,  # alice's customer id is alpha's
    }
    assert answers == {204}
    assert views() == []


def test_a_shop_without_a_browse_flow_on_keeps_no_views(client, shops):
    with privileged():
        for flow in db.session.scalars(select(Flow).where(Flow.shop_id == shops["alpha"].id)):
            versions.update_flow(shop=shops["alpha"], flow_id=flow.id, data={"enabled": False})
    assert post(client, report()).status_code == 204
    assert views() == []


def test_an_unsubscribed_contact_is_not_tracked(client, shops):
    with privileged():
        db.session.get(Contact, shops["alice"]).consent_state = ConsentState.UNSUBSCRIBED
        db.session.commit()
    assert post(client, report()).status_code == 204
    assert views() == []


def test_the_same_event_twice_is_stored_once(client, shops):
    assert post(client, report()).status_code == 204
    assert post(client, report()).status_code == 204
    assert post(client, report(event_id="evt-2")).status_code == 204
    assert [view.event_id for view in views()] == ["evt-1", "evt-2"]


def test_a_backdated_report_is_dated_when_it_arrived_at_the_earliest(client, shops):
    post(client, report(occurred_at=(utcnow() - timedelta(days=3)).isoformat()))
    [view] = views()
    assert utcnow() - view.viewed_at < timedelta(minutes=16)


def test_unknown_or_uninstalled_shops_are_404(client, shops):
    assert post(client, report(shop="nobody.myshopify.com")).status_code == 404
    with privileged():
        shops["alpha"].uninstalled_at = utcnow()
        db.session.commit()
    response = post(client, report())
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "shop_not_found"


@pytest.mark.parametrize(
    "changes",
    [
        {"product_id": None},
        {"product_id": "gid://shopify/Product/abc"},
        {"event_id": "x" * 65},
        {"occurred_at": "yesterday"},
        {"url_path": "https://alpha.myshopify.com/products/mug"},
        {"email": "alice@example.com"},  # no personal data, even if a pixel sent it
        {"phone": "+14155550101"},
    ],
)
def test_an_invalid_report_is_422_in_the_error_shape(client, shops, changes):
    response = post(client, report(**changes))
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_failed"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert views() == []


def test_a_body_that_is_not_a_json_object_is_400_and_a_big_one_413(client, shops):
    assert post(client, None, raw=b"not json").status_code == 400
    assert post(client, None, raw=b"[1, 2]").get_json()["error"]["code"] == "invalid_json"
    big = post(client, report(product_title="x" * 5000))
    assert big.status_code == 413


def test_cors_preflight_and_answers_allow_the_sandbox_without_cookies(client, shops):
    asking = {"Origin": "null", "Access-Control-Request-Method": "POST"}
    asking["Access-Control-Request-Headers"] = "content-type"
    preflight = client.options("/pixel/events", headers=asking)
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in preflight.headers["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in preflight.headers
    answer = post(client, report())
    assert "Set-Cookie" not in answer.headers
    assert answer.headers["Access-Control-Allow-Origin"] == "*"


def test_a_shopper_over_the_limit_gets_429_with_retry_after(make_app):
    app = make_app(PIXEL_RATE_PER_VISITOR=2)
    with app.app_context():
        browse_flow(install_shop(ALPHA))
        add_contact(ALPHA, "+14155550101", customer_id=CUSTOMER)
        client = app.test_client()
        assert [post(client, report(event_id=f"e{n}")).status_code for n in range(3)] == [204, 204, 429]
        limited = post(client, report(event_id="e9"))
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1
        assert limited.headers["Access-Control-Expose-Headers"].startswith("Retry-After")
        assert limited.get_json()["error"]["details"]["scope"] == "visitor"
        # Another shopper of the same shop is not held back by this one.
        assert post(client, report(customer_id="555", event_id="e10")).status_code == 204
        assert len(views()) == 2


def test_a_shop_over_its_limit_gets_429(make_app):
    app = make_app(PIXEL_RATE_PER_SHOP=3)
    with app.app_context():
        install_shop(ALPHA)
        client = app.test_client()
        codes = [post(client, report(customer_id=str(n), event_id=f"e{n}")).status_code for n in range(4)]
        assert codes == [204, 204, 204, 429]
        assert post(client, report(customer_id="9", event_id="e9")).get_json()["error"]["details"]["scope"] == "shop"


def test_logs_name_no_token_customer_id_or_url(client, shops):
    token = make_link_token("browse", contact_id=shops["alice"], shop_id=shops["alpha"].id)
    with capture_logs() as logs:
        post(client, report(url_path="/products/blue-mug?secret=1"))
        post(client, report(customer_id=None, token=token, event_id="e2"))
        post(client, report(customer_id="4242424242", event_id="e3"))
    text = json.dumps(logs, default=str)
    assert {"pixel_view_recorded", "pixel_view_ignored"} <= {entry["event"] for entry in logs}
    for secret in (token, str(CUSTOMER), "4242424242", "secret", "blue-mug"):
        assert secret not in text
