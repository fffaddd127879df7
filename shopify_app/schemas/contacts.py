"""Contacts API schemas: one schema per request and response shape, shared by every caller."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from marshmallow import ValidationError, fields, post_load, validate, validates, validates_schema

from ..models import ConsentState
from .base import Schema
from .campaigns import MessageSchema

TAG = validate.And(validate.Length(min=1, max=64), validate.Regexp(r"^[^\x00-\x1f,]+$"))
_BIRTHDAY = re.compile(r"(?:(\d{4})-)?(\d{2})-(\d{2})")


def validate_birthday(value: str) -> None:
    match = _BIRTHDAY.fullmatch(value)
    if not match:
        raise ValidationError("Use YYYY-MM-DD or MM-DD.")
    year, month, day = match.groups()
    try:
        date(int(year or 2000), int(month), int(day))  # 2000 is a leap year: 02-29 is allowed
    except ValueError:
        raise ValidationError("Not a calendar date.") from None
    if year and not 1900 <= int(year) <= date.today().year:
        raise ValidationError("Year out of range.")


class _ContactFields(Schema):
    phone = fields.String(validate=validate.Length(min=1, max=40))
    first_name = fields.String(allow_none=True, validate=validate.Length(max=100))
    last_name = fields.String(allow_none=True, validate=validate.Length(max=100))
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    birthday = fields.String(allow_none=True, validate=validate_birthday)
    tags = fields.List(fields.String(validate=TAG), validate=validate.Length(max=50))
    consent_state = fields.String(
        validate=validate.OneOf([ConsentState.SUBSCRIBED.value, ConsentState.UNSUBSCRIBED.value])
    )
    consent_text = fields.String(validate=validate.Length(min=1, max=2000))

    @validates("tags")
    def _strip_tags(self, value: list[str], **_: Any) -> None:
        if any(tag != tag.strip() for tag in value):
            raise ValidationError("Tags must not start or end with spaces.")

    @validates_schema
    def _consent_needs_text(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("consent_state") == ConsentState.SUBSCRIBED.value and not data.get("consent_text"):
            raise ValidationError("Subscribing needs the consent text the shopper agreed to.", "consent_text")


class ContactCreateSchema(_ContactFields):
    phone = fields.String(required=True, validate=validate.Length(min=1, max=40))


class ContactUpdateSchema(_ContactFields):
    pass


class ContactSchema(Schema):
    id = fields.Integer()
    phone = fields.String()
    email = fields.String(allow_none=True)
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    birthday = fields.String(allow_none=True)
    tags = fields.List(fields.String())
    consent_state = fields.String()
    consent_source = fields.String(allow_none=True)
    # Where the SMS consent stands in Shopify: pending, synced, not_synced (no Shopify customer
    # and the shop does not add subscribers), failed; null when never sent.
    shopify_sync = fields.String(allow_none=True)
    consented_at = fields.DateTime(allow_none=True)
    unsubscribed_at = fields.DateTime(allow_none=True)
    country_code = fields.String(allow_none=True)
    timezone = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ContactListQuerySchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None, validate=validate.Length(max=200))
    consent_state = fields.String(validate=validate.OneOf([state.value for state in ConsentState]))
    tag = fields.String(validate=TAG)
    created_from = fields.AwareDateTime(default_timezone=None)
    created_to = fields.AwareDateTime(default_timezone=None)
    phone = fields.String(validate=validate.Length(min=1, max=40))
    email = fields.Email(validate=validate.Length(max=254))  # found by its blind index, like phone

    @post_load
    def _split(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        limit, cursor = data.pop("limit"), data.pop("cursor")
        return {"limit": limit, "cursor": cursor, "filters": data}


class TagsSchema(Schema):
    tags = fields.List(fields.String(validate=TAG), required=True, validate=validate.Length(min=1, max=50))


class ConsentEventSchema(Schema):
    id = fields.Integer()
    state = fields.Function(lambda event: event.state.value)
    source = fields.Function(lambda event: event.source.value)
    consent_text = fields.String(allow_none=True)
    user_agent = fields.String(allow_none=True)
    occurred_at = fields.DateTime()


class ContactMessageSchema(MessageSchema):
    """A text sent to one contact, with what sent it (no phone, no text)."""

    campaign_id = fields.Integer()
    campaign_name = fields.String(allow_none=True)
    campaign_kind = fields.String(allow_none=True)  # broadcast, automation, transactional, conversation
