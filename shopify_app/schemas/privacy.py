"""GDPR requests as the merchant sees them (counts, never the data itself)."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from .base import Schema


class PrivacyRequestSchema(Schema):
    id = fields.Integer()
    kind = fields.Function(lambda request: request.kind.value)
    shopify_request_id = fields.String(allow_none=True)
    summary = fields.Dict()
    has_export = fields.Function(lambda request: request.export_ciphertext is not None)
    created_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True)


class CustomerLookupSchema(Schema):
    """Which customer: a phone number (the shop's country when no +code) or an email, or both."""

    phone = fields.String(validate=validate.Length(min=3, max=40))
    email = fields.Email(validate=validate.Length(max=254))

    @validates_schema
    def _one_given(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("phone") and not data.get("email"):
            raise ValidationError("Give the customer's phone or email.", "phone")
