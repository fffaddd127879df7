"""Storefront requests through the Shopify app proxy (`/apps/sms/...` -> `/proxy/...`)."""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify

from ..security.decorators import app_proxy_verified

bp = Blueprint("proxy", __name__, url_prefix="/proxy")


@bp.get("/", strict_slashes=False)
@app_proxy_verified
def ping() -> Response:
    """Lets a merchant (or the CLI) confirm the proxy is wired: answers with the signed shop."""
    return jsonify({"status": "ok", "shop": g.shop_domain})
