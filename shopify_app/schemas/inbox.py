"""The inbox: texts shoppers sent, threaded per contact, and the merchant's replies."""

from __future__ import annotations

from marshmallow import fields, validate

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
    """A contact who texted, with their latest text and how many of their texts are unread."""

    contact = fields.Nested(ThreadContactSchema)
    latest = fields.Nested(InboundSchema)
    unread = fields.Integer()


class ThreadPageSchema(Schema):
    """GET /api/inbox: a page of threads, and how many threads (all pages) have unread texts."""

    items = fields.List(fields.Nested(ThreadSchema), required=True)
    next_cursor = fields.String(allow_none=True)
    unread_threads = fields.Integer(required=True)


class MarkReadInSchema(Schema):
    """POST /api/inbox/<contact_id>/read (body optional): `through`, the newest text the screen
    showed (a text arriving after it stays unread); without it, every text so far."""

    through = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))


class MarkReadSchema(Schema):
    contact_id = fields.Integer()
    read_through = fields.Integer(allow_none=True)  # the newest inbound id marked read
    unread = fields.Integer()


class ReplyResultSchema(Schema):
    id = fields.Integer()  # the reply's automation run
    contact_id = fields.Integer()
    state = fields.String()
    skip_reason = fields.String(allow_none=True)
    defer_until = fields.DateTime(allow_none=True)
    sent_at = fields.DateTime(allow_none=True)
