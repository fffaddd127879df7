"""Segment filters: one schema, used by the API and by the code that evaluates segments."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, ValidationError, fields, pre_load, validate, validates_schema

from ..models import ConsentState
from .base import Schema
from .commerce_filters import CommerceFiltersSchema
from .contacts import TAG

COUNTRY = validate.Regexp(r"^[A-Z]{2}$", error="Use ISO 3166 alpha-2 country codes, e.g. US.")


class SegmentFiltersSchema(CommerceFiltersSchema):
    class Meta:
        unknown = RAISE

    consent_state = fields.String(validate=validate.OneOf([state.value for state in ConsentState]))
    tags_any = fields.List(fields.String(validate=TAG), validate=validate.Length(max=50))
    tags_all = fields.List(fields.String(validate=TAG), validate=validate.Length(max=50))
    tags_none = fields.List(fields.String(validate=TAG), validate=validate.Length(max=50))
    country_codes = fields.List(fields.String(validate=COUNTRY), validate=validate.Length(max=250))
    created_from = fields.AwareDateTime()
    created_to = fields.AwareDateTime()
    last_order_from = fields.AwareDateTime()
    last_order_to = fields.AwareDateTime()
    has_ordered = fields.Boolean()
    has_clicked = fields.Boolean()

    @validates_schema
    def _ranges(self, data: dict[str, Any], **_: Any) -> None:
        for start, end in (("created_from", "created_to"), ("last_order_from", "last_order_to")):
            if start in data and end in data and data[start] >= data[end]:
                raise ValidationError(f"{start} must be before {end}.", start)


class SegmentCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    filters = fields.Nested(SegmentFiltersSchema, load_default=dict)


class SegmentCountSchema(Schema):
    """POST /api/segments/count: the body POST /api/segments takes (`name` optional and ignored),
    so the editor posts its form as is. Deprecated but accepted: the filters object bare."""

    name = fields.String(validate=validate.Length(min=1, max=120))
    filters = fields.Nested(SegmentFiltersSchema, load_default=dict)

    @pre_load
    def _bare_filters(self, data: Any, **_: Any) -> Any:
        if isinstance(data, dict) and "filters" not in data and "name" not in data:
            return {"filters": data}  # the older shape: its keys are the filters' own
        return data


class SegmentUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=120))
    filters = fields.Nested(SegmentFiltersSchema)


class SegmentSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    filters = fields.Method("dump_filters")
    created_at = fields.DateTime()
    updated_at = fields.DateTime()

    def dump_filters(self, segment: Any) -> dict[str, Any]:
        return dict(segment.filters or {})


def filters_for_storage(filters: dict[str, Any]) -> dict[str, Any]:
    """JSON-safe form of loaded filters (datetimes as ISO strings); loading it again round-trips."""
    return dict(SegmentFiltersSchema().dump(filters))


def filters_from_storage(stored: dict[str, Any]) -> dict[str, Any]:
    return dict(SegmentFiltersSchema().load(stored or {}))
