"""Templates and campaigns: request and response shapes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from marshmallow import ValidationError, fields, validate, validates, validates_schema

from ..models import MessageState
from ..models.types import utcnow
from .base import Schema
from .campaign_cohorts import LOCAL_TIME

NAME = validate.Length(min=1, max=120)
BODY = validate.Length(min=1, max=1600)


def one_message_source(data: dict[str, Any]) -> None:
    """A body or a template, never both: a template's body replaces the text, so one of the two
    would be dropped without a word. (A null template_id means "no template".)"""
    if data.get("body") is not None and data.get("template_id") is not None:
        message = "Give a body or a template_id, not both."
        raise ValidationError({"body": [message], "template_id": [message]})


class TemplateInSchema(Schema):
    name = fields.String(required=True, validate=NAME)
    body = fields.String(required=True, validate=BODY)


class TemplateUpdateSchema(Schema):
    name = fields.String(validate=NAME)
    body = fields.String(validate=BODY)


class TemplateSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    body = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class PreviewInSchema(Schema):
    body = fields.String(required=True, validate=BODY)
    first_name = fields.String(load_default="Alex", validate=validate.Length(max=100))
    last_name = fields.String(load_default="", validate=validate.Length(max=100))
    discount_code = fields.String(load_default="", validate=validate.Length(max=40))
    # The shop's discount whose code the preview shows, as a test send renders it (a shared
    # code as it is, a per-recipient one as PREFIX-TESTCODE); it replaces `discount_code`.
    discount_id = fields.Integer(load_default=None, allow_none=True)


class CampaignCreateSchema(Schema):
    name = fields.String(required=True, validate=NAME)
    body = fields.String(validate=BODY)
    template_id = fields.Integer(allow_none=True)
    segment_id = fields.Integer(allow_none=True)
    discount_id = fields.Integer(allow_none=True)
    media_id = fields.Integer(allow_none=True)  # an image (POST /api/media): an MMS campaign
    send_at = fields.AwareDateTime(allow_none=True)
    # Send at this time on each recipient's clock (null: off), on that date when given.
    local_send_time = fields.String(allow_none=True, validate=LOCAL_TIME)
    local_send_date = fields.Date(allow_none=True)

    @validates_schema
    def _body_or_template(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("body") and not data.get("template_id"):
            raise ValidationError("Give a body or a template_id.", "body")
        one_message_source(data)


class CampaignUpdateSchema(Schema):
    name = fields.String(validate=NAME)
    body = fields.String(validate=BODY)
    template_id = fields.Integer(allow_none=True)
    segment_id = fields.Integer(allow_none=True)
    discount_id = fields.Integer(allow_none=True)
    media_id = fields.Integer(allow_none=True)  # null: no image (a plain SMS campaign)
    send_at = fields.AwareDateTime(allow_none=True)
    # Send at this time on each recipient's clock (null: off), on that date when given.
    local_send_time = fields.String(allow_none=True, validate=LOCAL_TIME)
    local_send_date = fields.Date(allow_none=True)

    @validates_schema
    def _one_message_source(self, data: dict[str, Any], **_: Any) -> None:
        one_message_source(data)


# How far in the past a launch's `send_at` may be (clock skew, the seconds a confirmation takes).
SEND_AT_GRACE = timedelta(minutes=1)


class LaunchSchema(Schema):
    send_at = fields.AwareDateTime(allow_none=True)

    @validates("send_at")
    def _not_past(self, value: datetime | None, **_: Any) -> None:
        """A time that has passed is a 422, not a send now: a merchant who scheduled 9:00 at
        9:05 meant a schedule (leave `send_at` out, or null, to send now)."""
        if value is not None and value < utcnow() - SEND_AT_GRACE:
            raise ValidationError("This time has passed: choose a later one, or send now.")


class CampaignSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    body = fields.String()
    template_id = fields.Integer(allow_none=True)
    segment_id = fields.Integer(allow_none=True)
    discount_id = fields.Integer(allow_none=True)
    media_id = fields.Integer(allow_none=True)  # GET /api/media/<id>: its URL, size and dimensions
    state = fields.Function(lambda campaign: campaign.state.value)
    send_at = fields.DateTime(allow_none=True)
    local_send_time = fields.String(allow_none=True)
    local_send_date = fields.Date(allow_none=True)
    recipients = fields.Integer()
    failure_reason = fields.String(allow_none=True)
    launched_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class ListQuerySchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None, validate=validate.Length(max=200))


class MessageListQuerySchema(ListQuerySchema):
    state = fields.String(validate=validate.OneOf([state.value for state in MessageState]))


class MessageSchema(Schema):
    """A recipient's message as the merchant sees it: no phone, no text."""

    id = fields.Integer()
    contact_id = fields.Integer(allow_none=True)
    state = fields.Function(lambda message: message.state.value)
    skip_reason = fields.String(allow_none=True)
    sender = fields.String(allow_none=True)  # what it went from (a name, or one of the shop's numbers)
    error_code = fields.String(allow_none=True)
    attempts = fields.Integer()
    segments = fields.Integer(allow_none=True)
    credits = fields.Integer(allow_none=True)
    sent_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    failed_at = fields.DateTime(allow_none=True)


class TestSendInSchema(Schema):
    """POST /api/campaigns/<id>/test-send. The number is checked with `phonenumbers` (E.164, or
    national with the shop's country); an `Idempotency-Key` header makes a retry send once."""

    __test__ = False

    phone = fields.String(required=True, validate=validate.Length(min=1, max=40))


class TestSendSchema(Schema):
    """A campaign test: its message's state as the send path left it (202: `queued` while a
    worker has yet to send it; `sent`, `skipped` with `skip_reason`, `failed` with `error_code`)."""

    __test__ = False

    id = fields.Integer()
    campaign_id = fields.Integer(allow_none=True)
    message_id = fields.Integer()
    phone = fields.String()  # masked, e.g. +1******0142
    state = fields.String()
    skip_reason = fields.String(allow_none=True)
    error_code = fields.String(allow_none=True)
    segments = fields.Integer(allow_none=True)
    credits = fields.Integer(allow_none=True)
    sent_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    daily_limit = fields.Integer()
    sent_today = fields.Integer()  # tests recorded today (shop-local day), this one included
