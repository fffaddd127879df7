"""Classic OAuth install and re-auth (the non-embedded fallback to token exchange).

`GET /auth?shop=` sets a signed, HttpOnly, SameSite=Lax state cookie and sends the merchant to
the shop's authorize page. `GET /auth/callback` accepts only a request whose HMAC, timestamp
and state all check out, exchanges the code once, and redirects to the app inside the shop's
admin; never to a URL taken from the request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import structlog
from flask import Blueprint, Response, current_app, redirect, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..clients.shopify import ShopifyRejected, ShopifyUnauthorized
from ..errors import BadRequest, ServiceUnavailable, Unauthorized
from ..extensions import redis_ext
from ..security.decorators import api_secrets
from ..security.hmac import oauth_query_is_valid, timestamp_is_fresh
from ..security.shop_domain import normalise_shop_domain
from ..services.shops.auth import install_shop, oauth_client

bp = Blueprint("auth", __name__)
log = structlog.get_logger(__name__)

STATE_COOKIE = "sms_blossom_oauth_state"
STATE_MAX_AGE = 600
USED_STATE_KEY = "sms_blossom:oauth-state-used:{digest}"
CALLBACK_PARAMS = ("code", "shop", "state", "timestamp", "hmac")


def callback_url() -> str:
    return current_app.config["SHOPIFY_APP_URL"].rstrip("/") + "/auth/callback"


def embedded_admin_url(shop: str) -> str:
    handle = shop.removesuffix(".myshopify.com")
    return f"https://admin.shopify.com/store/{handle}/apps/{current_app.config['SHOPIFY_API_KEY']}"


def _state_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="shopify-oauth-state")


@bp.get("/auth")
def begin() -> Response:
    shop = normalise_shop_domain(request.args.get("shop"))
    if "hmac" in request.args and not oauth_query_is_valid(request.args, secrets=api_secrets()):
        raise Unauthorized("The install request's HMAC is invalid.", code="invalid_hmac")
    requested_redirect = request.args.get("redirect_uri")
    if requested_redirect is not None and requested_redirect != callback_url():
        raise BadRequest("redirect_uri is not on the allow-list.", code="invalid_redirect_uri")
    nonce = secrets.token_urlsafe(32)
    url = oauth_client().authorize_url(
        shop, scopes=current_app.config["SHOPIFY_SCOPES"], redirect_uri=callback_url(), state=nonce
    )
    response = redirect(url, code=302)
    response.set_cookie(
        STATE_COOKIE,
        _state_serializer().dumps({"nonce": nonce, "shop": shop}),
        max_age=STATE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        path="/auth",
    )
    return response


@bp.get("/auth/callback")
def callback() -> Response:
    missing = [name for name in CALLBACK_PARAMS if not request.args.get(name)]
    if missing:
        raise BadRequest(
            "The OAuth callback is missing parameters.", code="missing_params", details={"params": missing}
        )
    shop = normalise_shop_domain(request.args["shop"])
    if not oauth_query_is_valid(request.args, secrets=api_secrets()):
        raise Unauthorized("The OAuth callback's HMAC is invalid.", code="invalid_hmac")
    if not timestamp_is_fresh(
        request.args["timestamp"], max_age_seconds=current_app.config["SIGNATURE_MAX_AGE_SECONDS"]
    ):
        raise Unauthorized("The OAuth callback has expired.", code="stale_request")
    _consume_state(shop=shop, state=request.args["state"])
    try:
        token = oauth_client().exchange_code(shop, request.args["code"])
    except (ShopifyRejected, ShopifyUnauthorized):
        raise Unauthorized("Shopify refused the authorization code.", code="oauth_code_rejected") from None
    except Exception as exc:
        log.warning("oauth_code_exchange_failed", error=type(exc).__name__)
        raise ServiceUnavailable("Shopify could not be reached; try installing again.") from None
    install_shop(domain=shop, token=token)
    response = redirect(embedded_admin_url(shop), code=302)
    response.delete_cookie(STATE_COOKIE, path="/auth")
    return response


def _consume_state(*, shop: str, state: str) -> None:
    """The state must match this browser's cookie, name the same shop, and be used only once."""
    cookie = request.cookies.get(STATE_COOKIE)
    if not cookie:
        raise Unauthorized("The OAuth state cookie is missing.", code="invalid_state")
    try:
        stored = _state_serializer().loads(cookie, max_age=STATE_MAX_AGE)
    except BadSignature:
        raise Unauthorized("The OAuth state cookie is invalid or expired.", code="invalid_state") from None
    if not (
        isinstance(stored, dict)
        and hmac.compare_digest(str(stored.get("nonce", "")).encode(), state.encode())
        and stored.get("shop") == shop
    ):
        raise Unauthorized("The OAuth state does not match.", code="invalid_state")
    digest = hashlib.sha256(state.encode()).hexdigest()
    if not redis_ext.client().set(USED_STATE_KEY.format(digest=digest), 1, nx=True, ex=STATE_MAX_AGE):
        raise Unauthorized("The OAuth state was already used.", code="invalid_state")
