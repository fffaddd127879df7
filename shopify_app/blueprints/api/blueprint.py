"""The `/api` blueprint and what every one of its routes goes through: the rate limits, the
session token (the shop comes from its `dest`), the audit row of every change; and the shop's
own two routes (its profile and setup checklist).

Authentication is a `before_request` of the blueprint, so no `/api` route can forget it. The
view modules register their routes on `bp`; the package's __init__ imports them all.
"""

from __future__ import annotations

import math

import structlog
from flask import Response, current_app, g, jsonify, request
from flask_smorest import Blueprint

from ...errors import TooManyRequests
from ...extensions import db, redis_ext
from ...schemas.shop import SetupSchema, ShopSchema
from ...security.decorators import api_secrets
from ...security.session_token import bearer_token, verify_session_token
from ...services.contacts.pii import limit_subject
from ...services.ops import audit
from ...services.sending.ratelimit import Decision, FixedWindowLimit
from ...services.shops import setup
from ...services.shops.auth import ensure_offline_access, shop_profile
from ...tenancy import enter_shop

bp = Blueprint("api", __name__, url_prefix="/api", description="The embedded admin API")
log = structlog.get_logger(__name__)


def _limit(scope: str, value: object, per_minute: int) -> None:
    """One fixed one-minute window per scope; the tightest decision is reported in headers."""
    if per_minute <= 0:
        return
    decision = FixedWindowLimit(redis_ext.client(), key=f"api:{scope}:{value}", limit=per_minute, window=60).hit()
    current = getattr(g, "rate_limit", None)
    if current is None or decision.remaining < current.remaining:
        g.rate_limit = decision
    if not decision.allowed:
        raise TooManyRequests(
            "Too many requests; slow down.",
            retry_after=math.ceil(decision.retry_after),
            details={"scope": scope},
            headers=_limit_headers(decision),
        )


def _limit_headers(decision: Decision) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(decision.limit),
        "X-RateLimit-Remaining": str(decision.remaining),
        "X-RateLimit-Reset": str(math.ceil(decision.reset_after)),
    }


@bp.before_request
def limit_by_address() -> None:
    if request.method == "OPTIONS":
        return  # a CORS preflight (answered by flask-cors) carries no token and changes nothing
    # Before authentication: a flood of forged tokens is refused without verifying each.
    # The key holds a keyed hash of the address, never the address (Redis keys are plain text).
    address = limit_subject(request.remote_addr or "unknown", kind="ip")
    _limit("ip", address, current_app.config["API_RATE_PER_IP"])


@bp.before_request
def authenticate() -> None:
    if request.method == "OPTIONS":
        return
    session = verify_session_token(
        bearer_token(request.headers.get("Authorization")),
        api_key=current_app.config["SHOPIFY_API_KEY"],
        secrets=api_secrets(),
    )
    g.session_token = session
    g.shop = ensure_offline_access(session=session)
    enter_shop(g.shop.id)  # row-level security: from here on only this shop's rows exist
    _limit("shop", g.shop.id, current_app.config["API_RATE_PER_SHOP"])


@bp.after_request
def rate_limit_headers(response: Response) -> Response:
    if (decision := getattr(g, "rate_limit", None)) is not None:
        for name, value in _limit_headers(decision).items():
            response.headers.setdefault(name, value)
    return response


# Merchant actions: every successful change through the embedded API is one audit row (actor,
# action, target, request id), generated here so no new endpoint can forget it.
AUDITED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NOT_AUDITED = frozenset({"api.count_filters", "api.preview_template"})  # reads that use POST


@bp.after_request
def audit_change(response: Response) -> Response:
    if request.method not in AUDITED_METHODS or response.status_code >= 400 or request.endpoint in NOT_AUDITED:
        return response
    shop, session = getattr(g, "shop", None), getattr(g, "session_token", None)
    if shop is None or session is None:
        return response
    target_type, target_id = g.get("audit_target") or _path_target()
    try:
        audit.record(
            shop_id=shop.id,
            actor=f"user:{session.user_id}",
            action=(request.endpoint or "unknown").removeprefix("api."),
            target_type=target_type,
            target_id=target_id,
            request_id=getattr(g, "request_id", None),
            details={"method": request.method, "status": response.status_code},
        )
        db.session.commit()
    except Exception:  # the change itself is done; a lost audit row is logged, not a 500
        db.session.rollback()
        log.exception("audit_record_failed", endpoint=request.endpoint)
    return response


def _path_target() -> tuple[str | None, object]:
    """The first id in the path: `/campaigns/<campaign_id>/launch` -> ("campaign", id)."""
    name, value = next(iter((request.view_args or {}).items()), (None, None))
    return (name and name.removesuffix("_id")), value


@bp.get("/shop")
def get_shop() -> Response:
    return jsonify(ShopSchema().dump(shop_profile(g.shop)))


@bp.get("/setup")
def get_setup() -> Response:
    return jsonify(SetupSchema().dump(setup.checklist(shop=g.shop)))
