"""/api/home: what the home screen shows, in one call (its first paint needs no other)."""

from __future__ import annotations

from flask import Response, g, jsonify

from ...schemas.home import HomeSchema
from ...services.shops.auth import shop_profile
from ...services.shops.overview import overview
from .blueprint import bp


@bp.get("/home")
def home() -> Response:
    figures = overview(shop=g.shop)
    return jsonify(HomeSchema().dump({"shop": shop_profile(g.shop), **figures}))
