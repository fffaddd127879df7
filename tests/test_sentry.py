"""Sentry is optional (SENTRY_DSN) and nothing sensitive reaches it: events are captured by a
transport in the test, never sent."""

from __future__ import annotations

import json

import pytest
import sentry_sdk
from flask import Blueprint
from sentry_sdk.transport import Transport

from .conftest import install_shop
from .shopify_signing import session_token


class Capture(Transport):
    def __init__(self, options=None):
        super().__init__(options)
        self.events: list[dict] = []

    def capture_envelope(self, envelope):
        for item in envelope.items:
            if item.headers.get("type") == "event":
                self.events.append(json.loads(item.payload.get_bytes()))


@pytest.fixture
def captured(make_app):
    transport = Capture()
    app = make_app(SENTRY_DSN="https://public@sentry.example.invalid/1", SENTRY_OPTIONS={"transport": transport})
    boom = Blueprint("boom", __name__)

    @boom.post("/boom")
    def explode():
        raise RuntimeError("could not text +14155550101 (ana@example.com) with shpat_abcdef123456")

    app.register_blueprint(boom)
    yield app, transport
    sentry_sdk.get_client().close()
    sentry_sdk.init(dsn=None)


def test_an_unhandled_error_reaches_sentry_without_pii_or_secrets(captured):
    app, transport = captured
    with app.app_context():
        install_shop("alpha.myshopify.com")
    token = session_token()
    response = app.test_client().post(
        "/boom?shop=alpha.myshopify.com&signature=deadbeef",
        json={"phone": "+14155550101"},
        headers={"Authorization": f"Bearer {token}", "Cookie": "session=abc"},
    )
    assert response.status_code == 500
    sentry_sdk.flush()
    assert len(transport.events) == 1
    sent = json.dumps(transport.events[0])
    for secret in ("4155550101", "ana@example.com", "shpat_abcdef123456", token, "deadbeef", "session=abc"):
        assert secret not in sent
    assert "RuntimeError" in sent
    assert transport.events[0]["request"]["url"].endswith("/boom")


def test_without_a_dsn_nothing_is_initialised(make_app):
    sentry_sdk.init(dsn=None)
    make_app()
    assert sentry_sdk.get_client().dsn is None


def test_the_mitto_path_secret_never_reaches_sentry(make_app, monkeypatch):
    secret = "mitto-path-secret-0123456789abcdef"
    transport = Capture()
    app = make_app(
        MITTO_WEBHOOK_SECRET=secret,
        SENTRY_DSN="https://public@sentry.example.invalid/1",
        SENTRY_OPTIONS={"transport": transport},
    )
    from shopify_app.services.sending import delivery

    def explode(_reports):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(delivery, "record_reports", explode)
    try:
        response = app.test_client().post(f"/mitto/dlr/{secret}", json={"messageId": "m-1", "status": "delivered"})
        assert response.status_code == 500
        sentry_sdk.flush()
        assert len(transport.events) == 1
        assert secret not in json.dumps(transport.events[0])
        assert transport.events[0]["request"]["url"].endswith("/mitto/dlr/[redacted]")
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init(dsn=None)
