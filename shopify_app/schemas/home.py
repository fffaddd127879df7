"""GET /api/home: the home screen's figures in one answer."""

from __future__ import annotations

from marshmallow import fields

from .base import Schema
from .campaigns import CampaignSchema
from .shop import SetupSchema, ShopSchema
from .spend import SpendNoticesSchema


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
    setup = fields.Nested(SetupSchema)
    balance = fields.Integer(metadata={"description": "Credits available"})
    last_30_days = fields.Nested(WindowFiguresSchema)
    recent_campaigns = fields.List(fields.Nested(CampaignSchema))
    spend = fields.Nested(SpendNoticesSchema)
