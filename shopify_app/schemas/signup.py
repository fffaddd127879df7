"""What the storefront sign-up form (or a JSON client) may post."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, ValidationError, fields, pre_load, validate, validates

from .base import Schema
from .contacts import validate_birthday

CONSENT_GIVEN = frozenset({"on", "true", "1", "yes"})
# The hosted join page's form versions: the server knows the disclosure each one shows
# (services/join_page.py), so a sign-up naming one stores that text, never a posted one.
JOIN_FORMS = ("join-v1",)
# An HTML form posts an empty optional input as "": that is "not given", not a bad value.
OPTIONAL_FORM_FIELDS = ("first_name", "last_name", "email", "birthday", "country")


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
    # The country picked beside the number (a number written with +<code> needs none).
    country = fields.String(load_default=None, validate=validate.Regexp(r"^[A-Z]{2}$"))
    join_form = fields.String(load_default=None, validate=validate.OneOf(JOIN_FORMS))
    # The fingerprint of the disclosure the form showed (required with `join_form`): the server
    # compares it with the text it would store and refuses the sign-up when they differ.
    disclosure_digest = fields.String(load_default=None, validate=validate.Regexp(r"^[0-9a-f]{16}$"))

    @pre_load
    def _blank_is_absent(self, data: Any, **_: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {key: value for key, value in data.items() if not (key in OPTIONAL_FORM_FIELDS and value == "")}

    @validates("consent")
    def _consent_given(self, value: Any, **_: Any) -> None:
        if str(value).strip().lower() not in CONSENT_GIVEN and value is not True:
            raise ValidationError("Tick the box to agree to receive marketing texts.")


class BackInStockSchema(SignupSchema):
    """A sign-up that also asks to be told when a sold-out variant is back."""

    variant_id = fields.Integer(required=True, strict=False, validate=validate.Range(min=1, max=2**63 - 1))
    product_title = fields.String(load_default=None, validate=validate.Length(max=255))


class TextToJoinSchema(Schema):
    keyword = fields.String(required=True)
    number = fields.String(required=True)  # E.164 (or a short code)
    text = fields.String(required=True)  # "Text JOIN to +1 415-555-0100"


class SignupLinksSchema(Schema):
    """GET /api/signup/links: where shoppers join, for the merchant to share."""

    join_url = fields.String(required=True)  # https://<shop>/apps/sms/join
    qr_svg_url = fields.String(required=True)
    qr_png_url = fields.String(required=True)
    # Null without a join keyword or a number of the shop's own to text it to.
    text_to_join = fields.Nested(TextToJoinSchema, required=True, allow_none=True)
