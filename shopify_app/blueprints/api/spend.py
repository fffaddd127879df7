"""/api/billing/spend-controls: the low-balance alert, auto-recharge and the per-cycle spend cap."""

from __future__ import annotations

from flask import Response, g, jsonify

from ...schemas.spend import SpendControlsSchema, SpendSettingsUpdateSchema
from ...services.billing import billing
from .blueprint import bp
from .common import json_body


@bp.get("/billing/spend-controls")
def spend_controls() -> Response:
    return jsonify(SpendControlsSchema().dump(billing.spend_controls(shop=g.shop)))


@bp.patch("/billing/spend-controls")
def update_spend_controls() -> Response:
    """Only the keys sent change; the check runs at once (a threshold above the balance alerts now)."""
    changes = json_body(SpendSettingsUpdateSchema())
    controls = billing.update_spend_controls(shop=g.shop, changes=changes)
    return jsonify(SpendControlsSchema().dump(controls))
