"""The app's page inside the Shopify admin (iframe): token exchange on first load."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, make_response, render_template, request

from ..errors import BadRequest
from ..security.decorators import api_secrets
from ..security.session_token import invalid_session, verify_session_token
from ..security.shop_domain import host_matches_shop, normalise_shop_domain
from ..services.auth import ensure_offline_access

bp = Blueprint("embedded", __name__)


def frame_ancestors(shop: str) -> str:
    return f"frame-ancestors https://{shop} https://admin.shopify.com;"


@bp.get("/")
def load() -> Response:
    shop = normalise_shop_domain(request.args.get("shop"))
    host = request.args.get("host")
    if host is not None and not host_matches_shop(host, shop):
        raise BadRequest("The host parameter names another shop.", code="invalid_host")
    id_token = request.args.get("id_token")
    authenticated = False
    if id_token:
        session = verify_session_token(id_token, api_key=current_app.config["SHOPIFY_API_KEY"], secrets=api_secrets())
        if session.shop_domain != shop:
            raise invalid_session("The session token belongs to another shop.")
        ensure_offline_access(session=session)
        authenticated = True
    # Without an id_token this is the bounce page: App Bridge reloads it with a fresh token.
    html = render_template(
        "embedded.html", api_key=current_app.config["SHOPIFY_API_KEY"], shop=shop, authenticated=authenticated
    )
    response = make_response(html)
    response.headers["Content-Security-Policy"] = frame_ancestors(shop)
    return response
