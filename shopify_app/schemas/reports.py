"""Report and audit queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate

from ..models.types import utcnow

MAX_PERIOD = timedelta(days=366)


class ReportFormatSchema(Schema):
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


class SummaryQuerySchema(ReportFormatSchema):
    """`from` / `to` as ISO dates or datetimes (UTC when no offset); default the last 30 days."""

    from_ = fields.DateTime(data_key="from", load_default=None)
    to = fields.DateTime(load_default=None)

    @post_load
    def _defaults(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        end = data["to"] or utcnow()
        start = data.pop("from_") or end - timedelta(days=30)
        data["start"], data["end"] = _utc(start), _utc(end)
        if data["start"] >= data["end"]:
            raise ValidationError({"from": ["Must be before `to`."]})
        if data["end"] - data["start"] > MAX_PERIOD:
            raise ValidationError({"from": ["A report covers at most 366 days."]})
        return data


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class AuditEntrySchema(Schema):
    id = fields.Integer()
    actor = fields.String()
    action = fields.String()
    target_type = fields.String(allow_none=True)
    target_id = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)
    details = fields.Dict()
    created_at = fields.DateTime()
