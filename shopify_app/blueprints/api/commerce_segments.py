"""/api/segments/products and /api/segments/order-backfill: what the commerce filters of the
segment editor need (the product picker; past orders pulled from Shopify)."""

from __future__ import annotations

from flask import Response, g, jsonify, request

from ...schemas.commerce_filters import (
    BackfillStartSchema,
    OrderBackfillSchema,
    ProductQuerySchema,
    SeenProductSchema,
)
from ...services.automations import order_backfill
from ...services.campaigns.commerce_filters import search_products
from .blueprint import bp
from .common import audit_target, json_body, query_args

backfill_schema = OrderBackfillSchema()


@bp.get("/segments/products")
def segment_products() -> Response:
    """Products the shop's orders named, by title or id (`?q=`): the editor's product picker."""
    args = query_args(ProductQuerySchema())
    products = search_products(shop=g.shop, query=args["q"], limit=args["limit"])
    return jsonify({"items": SeenProductSchema().dump(products, many=True)})


@bp.get("/segments/order-backfill")
def current_order_backfill() -> Response | tuple[str, int]:
    """The newest backfill of past orders (204 when there has been none)."""
    backfill = order_backfill.latest_backfill(shop=g.shop)
    if backfill is None:
        return "", 204
    return jsonify(backfill_schema.dump(backfill))


@bp.post("/segments/order-backfill")
def start_order_backfill() -> tuple[Response, int]:
    """Pull the last `days` of orders (default 60) from Shopify in a job; 202 when it starts, 200
    with the one already running; 409 `read_all_orders_required` beyond 60 days without the scope."""
    body = bool(request.get_data(cache=True).strip())
    data = json_body(BackfillStartSchema()) if body else BackfillStartSchema().load({})
    backfill, started = order_backfill.start(shop=g.shop, days=data["days"])
    audit_target("order_backfill", backfill.id)
    return jsonify(backfill_schema.dump(backfill)), 202 if started else 200
