"""GET /api/home: the home screen's figures in one answer."""

from __future__ import annotations

from marshmallow import Schema, fields

from .campaigns import CampaignSchema
from .shop import ShopSchema


class SetupStepsSchema(Schema):
    sender = fields.Boolean(metadata={"description": "The shop holds a number to send from"})
    storefront_signup = fields.Boolean(metadata={"description": "Someone signed up on the storefront form"})
    first_campaign = fields.Boolean(metadata={"description": "A campaign was launched"})
    billing = fields.Boolean(metadata={"description": "An active plan or a credit pack bought"})


class WindowFiguresSchema(Schema):
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    subscribers_gained = fields.Integer()
    revenue = fields.Dict(keys=fields.String(), values=fields.String(), metadata={"description": "Per currency"})
    orders = fields.Integer()
    delivered = fields.Integer()
    clicks = fields.Integer()
    opt_outs = fields.Integer()


class HomeSchema(Schema):
    shop = fields.Nested(ShopSchema)
    setup = fields.Nested(SetupStepsSchema)
    balance = fields.Integer(metadata={"description": "Credits available"})
    last_30_days = fields.Nested(WindowFiguresSchema)
    recent_campaigns = fields.List(fields.Nested(CampaignSchema))
