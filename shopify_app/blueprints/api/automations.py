"""/api/automations: the shop's automations (each starts disabled) and their runs."""

from __future__ import annotations

from flask import Response, g, jsonify

from ...models import Automation
from ...schemas.automations import AutomationRunSchema, AutomationSchema, AutomationUpdateSchema
from ...schemas.campaigns import ListQuerySchema
from ...services.automations import automations
from ...services.billing import billing
from .blueprint import bp
from .common import json_body, query_args

automation_schema = AutomationSchema()


def _dump(rows: list[Automation]) -> list[dict[str, object]]:
    """The automations with the texts each skipped this cycle for lack of credits."""
    skips = billing.automation_skips(shop=g.shop)
    return [{**automation_schema.dump(row), "credit_skips": skips.get(row.id, 0)} for row in rows]


@bp.get("/automations")
def list_automations() -> Response:
    return jsonify({"items": _dump(automations.ensure_automations(g.shop))})


@bp.get("/automations/<int:automation_id>")
def get_automation(automation_id: int) -> Response:
    [automation] = _dump([automations.get_automation(shop=g.shop, automation_id=automation_id)])
    return jsonify(automation)


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
