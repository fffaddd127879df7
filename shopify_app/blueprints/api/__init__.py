"""The embedded admin API: every route behind a verified session token, shop from its `dest`.

Authentication is a `before_request` of the blueprint, so no `/api` route can forget it.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g, jsonify, request

from ...schemas.shop import ShopSchema
from ...security.decorators import api_secrets
from ...security.session_token import bearer_token, verify_session_token
from ...services.auth import ensure_offline_access, shop_profile

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.before_request
def authenticate() -> None:
    session = verify_session_token(
        bearer_token(request.headers.get("Authorization")),
        api_key=current_app.config["SHOPIFY_API_KEY"],
        secrets=api_secrets(),
    )
    g.session_token = session
    g.shop = ensure_offline_access(session=session)


@bp.get("/shop")
def get_shop() -> Response:
    return jsonify(ShopSchema().dump(shop_profile(g.shop)))


from . import (  # noqa: E402,F401  (routes register on bp)
    automations,
    billing,
    campaigns,
    contacts,
    inbox,
    privacy,
    segments,
    settings,
    transfers,
)
