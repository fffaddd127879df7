"""The base of every schema here: what a schema loads is checked once more for values no
column, id or date can hold (shopify_app/inputs.py), whatever type the field declared; a string
of 30 digits loaded as an Integer, or a date at year 1 with an offset, is a 422 naming the field."""

from __future__ import annotations

from typing import Any

import marshmallow
from marshmallow import ValidationError, validates_schema

from ..inputs import REASONS, hostile_reason


class Schema(marshmallow.Schema):
    @validates_schema
    def _no_hostile_values(self, data: dict[str, Any], **_: Any) -> None:
        errors = {}
        for name, value in data.items():
            if reason := hostile_reason(value):
                field = self.fields.get(name)
                errors[(field.data_key if field is not None else None) or name] = [REASONS[reason]]
        if errors:
            raise ValidationError(errors)
