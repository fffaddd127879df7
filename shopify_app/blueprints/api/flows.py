"""/api/flows: the flow editor's API (services/flows/): flows, their templates and catalog,
their runs with the steps each took, and their reports.

A bad step tree is a 422 whose `details.step_errors` names each step ({"step", "message"});
another shop's flow or run is a 404. Flows from templates are created off.
"""

from __future__ import annotations

from flask import Response, g, jsonify

from ...schemas.campaigns import ListQuerySchema
from ...schemas.flows import (
    FlowCatalogSchema,
    FlowCreateSchema,
    FlowReportSchema,
    FlowRunDetailSchema,
    FlowRunQuerySchema,
    FlowRunSchema,
    FlowSchema,
    FlowSummarySchema,
    FlowTemplateSchema,
    FlowUpdateSchema,
)
from ...services.flows import queries, reports, templates, versions
from .blueprint import bp
from .common import audit_target, json_body, query_args

flow_schema = FlowSchema()


def _detail(flow_id: int) -> dict[str, object]:
    return flow_schema.dump(queries.flow_detail(shop=g.shop, flow_id=flow_id))


@bp.get("/flows")
def list_flows() -> Response:
    """The shop's flows, newest first; its automations appear as one-step flows."""
    args = query_args(ListQuerySchema())
    items, next_cursor = queries.list_flows(shop=g.shop, limit=args["limit"], cursor=args["cursor"])
    return jsonify({"items": FlowSummarySchema(many=True).dump(items), "next_cursor": next_cursor})


@bp.get("/flows/catalog")
def flow_catalog() -> Response:
    return jsonify(FlowCatalogSchema().dump(queries.catalog()))


@bp.get("/flows/templates")
def flow_templates() -> Response:
    return jsonify({"items": FlowTemplateSchema(many=True).dump(templates.all_templates())})


@bp.post("/flows")
def create_flow() -> tuple[Response, int]:
    data = json_body(FlowCreateSchema())
    if "template" in data:
        data = templates.create_data(data["template"], data.get("name"))
    flow = versions.create_flow(shop=g.shop, data=data)
    audit_target("flow", flow.id)
    return jsonify(_detail(flow.id)), 201


@bp.get("/flows/<int:flow_id>")
def get_flow(flow_id: int) -> Response:
    return jsonify(_detail(flow_id))


@bp.patch("/flows/<int:flow_id>")
def update_flow(flow_id: int) -> Response:
    """Changed steps become a new version; runs in progress finish on the one they started."""
    versions.get_flow(shop=g.shop, flow_id=flow_id)  # another shop's id: 404 before the body
    data = json_body(FlowUpdateSchema())
    versions.update_flow(
        shop=g.shop, flow_id=flow_id, data=queries.checked_patch(shop=g.shop, flow_id=flow_id, data=data)
    )
    return jsonify(_detail(flow_id))


@bp.delete("/flows/<int:flow_id>")
def delete_flow(flow_id: int) -> tuple[str, int]:
    queries.delete_flow(shop=g.shop, flow_id=flow_id)
    return "", 204


@bp.get("/flows/<int:flow_id>/runs")
def list_flow_runs(flow_id: int) -> Response:
    args = query_args(FlowRunQuerySchema())
    items, next_cursor = queries.list_runs(
        shop=g.shop, flow_id=flow_id, limit=args["limit"], cursor=args["cursor"], state=args.get("state")
    )
    return jsonify({"items": FlowRunSchema(many=True).dump(items), "next_cursor": next_cursor})


@bp.get("/flows/<int:flow_id>/runs/<int:run_id>")
def get_flow_run(flow_id: int, run_id: int) -> Response:
    return jsonify(FlowRunDetailSchema().dump(queries.run_detail(shop=g.shop, flow_id=flow_id, run_id=run_id)))


@bp.get("/flows/<int:flow_id>/report")
def flow_report(flow_id: int) -> Response:
    return jsonify(FlowReportSchema().dump(reports.flow_report(shop=g.shop, flow_id=flow_id)))
