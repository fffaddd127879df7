"""A/B tests of campaigns (services/campaigns/ab_tests.py): request and response shapes."""

from __future__ import annotations

from marshmallow import fields, validate

from ..models import VARIANT_LABELS, AbDecision, AbMetric
from .base import Schema
from .campaigns import BODY


class VariantInSchema(Schema):
    body = fields.String(required=True, validate=BODY)


class AbTestInSchema(Schema):
    """PUT /api/campaigns/<id>/ab-test: the 2-4 bodies in label order (the first is variant A,
    the campaign's own body), the share of the audience tested, the metric, the wait, and
    whether the leader goes to the rest by itself when the wait ends (`auto`) or the merchant
    picks (`manual`)."""

    variants = fields.List(fields.Nested(VariantInSchema), required=True, validate=validate.Length(min=2, max=4))
    test_share = fields.Integer(required=True, validate=validate.Range(min=5, max=50))
    metric = fields.String(required=True, validate=validate.OneOf([metric.value for metric in AbMetric]))
    wait_hours = fields.Integer(required=True, validate=validate.Range(min=1, max=48))
    decision = fields.String(
        load_default=AbDecision.AUTO.value, validate=validate.OneOf([decision.value for decision in AbDecision])
    )


class WinnerInSchema(Schema):
    variant = fields.String(required=True, validate=validate.OneOf(VARIANT_LABELS))


class AbVariantSchema(Schema):
    label = fields.String()
    body = fields.String()
    recipients = fields.Integer()
    sent = fields.Integer()
    clicks = fields.Integer()
    clickers = fields.Integer()  # recipients who clicked at least once
    orders = fields.Integer()
    buyers = fields.Integer()  # recipients with at least one attributed order
    revenue = fields.Float()  # in the report's `currency`
    click_rate = fields.Float()  # clickers / sent
    order_rate = fields.Float()  # buyers / sent
    revenue_per_recipient = fields.Float()  # revenue / sent
    p_value = fields.Float(allow_none=True)  # against the leader (null for the leader, or no test possible)
    significant = fields.Boolean()  # p_value < 0.05


class AbTestSchema(Schema):
    campaign_id = fields.Integer()
    status = fields.String(metadata={"enum": ["draft", "testing", "awaiting_pick", "decided", "abandoned"]})
    test_share = fields.Integer()
    metric = fields.String()
    wait_hours = fields.Integer()
    decision = fields.String()
    decide_at = fields.DateTime(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    winner = fields.String(allow_none=True)
    decided_by = fields.String(allow_none=True)
    test_recipients = fields.Integer(allow_none=True)
    held_recipients = fields.Integer(allow_none=True)
    currency = fields.String(allow_none=True)
    leader = fields.String()
    p_value = fields.Float(allow_none=True)  # across the variants (revenue: the leader against the runner-up)
    significant = fields.Boolean()
    variants = fields.List(fields.Nested(AbVariantSchema))
