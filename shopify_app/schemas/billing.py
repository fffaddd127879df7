"""Billing requests."""

from __future__ import annotations

from marshmallow import fields, validate

from ..services.plans import PACKS, PLANS
from .base import Schema


class SubscribeSchema(Schema):
    plan = fields.String(required=True, validate=validate.OneOf([key for key in PLANS if key != "free"]))


class CreditPackSchema(Schema):
    pack = fields.String(required=True, validate=validate.OneOf(list(PACKS)))
