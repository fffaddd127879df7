"""/api/discounts: shared or per-recipient discount codes, made in the shop through Shopify."""

from __future__ import annotations

from flask import Response, g, jsonify

from ...schemas.campaigns import ListQuerySchema
from ...schemas.discounts import DiscountCreateSchema, DiscountSchema
from ...services.campaigns import discounts
from .blueprint import bp
from .common import audit_target, json_body, query_args

discount_schema = DiscountSchema()


@bp.get("/discounts")
def list_discounts() -> Response:
    args = query_args(ListQuerySchema())
    rows, next_cursor = discounts.list_discounts(shop=g.shop, limit=args["limit"], cursor=args["cursor"])
    return jsonify({"items": discount_schema.dump(rows, many=True), "next_cursor": next_cursor})


@bp.post("/discounts")
def create_discount() -> tuple[Response, int]:
    discount = discounts.create_discount(shop=g.shop, data=json_body(DiscountCreateSchema()))
    audit_target("discount", discount.id)
    return jsonify(discount_schema.dump(discount)), 201


@bp.get("/discounts/<int:discount_id>")
def get_discount(discount_id: int) -> Response:
    return jsonify(discount_schema.dump(discounts.get_discount(shop=g.shop, discount_id=discount_id)))
