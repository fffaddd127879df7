"""The OpenAPI document covers every /api route, documents our error shape, and schemathesis
finds no 5xx and no answer that contradicts it (a bounded run in CI; more examples by hand with
`SCHEMATHESIS_EXAMPLES=200`)."""

from __future__ import annotations

import os
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from .conftest import install_shop
from .shopify_signing import session_token

CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "8"))
# CI runs the same examples every time (a landing must not depend on luck); a longer run by
# hand (SCHEMATHESIS_EXAMPLES=...) explores freshly each time.
DERANDOMIZE = "SCHEMATHESIS_EXAMPLES" not in os.environ


def test_every_api_route_is_in_the_document_with_a_success_and_our_errors(app):
    spec = app.test_client().get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    missing, incomplete = [], []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api") or rule.rule == "/api/openapi.json":
            continue
        path = CONVERTER.sub(r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = spec["paths"].get(path, {}).get(method.lower())
            if operation is None:
                missing.append(f"{method} {rule.rule}")
                continue
            codes = set(operation["responses"])
            if not any(code.startswith("2") for code in codes) or not {"401", "404", "422", "429"} <= codes:
                incomplete.append(f"{method} {rule.rule}")
    assert missing == []
    assert incomplete == []
    error = spec["components"]["schemas"]["ApiError"]
    assert error["required"] == ["error"]


def test_a_read_while_the_document_is_being_written_waits_for_it(make_app, monkeypatch):
    """The document is written on its first read (openapi.py). A second thread reading
    meanwhile (gunicorn's threads) waits for that document: it neither sees it half written
    nor writes it a second time over the first."""
    import threading

    from shopify_app.blueprints.api import bp

    app = make_app()
    api = app.extensions["sms_blossom_api"]
    writing, finish = threading.Event(), threading.Event()
    write_views = bp.register_views_in_doc

    def slow_write(*args, **kwargs):
        writing.set()
        finish.wait(timeout=30)
        return write_views(*args, **kwargs)

    monkeypatch.setattr(bp, "register_views_in_doc", slow_write)
    documents = {}
    first = threading.Thread(target=lambda: documents.setdefault("first", api.spec.to_dict()))
    first.start()
    assert writing.wait(timeout=30)
    second = threading.Thread(target=lambda: documents.setdefault("second", api.spec.to_dict()))
    second.start()
    second.join(timeout=0.5)  # a second thread that does not wait reads or writes now
    finish.set()
    first.join(timeout=30)
    second.join(timeout=30)
    assert len(documents["first"]["paths"]) > 20
    assert documents["second"] == documents["first"]
    assert [tag["name"] for tag in documents["first"]["tags"]] == ["api"]


def test_errors_keep_our_shape_not_flask_smorests(client):
    response = client.get("/api/no-such-route")
    assert response.status_code in (401, 404)
    assert set(response.get_json()) == {"error"}
    assert set(response.get_json()["error"]) == {"code", "message", "details"}


@pytest.fixture
def api_schema(shopify_app, fake_shopify):
    """The app with Shopify's Admin API on the loopback fake (billing and discounts call it)."""
    from shopify_app.extensions import db

    shop = install_shop("alpha.myshopify.com")
    shop.access_token = fake_shopify.issue_access_token(shop.domain)
    db.session.commit()
    return schemathesis.openapi.from_wsgi("/api/openapi.json", shopify_app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=DERANDOMIZE,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)
def test_the_api_against_its_document(case):
    # Schema-valid is not always acceptable: an id of a template that does not exist, a body
    # without the shop's name... are 422s by design, so `positive_data_acceptance` is off.
    # Every other check runs: no 5xx, documented status codes and content types, response
    # bodies matching their schemas, schema-invalid input rejected, auth not ignored.
    case.call_and_validate(
        headers={"Authorization": f"Bearer {session_token()}"}, excluded_checks=[positive_data_acceptance]
    )
