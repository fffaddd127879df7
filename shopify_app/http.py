"""HTTP-level behaviour shared by every route: proxy hops, request size, security headers."""

from __future__ import annotations

from datetime import date, time
from typing import Any

from flask import Flask, Request, Response, request
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SessionInterface, SessionMixin
from flask_cors import CORS
from werkzeug.middleware.proxy_fix import ProxyFix

from .errors import NotFound
from .inputs import init_inputs

# Browsers may call the embedded API from the Shopify admin and from the app's own pages, nothing
# else; webhooks, the app proxy and the provider callbacks are server-to-server: no CORS at all.
SHOPIFY_ADMIN_ORIGINS = (r"^https://admin\.shopify\.com$", r"^https://[a-z0-9][a-z0-9-]*\.myshopify\.com$")


def init_cors(app: Flask) -> None:
    origins = [*SHOPIFY_ADMIN_ORIGINS, str(app.config["SHOPIFY_APP_URL"]).rstrip("/")]
    CORS(
        app,
        resources={r"/api/*": {"origins": origins}},
        methods=["GET", "POST", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
        expose_headers=[
            "X-Request-ID",
            "Retry-After",
            "X-RateLimit-Limit",
            "X-RateLimit-Remaining",
            "X-RateLimit-Reset",
        ],
        max_age=600,
        supports_credentials=False,
    )


def _iso_default(value: Any) -> Any:
    if isinstance(value, (date, time)):
        return value.isoformat()
    return DefaultJSONProvider.default(value)


class IsoJSONProvider(DefaultJSONProvider):
    """`jsonify` writes dates as ISO 8601 like every schema and export here (jsonable.py), not
    Flask's RFC 1123: a date in a raw dict must not come out in another format."""

    default = staticmethod(_iso_default)


class NoCookieSession(SessionInterface):
    """The app keeps nothing in Flask's cookie session (the OAuth state has its own signed
    cookie): no cookie is parsed, signed or set on any request. `flask.session` is the null
    session, which refuses writes."""

    def open_session(self, app: Flask, request: Request) -> None:
        return None  # Flask then uses make_null_session()

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        return None  # Flask saves only a session that is not the null one: nothing to save


def init_http(app: Flask) -> None:
    app.session_interface = NoCookieSession()
    app.json = IsoJSONProvider(app)
    init_cors(app)
    init_inputs(app)  # NUL, bad UTF-8, JSON depth and number bombs: 400 before any route

    @app.before_request
    def ids_in_range() -> None:
        """An `<int:...>` id beyond the BIGINT range names nothing: 404, not a driver overflow."""
        if any(isinstance(v, int) and not 0 <= v < 2**63 for v in (request.view_args or {}).values()):
            raise NotFound("Not found.")

    hops = app.config["TRUSTED_PROXY_COUNT"]
    if hops:
        # Only as many X-Forwarded-* hops as there are trusted proxies: per-IP limits must see
        # the real client, and a client must not be able to spoof its address.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if response.mimetype == "application/json":
            response.headers.setdefault("Cache-Control", "no-store")
        return response
