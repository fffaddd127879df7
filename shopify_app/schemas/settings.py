"""Shop settings: ONE schema, used by the API to validate and by every reader to load.

(The earlier product saved camelCase keys and read snake_case ones, so settings never applied;
here nothing reads `shop.settings` except through `load_settings`.)
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import EXCLUDE, ValidationError, fields, validate, validates

from .base import Schema

HHMM = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="Use 24-hour HH:MM.")
COUNTRY = validate.Regexp(r"^[A-Z]{2}$", error="Use ISO 3166 alpha-2 country codes, e.g. US.")
DEFAULT_QUIET_HOURS = {"start": "21:00", "end": "08:00"}
# Colours go into a style attribute on the storefront: #rrggbb and nothing else, so no value can
# end the attribute or carry CSS of its own.
COLOUR = validate.Regexp(r"^#[0-9a-fA-F]{6}$", error="Use a colour as #rrggbb, e.g. #1a73e8.")


NUMERIC_SENDER = re.compile(r"\+?[1-9]\d{3,14}")


def is_numeric_sender(value: object) -> bool:
    """A phone number (not an alphanumeric name): it must be one of the shop's own numbers."""
    return isinstance(value, str) and NUMERIC_SENDER.fullmatch(value) is not None


class StrictBoolean(fields.Boolean):
    """JSON true or false only: marshmallow's Boolean also takes 0, 1 and "yes"."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class QuietHoursSchema(Schema):
    start = fields.String(required=True, validate=HHMM)
    end = fields.String(required=True, validate=HHMM)


class FrequencyCapSchema(Schema):
    max_messages = fields.Integer(required=True, validate=validate.Range(min=1, max=100))
    per_days = fields.Integer(required=True, validate=validate.Range(min=1, max=90))


HOSTNAME = validate.Regexp(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
    error="Not a host name (e.g. shop.example.com).",
)


class ShopSettingsSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # keys written by older versions are ignored, never misread

    sender_id = fields.String(load_default=None, allow_none=True)
    quiet_hours = fields.Nested(QuietHoursSchema, load_default=lambda: dict(DEFAULT_QUIET_HOURS), allow_none=True)
    frequency_cap = fields.Nested(FrequencyCapSchema, load_default=None, allow_none=True)
    default_country = fields.String(load_default=None, allow_none=True, validate=COUNTRY)
    signup_countries = fields.List(fields.String(validate=COUNTRY), load_default=list, validate=validate.Length(max=50))
    join_keyword = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^[A-Za-z0-9]{2,20}$"))
    # Hosts besides the shop's own (its custom domain, a landing page) that texted links may
    # point to: every such link is shortened and tracked; /r/<code> redirects nowhere else.
    link_hosts = fields.List(fields.String(validate=HOSTNAME), load_default=list, validate=validate.Length(max=20))
    # "Add subscribers to Shopify customers": a subscriber with no Shopify customer becomes one
    # (customerCreate with the phone and its SMS consent); off, the contact shows "not synced".
    add_subscribers_to_shopify = StrictBoolean(load_default=False)
    # The hosted join page (/apps/sms/join): headline, incentive line, how often texts come
    # ("Up to 4 msgs/month", part of the consent disclosure) and the button's colours.
    join_headline = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=80))
    join_incentive = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))
    signup_frequency_text = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=60))
    join_button_color = fields.String(load_default=None, allow_none=True, validate=COLOUR)
    join_button_text_color = fields.String(load_default=None, allow_none=True, validate=COLOUR)

    @validates("sender_id")
    def _sender(self, value: str | None, **_: Any) -> None:
        # Alphanumeric sender ids are 1-11 characters with at least one letter; numeric ones are
        # phone numbers (E.164 digits) the operator assigned to the shop (services/settings.py).
        if value is None:
            return
        if not (re.fullmatch(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}", value) or is_numeric_sender(value)):
            raise ValidationError("Use up to 11 letters/digits (with a letter) or a phone number.")


class ShopSettingsUpdateSchema(ShopSettingsSchema):
    """PATCH: only the keys sent change; no defaults are filled in."""

    class Meta:
        unknown = "raise"

    sender_id = fields.String(allow_none=True)
    quiet_hours = fields.Nested(QuietHoursSchema, allow_none=True)
    frequency_cap = fields.Nested(FrequencyCapSchema, allow_none=True)
    default_country = fields.String(allow_none=True, validate=COUNTRY)
    signup_countries = fields.List(fields.String(validate=COUNTRY), validate=validate.Length(max=50))
    join_keyword = fields.String(allow_none=True, validate=validate.Regexp(r"^[A-Za-z0-9]{2,20}$"))
    link_hosts = fields.List(fields.String(validate=HOSTNAME), validate=validate.Length(max=20))
    add_subscribers_to_shopify = StrictBoolean()
    join_headline = fields.String(allow_none=True, validate=validate.Length(min=1, max=80))
    join_incentive = fields.String(allow_none=True, validate=validate.Length(min=1, max=200))
    signup_frequency_text = fields.String(allow_none=True, validate=validate.Length(min=1, max=60))
    join_button_color = fields.String(allow_none=True, validate=COLOUR)
    join_button_text_color = fields.String(allow_none=True, validate=COLOUR)
