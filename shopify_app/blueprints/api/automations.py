"""/api/automations: the shop's automations (each starts disabled) and their runs."""

from __future__ import annotations

from flask import Response, g, jsonify

from ...schemas.automations import AutomationRunSchema, AutomationSchema, AutomationUpdateSchema
from ...schemas.campaigns import ListQuerySchema
from ...services.automations import automations
from .blueprint import bp
from .common import json_body, query_args

automation_schema = AutomationSchema()


@bp.get("/automations")
def list_automations() -> Response:
    return jsonify({"items": automation_schema.dump(automations.ensure_automations(g.shop), many=True)})


@bp.get("/automations/<int:automation_id>")
def get_automation(automation_id: int) -> Response:
    return jsonify(automation_schema.dump(automations.get_automation(shop=g.shop, automation_id=automation_id)))


@bp.patch("/automations/<int:automation_id>")
def update_automation(automation_id: int) -> Response:
    data = json_body(AutomationUpdateSchema())
    automation = automations.update_automation(shop=g.shop, automation_id=automation_id, data=data)
    return jsonify(automation_schema.dump(automation))


@bp.get("/automations/<int:automation_id>/runs")
def list_runs(automation_id: int) -> Response:
    args = query_args(ListQuerySchema())
    rows, next_cursor = automations.list_runs(
        shop=g.shop, automation_id=automation_id, limit=args["limit"], cursor=args["cursor"]
    )
    return jsonify({"items": AutomationRunSchema(many=True).dump(rows), "next_cursor": next_cursor})
