"""The one error handler: every error leaves as the JSON shape of docs/architecture.md
(`errors.error_response`),

    {"error": {"code": "snake_case", "message": "...", "details": {...}}}

except on the pages a person opens in a browser (PAGE_BLUEPRINTS: the embedded page, the OAuth
install, texted short links), which answer a small escaped HTML page with the same status and
message, unless the client asks for JSON. Werkzeug's HTML error pages never leak; a 500 hides
internals and names the request id instead.
"""

from __future__ import annotations

import math
from typing import Any

import structlog
from flask import Flask, Response, g, has_request_context, render_template, request
from marshmallow import ValidationError as SchemaValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from ..clients.shopify import ShopifyError, ShopifyRateLimited, ShopifyTimeout, ShopifyUnavailable
from ..errors import AppError, error_response
from ..extensions import db
from ..inputs import is_bad_input_error
from ..security.shop_domain import normalise_shop_domain

log = structlog.get_logger(__name__)

# Werkzeug's exceptions (routing, size limits, bad form data) mapped onto our codes.
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    410: "gone",
    429: "rate_limited",
}


# Blueprints whose routes a person opens in a browser, with what the error page tells them to do.
# Everything else (/api, webhooks, the Mitto callbacks, health, ops) is for programs: JSON. The
# app proxy negotiates on its own (blueprints/proxy.py: Liquid for a storefront form).
PAGE_BLUEPRINTS: dict[str, str | None] = {
    "admin": "Open SMS Blossom from the Apps section of your Shopify admin.",
    "admin_dev": "This page exists only when APP_ENV=development.",
    "auth": "Start the installation again from your Shopify admin.",
    "links": None,
}
PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors {ancestors}"
ANY_ADMIN = "https://admin.shopify.com https://*.myshopify.com"


def page_csp() -> str:
    """Framed by the one shop the request names when it names a valid one (as the shells are),
    else by any admin: an error page may be all a merchant sees inside the admin."""
    try:
        shop = normalise_shop_domain(request.args.get("shop"))
    except AppError:
        return PAGE_CSP.format(ancestors=ANY_ADMIN)
    return PAGE_CSP.format(ancestors=f"https://{shop} https://admin.shopify.com")


def wants_page() -> bool:
    """A page route, and a client that does not prefer JSON (a browser, or no Accept at all)."""
    if not has_request_context() or request.blueprint not in PAGE_BLUEPRINTS:
        return False
    prefers_json = request.accept_mimetypes.best_match(["application/json", "text/html"]) == "application/json"
    return not (request.is_json or prefers_json)


def error_page(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    html = render_template(
        "error.html",
        title=HTTP_STATUS_CODES.get(status, "Error"),
        message=message,
        hint=PAGE_BLUEPRINTS.get(request.blueprint or ""),
        status=status,
        code=code,
        request_id=getattr(g, "request_id", None),
    )
    response = Response(html, status=status, mimetype="text/html")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    response.headers["Content-Security-Policy"] = page_csp()
    response.headers["Cache-Control"] = "no-store"
    return response


def _answer(
    status: int, code: str, message: str, details: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> Response:
    """The error as a page for a person on a page route, else in the JSON shape."""
    if wants_page():
        return error_page(status, code, message, headers)
    return error_response(status, code, message, details, headers)


def _string_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _string_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_string_keys(item) for item in value]
    return value


def init_errors(app: Flask) -> None:
    @app.errorhandler(AppError)
    def handle_app_error(exc: AppError) -> Response:
        if exc.status >= 500:
            log.warning("app_error", error_code=exc.code, status=exc.status)
        return _answer(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.errorhandler(SchemaValidationError)
    def handle_validation_error(exc: SchemaValidationError) -> Response:
        # List items report errors under int indexes beside "_schema": JSON keys are strings
        # (and mixed key types would not even sort).
        messages = _string_keys(exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages})
        return _answer(422, "validation_failed", "The request did not pass validation.", {"fields": messages})

    @app.errorhandler(ShopifyError)
    def handle_shopify_error(exc: ShopifyError) -> Response:
        """Shopify unreachable, throttled past our retries or refusing: the merchant's action
        did not happen; say so instead of a 500 (the class name only: messages can hold data)."""
        log.warning("shopify_call_failed", exc_type=type(exc).__name__, status=exc.status)
        busy = isinstance(exc, (ShopifyUnavailable, ShopifyRateLimited, ShopifyTimeout))
        status = 503 if busy else 502
        code = "shopify_unavailable" if busy else "shopify_error"
        retry_after = math.ceil(max(exc.retry_after, 1)) if isinstance(exc, ShopifyRateLimited) else 30
        headers = {"Retry-After": str(retry_after)} if busy else {}
        return _answer(status, code, "Shopify could not complete the request; try again.", headers=headers)

    @app.errorhandler(HTTPException)
    def handle_http_exception(exc: HTTPException) -> Response:
        status = exc.code or 500
        if status >= 500:
            return _internal_error()
        headers = {}
        if status == 405 and exc.valid_methods:  # type: ignore[attr-defined]
            headers["Allow"] = ", ".join(sorted(exc.valid_methods))  # type: ignore[attr-defined]
        message = exc.description or exc.name
        return _answer(status, _HTTP_CODES.get(status, "http_error"), message, headers=headers)

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception) -> Response:
        if is_bad_input_error(exc):
            # The last line: the database refused a value the checks at the door let through
            # (inputs.py). The client gets a 400; we get an error log to close that gap.
            db.session.rollback()
            log.error(
                "database_refused_input", exc_type=type(exc).__name__, orig=type(getattr(exc, "orig", exc)).__name__
            )
            return _answer(400, "invalid_input", "A value in the request cannot be stored.")
        log.exception("unhandled_exception", exc_type=type(exc).__name__)
        return _internal_error()


def _internal_error() -> Response:
    request_id = getattr(g, "request_id", None)
    return _answer(
        500,
        "internal_error",
        "Something went wrong on our side. Quote the request id if you contact support.",
        {"request_id": request_id} if request_id else None,
    )
