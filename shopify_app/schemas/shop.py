"""Shop profile as the embedded admin sees it."""

from __future__ import annotations

from marshmallow import fields

from .base import Schema


class ShopSchema(Schema):
    id = fields.Integer()
    domain = fields.String()
    name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    country_code = fields.String(allow_none=True)
    currency = fields.String(allow_none=True)
    timezone = fields.String(allow_none=True)
    plan = fields.String(allow_none=True)
    scopes = fields.List(fields.String())
    installed_at = fields.DateTime(allow_none=True)


class SetupSchema(Schema):
    """GET /api/setup: the home screen's checklist (services/setup.py says what each means)."""

    sender = fields.Boolean()
    storefront_signup = fields.Boolean()
    first_campaign = fields.Boolean()
    billing = fields.Boolean()
    complete = fields.Boolean()
