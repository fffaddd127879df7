"""Numeric senders: the operator's assignments (/ops/senders) and a shop's own numbers (/api/senders)."""

from __future__ import annotations

from marshmallow import fields, validate

from .base import Schema


class SenderAssignSchema(Schema):
    number = fields.String(required=True, validate=validate.Length(min=4, max=40))
    shop_domain = fields.String(required=True, validate=validate.Length(min=3, max=255))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=255))


class SenderNumberSchema(Schema):
    number = fields.String(required=True)
    shop_domain = fields.String(allow_none=True)
    assigned_at = fields.DateTime(allow_none=True)
    released_at = fields.DateTime(allow_none=True)
    note = fields.String(allow_none=True)


class ShopSenderSchema(Schema):
    """A number the shop may choose as its `sender_id` (and the one its texts go from now)."""

    number = fields.String(required=True)
    assigned_at = fields.DateTime(allow_none=True)


class ShopSendersSchema(Schema):
    items = fields.List(fields.Nested(ShopSenderSchema), required=True)
    # What texts go from now: to US/CA numbers (null: none, they are not sent) and elsewhere.
    us_ca_sender = fields.String(allow_none=True, required=True)
    other_sender = fields.String(required=True)
