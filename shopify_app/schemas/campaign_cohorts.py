"""A local-time campaign's cohorts: the request fields and the cohort list (GET
/api/campaigns/<id>/cohorts)."""

from __future__ import annotations

from marshmallow import fields, validate

from .base import Schema

# "HH:MM", 24-hour, on each recipient's clock.
LOCAL_TIME = validate.Regexp(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", error="Give a time as HH:MM, e.g. 10:00.")


class CohortSchema(Schema):
    starts_at = fields.DateTime()
    zones = fields.List(fields.String())
    recipients = fields.Integer()
    state = fields.String(metadata={"enum": ["waiting", "sending", "paused", "done", "cancelled"]})
    sent = fields.Integer()  # accepted by the provider (delivered included)
    delivered = fields.Integer()
    waiting = fields.Integer()  # still to go: queued, deferred or being sent
    failed = fields.Integer()
    skipped = fields.Integer()
    cancelled = fields.Integer()


class CohortListSchema(Schema):
    local_send_time = fields.String(allow_none=True)
    local_send_date = fields.Date(allow_none=True)
    items = fields.List(fields.Nested(CohortSchema))
