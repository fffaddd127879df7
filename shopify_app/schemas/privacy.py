"""GDPR requests as the merchant sees them (counts, never the data itself)."""

from __future__ import annotations

from marshmallow import Schema, fields


class PrivacyRequestSchema(Schema):
    id = fields.Integer()
    kind = fields.Function(lambda request: request.kind.value)
    shopify_request_id = fields.String(allow_none=True)
    summary = fields.Dict()
    has_export = fields.Function(lambda request: request.export_ciphertext is not None)
    created_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True)
