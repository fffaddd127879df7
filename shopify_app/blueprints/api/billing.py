"""/api/billing: plan, balance and ledger; subscribing and buying credit packs through Shopify."""

from __future__ import annotations

from flask import Response, g, jsonify

from ...schemas.billing import BillingOverviewSchema, CreditPackSchema, LedgerEntrySchema, SubscribeSchema
from ...schemas.campaigns import ListQuerySchema
from ...services.billing import billing
from .blueprint import bp
from .common import audit_target, json_body, query_args


@bp.get("/billing")
def overview() -> Response:
    args = query_args(ListQuerySchema())
    return jsonify(
        BillingOverviewSchema().dump(billing.overview(shop=g.shop, limit=args["limit"], cursor=args["cursor"]))
    )


@bp.get("/billing/ledger")
def credit_ledger() -> Response:
    """Every credit movement (grants, holds, debits, releases, refunds), newest first."""
    args = query_args(ListQuerySchema())
    items, next_cursor = billing.ledger(shop=g.shop, limit=args["limit"], cursor=args["cursor"])
    return jsonify({"items": LedgerEntrySchema(many=True).dump(items), "next_cursor": next_cursor})


@bp.post("/billing/subscribe")
def subscribe() -> tuple[Response, int]:
    """Returns Shopify's confirmation URL; the plan starts when Shopify reports it ACTIVE."""
    plan = json_body(SubscribeSchema())["plan"]
    subscription = billing.subscribe(shop=g.shop, plan_key=plan)
    audit_target("subscription", subscription["subscription_id"])
    return jsonify(subscription), 201


@bp.post("/billing/credit-packs")
def buy_credit_pack() -> tuple[Response, int]:
    """Returns Shopify's confirmation URL; credits arrive when Shopify confirms the purchase."""
    pack = json_body(CreditPackSchema())["pack"]
    purchase = billing.buy_pack(shop=g.shop, pack_key=pack)
    audit_target("credit_purchase", purchase["charge_id"])
    return jsonify(purchase), 201
