"""The embedded admin API: every route behind a verified session token, shop from its `dest`.

Authentication is a `before_request` of the blueprint, so no `/api` route can forget it.
"""

from __future__ import annotations

import structlog
from flask import Blueprint, Response, current_app, g, jsonify, request

from ...extensions import db
from ...schemas.shop import ShopSchema
from ...security.decorators import api_secrets
from ...security.session_token import bearer_token, verify_session_token
from ...services import audit
from ...services.auth import ensure_offline_access, shop_profile

bp = Blueprint("api", __name__, url_prefix="/api")
log = structlog.get_logger(__name__)


@bp.before_request
def authenticate() -> None:
    session = verify_session_token(
        bearer_token(request.headers.get("Authorization")),
        api_key=current_app.config["SHOPIFY_API_KEY"],
        secrets=api_secrets(),
    )
    g.session_token = session
    g.shop = ensure_offline_access(session=session)


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
    view_args = dict(request.view_args or {})
    target_type, target_id = next(iter(view_args.items()), (None, None))
    try:
        audit.record(
            shop_id=shop.id,
            actor=f"user:{session.user_id}",
            action=(request.endpoint or "unknown").removeprefix("api."),
            target_type=target_type and target_type.removesuffix("_id"),
            target_id=target_id,
            request_id=getattr(g, "request_id", None),
            details={"method": request.method, "status": response.status_code},
        )
        db.session.commit()
    except Exception:  # the change itself is done; a lost audit row is logged, not a 500
        db.session.rollback()
        log.exception("audit_record_failed", endpoint=request.endpoint)
    return response


@bp.get("/shop")
def get_shop() -> Response:
    return jsonify(ShopSchema().dump(shop_profile(g.shop)))


from . import (  # noqa: E402,F401  (routes register on bp)
    automations,
    billing,
    campaigns,
    contacts,
    discounts,
    inbox,
    privacy,
    reports,
    segments,
    settings,
    transfers,
)
