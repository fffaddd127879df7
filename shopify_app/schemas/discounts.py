"""Discount requests and responses."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from ..models import DiscountKind, DiscountValueType
from .base import Schema

CODE = validate.Regexp(r"^[A-Za-z0-9_-]+$", error="Letters, digits, - and _ only.")


class DiscountCreateSchema(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=120))
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in DiscountKind]))
    # The code (shared) or the prefix of every recipient's code (unique: PREFIX-XXXXXXXX).
    code = fields.String(required=True, validate=[validate.Length(min=3, max=20), CODE])
    value_type = fields.String(required=True, validate=validate.OneOf([v.value for v in DiscountValueType]))
    # The column is NUMERIC(10, 2): a larger value would be refused by the database.
    value = fields.Decimal(required=True, places=2, validate=validate.Range(min=0.01, max=99_999_999.99))
    ends_at = fields.AwareDateTime(load_default=None, allow_none=True)

    @validates_schema
    def _consistent(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("value_type") == DiscountValueType.PERCENTAGE and data.get("value", 0) > 100:
            raise ValidationError("A percentage is at most 100.", "value")
        if data.get("kind") == DiscountKind.UNIQUE and len(data.get("code", "")) > 9:
            raise ValidationError("A unique code's prefix is at most 9 characters.", "code")


class DiscountSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    kind = fields.Function(lambda d: d.kind.value)
    code = fields.String()
    value_type = fields.Function(lambda d: d.value_type.value)
    value = fields.String()  # a decimal as text, e.g. "15.00"
    ends_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
