"""Import/export progress as the admin sees it."""

from __future__ import annotations

from marshmallow import fields

from .base import Schema


class TransferSchema(Schema):
    id = fields.Integer()
    kind = fields.Function(lambda transfer: transfer.kind.value)
    status = fields.Function(lambda transfer: transfer.status.value)
    filename = fields.String(allow_none=True)
    total_rows = fields.Integer()
    processed_rows = fields.Integer()
    created_count = fields.Integer()
    updated_count = fields.Integer()  # existing contacts a Shopify import subscribed
    error_count = fields.Integer()
    errors = fields.List(fields.Dict())
    failure = fields.String(allow_none=True)
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
