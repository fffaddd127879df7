"""Report and audit queries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from marshmallow import ValidationError, fields, post_load, validate

from ..models.types import utcnow
from ..services.campaigns.reports import SUMMARY_DAYS
from .base import Schema

MAX_PERIOD = timedelta(days=366)


class ReportFormatSchema(Schema):
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


class SummaryQuerySchema(ReportFormatSchema):
    """`from` / `to`: UTC days, both included (ISO dates); default the last 30 days."""

    from_ = fields.Date(data_key="from", load_default=None)
    to = fields.Date(load_default=None)

    @post_load
    def _defaults(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        last = data.pop("to") or utcnow().date()
        first = data.pop("from_") or last - timedelta(days=SUMMARY_DAYS - 1)
        if first > last:
            raise ValidationError({"from": ["Must not be after `to`."]})
        if last - first >= MAX_PERIOD:
            raise ValidationError({"from": ["A report covers at most 366 days."]})
        data["first"], data["last"] = first, last
        return data


class AuditEntrySchema(Schema):
    id = fields.Integer()
    actor = fields.String()
    action = fields.String()
    target_type = fields.String(allow_none=True)
    target_id = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)
    details = fields.Dict()
    created_at = fields.DateTime()
