"""Optional error reporting to Sentry (`SENTRY_DSN`), with the same scrubbing as the logs.

PII collection stays at its default (off), and every event passes `before_send`: request bodies,
cookies and query strings are dropped, the Mitto callbacks' path secret is cut from the URL,
headers other than a safe few removed, and every remaining string (messages, exception values,
breadcrumbs, local variables) goes through the log scrubber, so tokens, phone numbers and emails
never leave the process.
"""

from __future__ import annotations

from typing import Any

import sentry_sdk
from flask import Flask
from sentry_sdk.integrations.flask import FlaskIntegration
from sentry_sdk.integrations.rq import RqIntegration

from .logging import redact_path, scrub

SAFE_HEADERS = frozenset({"content-type", "content-length", "user-agent", "x-request-id", "x-shopify-topic"})


def scrub_event(event: dict[str, Any], _hint: dict[str, Any] | None = None) -> dict[str, Any]:
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("data", None)
        request.pop("cookies", None)
        request.pop("query_string", None)
        request.pop("env", None)
        if isinstance(request.get("url"), str):
            request["url"] = redact_path(request["url"].split("?", 1)[0])
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {k: v for k, v in headers.items() if k.lower() in SAFE_HEADERS}
    if isinstance(event.get("transaction"), str):  # the URL, with transaction_style="url"
        event["transaction"] = redact_path(event["transaction"])
    event.pop("user", None)
    for key in ("message", "logentry", "exception", "breadcrumbs", "extra", "contexts", "tags"):
        if key in event:
            event[key] = scrub(event[key])
    return event


def init_sentry(app: Flask) -> None:
    dsn = app.config.get("SENTRY_DSN")
    if not dsn:
        return
    sentry_sdk.init(
        dsn=dsn,
        environment=app.config["APP_ENV"],
        integrations=[FlaskIntegration(), RqIntegration()],
        include_local_variables=False,
        max_request_body_size="never",
        before_send=scrub_event,
        traces_sample_rate=0.0,
        **app.config.get("SENTRY_OPTIONS", {}),  # tests pass a capturing transport here
    )
