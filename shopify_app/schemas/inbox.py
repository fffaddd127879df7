"""The inbox: texts shoppers sent, threaded per contact, and the merchant's replies."""

from __future__ import annotations

from marshmallow import fields

from .base import Schema


class InboundSchema(Schema):
    id = fields.Integer()
    text = fields.String(allow_none=True)
    keyword = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    received_at = fields.DateTime()


class ThreadContactSchema(Schema):
    id = fields.Integer()
    phone = fields.String(allow_none=True)  # masked, as in the contact list
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    consent_state = fields.String()


class ThreadSchema(Schema):
    """A contact who texted, with their latest text."""

    contact = fields.Nested(ThreadContactSchema)
    latest = fields.Nested(InboundSchema)


class ReplyResultSchema(Schema):
    id = fields.Integer()  # the reply's automation run
    contact_id = fields.Integer()
    state = fields.String()
    skip_reason = fields.String(allow_none=True)
    defer_until = fields.DateTime(allow_none=True)
    sent_at = fields.DateTime(allow_none=True)
