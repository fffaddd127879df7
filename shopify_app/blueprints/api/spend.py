"""/api/billing/spend-controls: the low-balance alert, auto-recharge and the per-cycle spend cap;
/api/billing/usage-cap: asking Shopify for a higher usage cap."""

from __future__ import annotations

from flask import Response, g, jsonify

from ...schemas.spend import SpendControlsSchema, SpendSettingsUpdateSchema, UsageCapRaisedSchema, UsageCapRaiseSchema
from ...services.billing import billing
from .blueprint import bp
from .common import audit_target, json_body


@bp.get("/billing/spend-controls")
def spend_controls() -> Response:
    return jsonify(SpendControlsSchema().dump(billing.spend_controls(shop=g.shop)))


@bp.patch("/billing/spend-controls")
def update_spend_controls() -> Response:
    """Only the keys sent change; the check runs at once (a threshold above the balance alerts now)."""
    changes = json_body(SpendSettingsUpdateSchema())
    controls = billing.update_spend_controls(shop=g.shop, changes=changes)
    return jsonify(SpendControlsSchema().dump(controls))


@bp.post("/billing/usage-cap")
def raise_usage_cap() -> tuple[Response, int]:
    """Returns Shopify's confirmation URL; the new cap applies once Shopify reports it approved."""
    amount = json_body(UsageCapRaiseSchema())["capped_amount"]
    asked = billing.ask_to_raise_usage_cap(shop=g.shop, capped_amount=amount)
    audit_target("subscription", g.shop.subscription_id)
    return jsonify(UsageCapRaisedSchema().dump(asked)), 201
