"""Automations and inbox replies: request and response shapes."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate, validates_schema

from ..services.automations.automations import CONDITION_LIMITS, DEFINITIONS, MAX_DELAY_MINUTES
from .base import Schema
from .campaigns import BODY, one_message_source


class AutomationSchema(Schema):
    id = fields.Integer()
    kind = fields.Function(lambda automation: automation.kind.value)
    enabled = fields.Boolean()
    body = fields.String()
    template_id = fields.Integer(allow_none=True)
    delay_minutes = fields.Integer()
    conditions = fields.Dict(keys=fields.String(), values=fields.Integer())
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    # What the editor may offer: the variables this kind's message may use, and the ranges of
    # its delay and conditions (the same rules PATCH applies).
    variables = fields.Function(lambda automation: list(DEFINITIONS[automation.kind].variables))
    limits = fields.Function(lambda automation: _limits(automation))
    # Texts skipped this billing cycle for lack of credits or the spend cap (the list and the
    # automation's own answer fill it in; services/billing/spend.py counts them).
    credit_skips = fields.Integer(dump_default=0)


def _limits(automation: Any) -> dict[str, dict[str, int]]:
    ranges = {"delay_minutes": {"min": 0, "max": MAX_DELAY_MINUTES}}
    for name in DEFINITIONS[automation.kind].conditions:
        low, high = CONDITION_LIMITS[name]
        ranges[name] = {"min": low, "max": high}
    return ranges


class AutomationUpdateSchema(Schema):
    enabled = fields.Boolean()
    body = fields.String(validate=BODY)
    template_id = fields.Integer(allow_none=True, validate=validate.Range(min=1))
    delay_minutes = fields.Integer(validate=validate.Range(min=0, max=MAX_DELAY_MINUTES))
    conditions = fields.Dict(keys=fields.String(), values=fields.Raw())

    @validates_schema
    def _one_message_source(self, data: dict[str, Any], **_: Any) -> None:
        one_message_source(data)


class AutomationRunSchema(Schema):
    id = fields.Integer()
    contact_id = fields.Integer()
    state = fields.Function(lambda run: run.state.value)
    due_at = fields.DateTime()
    cancel_reason = fields.String(allow_none=True)
    message_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class ReplyInSchema(Schema):
    text = fields.String(required=True, validate=[BODY, validate.Regexp(r"\S", error="The reply cannot be blank.")])
