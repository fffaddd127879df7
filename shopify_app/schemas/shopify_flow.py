"""What Shopify Flow POSTs to us: the trigger lifecycle callback and our actions' runs.

Flow may add fields to its payloads over time: unknown ones are ignored, never refused (a
refused action run is a failed workflow step). What we use is checked: a bad body is a 422,
which Flow does not retry.
"""

from __future__ import annotations

import re
from datetime import UTC
from typing import Any

from marshmallow import EXCLUDE, ValidationError, fields, validate, validates

from ..services.sending.rendering import TemplateError, validate_template
from ..services.shopify_flow.definitions import MESSAGE_VARIABLES
from .base import Schema
from .contacts import TAG

_CUSTOMER_ID = re.compile(r"(?:gid://shopify/Customer/)?([0-9]{1,19})")
_SHORT = validate.Length(min=1, max=255)


class CustomerId(fields.Field):
    """A Shopify customer id as Flow sends it (a number, digits, or a customer gid) -> int."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise ValidationError("Not a Shopify customer id.")
        text = str(value) if isinstance(value, int) else value
        match = _CUSTOMER_ID.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise ValidationError("Not a Shopify customer id.")
        number = int(match.group(1))
        if not 0 < number < 2**63:
            raise ValidationError("Not a Shopify customer id.")
        return number


class LifecycleSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    flow_trigger_definition_id = fields.String(required=True, validate=_SHORT)
    has_enabled_flow = fields.Boolean(required=True)
    shopify_domain = fields.String(required=True, validate=_SHORT)
    timestamp = fields.AwareDateTime(load_default=None, default_timezone=UTC)


class SendSmsProperties(Schema):
    class Meta:
        unknown = EXCLUDE

    customer_id = CustomerId(required=True)
    message = fields.String(required=True)

    @validates("message")
    def _valid_message(self, value: str, **_: Any) -> None:
        try:
            validate_template(value, MESSAGE_VARIABLES)
        except TemplateError as exc:
            raise ValidationError(exc.message) from None


class AddTagProperties(Schema):
    class Meta:
        unknown = EXCLUDE

    customer_id = CustomerId(required=True)
    tag = fields.String(required=True, validate=TAG)


class _ActionRun(Schema):
    class Meta:
        unknown = EXCLUDE

    action_run_id = fields.String(required=True, validate=_SHORT)
    shopify_domain = fields.String(required=True, validate=_SHORT)


class SendSmsActionSchema(_ActionRun):
    properties = fields.Nested(SendSmsProperties, required=True)


class AddTagActionSchema(_ActionRun):
    properties = fields.Nested(AddTagProperties, required=True)
