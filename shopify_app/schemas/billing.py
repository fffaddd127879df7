"""Billing requests."""

from __future__ import annotations

from marshmallow import fields, validate

from ..services.billing.plans import PACKS, PLANS
from .base import Schema


class SubscribeSchema(Schema):
    plan = fields.String(required=True, validate=validate.OneOf([key for key in PLANS if key != "free"]))


class CreditPackSchema(Schema):
    pack = fields.String(required=True, validate=validate.OneOf(list(PACKS)))


# --- the billing page (GET /api/billing) ---------------------------------------------------------
# Prices and caps are decimal strings ("0.03"), as the service writes them.


class PlanSchema(Schema):
    plan = fields.String()
    name = fields.String()
    monthly_price = fields.String()
    included_credits = fields.Integer()
    price_per_extra_credit = fields.String()
    overage_cap = fields.String()
    trial_days = fields.Integer()
    refund_failed_deliveries = fields.Boolean()


class SubscriptionStateSchema(Schema):
    id = fields.String(allow_none=True)
    status = fields.String(allow_none=True)
    activated_at = fields.DateTime(allow_none=True)
    cycle = fields.Integer()  # 0: no paid plan (calendar months)
    cycle_started_at = fields.DateTime()


class OverageSchema(Schema):
    cap = fields.String()
    used = fields.String()


class PackSchema(Schema):
    pack = fields.String()
    credits = fields.Integer()
    price = fields.String()


class LedgerEntrySchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    amount = fields.Integer()
    campaign_id = fields.Integer(allow_none=True)
    message_id = fields.Integer(allow_none=True)
    note = fields.String(allow_none=True)
    created_at = fields.DateTime()


class LedgerPageSchema(Schema):
    items = fields.List(fields.Nested(LedgerEntrySchema))
    next_cursor = fields.String(allow_none=True)


class BillingOverviewSchema(Schema):
    plan = fields.Nested(PlanSchema)
    currency = fields.String()  # of every price here (Shopify bills apps in USD)
    subscription = fields.Nested(SubscriptionStateSchema)
    balance = fields.Integer()
    reserved = fields.Integer()
    spent_this_cycle = fields.Integer()
    overage = fields.Nested(OverageSchema)
    plans = fields.List(fields.Nested(PlanSchema))
    packs = fields.List(fields.Nested(PackSchema))
    ledger = fields.Nested(LedgerPageSchema)
