"""/api/settings: the shop's sending settings."""

from __future__ import annotations

from flask import Response, g, jsonify

from ...schemas.settings import ShopSettingsSchema, ShopSettingsUpdateSchema
from ...services.shops import settings, storefront_sync
from .blueprint import bp
from .common import json_body


@bp.get("/settings")
def get_settings() -> Response:
    return jsonify(ShopSettingsSchema().dump(settings.load_settings(g.shop)))


@bp.patch("/settings")
def update_settings() -> Response:
    changes = json_body(ShopSettingsUpdateSchema())
    updated = settings.update_settings(shop=g.shop, changes=changes)
    storefront_sync.schedule_sync(g.shop, changed=changes)  # what the theme blocks show
    return jsonify(ShopSettingsSchema().dump(updated))
