"""What the storefront sign-up form (or a JSON client) may post."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, ValidationError, fields, validate, validates

from .base import Schema
from .contacts import validate_birthday

CONSENT_GIVEN = frozenset({"on", "true", "1", "yes"})


class SignupSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # storefront themes add their own fields (form_type, utf8, ...)

    phone = fields.String(required=True, validate=validate.Length(min=1, max=40))
    consent = fields.Raw(required=True)
    consent_text = fields.String(load_default=None, validate=validate.Length(max=2000))
    first_name = fields.String(load_default=None, validate=validate.Length(max=100))
    last_name = fields.String(load_default=None, validate=validate.Length(max=100))
    email = fields.Email(load_default=None, validate=validate.Length(max=254))
    birthday = fields.String(load_default=None, validate=validate_birthday)

    @validates("consent")
    def _consent_given(self, value: Any, **_: Any) -> None:
        if str(value).strip().lower() not in CONSENT_GIVEN and value is not True:
            raise ValidationError("Tick the box to agree to receive marketing texts.")


class BackInStockSchema(SignupSchema):
    """A sign-up that also asks to be told when a sold-out variant is back."""

    variant_id = fields.Integer(required=True, strict=False, validate=validate.Range(min=1, max=2**63 - 1))
    product_title = fields.String(load_default=None, validate=validate.Length(max=255))
