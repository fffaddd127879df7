"""Flows (services/flows/): request and response shapes of /api/flows.

The step tree is loaded as plain JSON here and checked by definition.check_steps, which names
each bad step (`details.step_errors`); these schemas bound its size (at most MAX_STEPS steps at
the top level, each text at most 1,600 characters through the template check).
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from ..models import FlowRunState
from ..services.flows.definition import MAX_STEPS, TRIGGERS
from ..services.flows.templates import BY_KEY
from .base import Schema
from .campaigns import ListQuerySchema

NAME = validate.Length(min=1, max=120)
TRIGGER = validate.OneOf(list(TRIGGERS))
STEPS = validate.Length(min=1, max=MAX_STEPS)


class _FlowFields(Schema):
    """What a merchant writes on a flow, on create and on edit."""

    name = fields.String(validate=NAME)
    trigger = fields.String(validate=TRIGGER)
    trigger_config = fields.Dict(keys=fields.String(), values=fields.Raw())
    reentry = fields.Dict(keys=fields.String(), values=fields.Raw())
    exit_on_order = fields.Boolean()
    steps = fields.List(fields.Dict(keys=fields.String(), values=fields.Raw()), validate=STEPS)


class FlowCreateSchema(_FlowFields):
    """A flow from scratch (name, trigger, steps), or from a template ({"template", "name"?})."""

    template = fields.String(validate=validate.OneOf(list(BY_KEY)))

    @validates_schema
    def _whole_or_template(self, data: dict[str, Any], **_: Any) -> None:
        if "template" in data:
            extra = sorted(set(data) - {"template", "name"})
            if extra:
                raise ValidationError({name: ["Not with a template: edit the flow once created."] for name in extra})
            return
        missing = [name for name in ("name", "trigger", "steps") if name not in data]
        if missing:
            raise ValidationError({name: ["Missing data for required field."] for name in missing})


class FlowUpdateSchema(_FlowFields):
    enabled = fields.Boolean()


class FlowRunQuerySchema(ListQuerySchema):
    state = fields.String(validate=validate.OneOf([state.value for state in FlowRunState]))


class FlowVersionSchema(Schema):
    id = fields.Integer()
    number = fields.Integer()
    created_at = fields.DateTime()


class _FlowFields(Schema):
    id = fields.Integer()
    name = fields.String()
    trigger = fields.String()
    trigger_label = fields.String()
    trigger_config = fields.Dict()
    reentry = fields.Dict()
    exit_on_order = fields.Boolean()
    enabled = fields.Boolean()
    engine = fields.String(metadata={"enum": ["automation", "steps"]})
    from_automation = fields.Boolean()  # made from a pre-flow automation: trigger fixed, no delete
    template = fields.String(allow_none=True)  # the template it was made from
    steps_count = fields.Integer()
    active_runs = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class FlowSummarySchema(_FlowFields):
    version = fields.Integer()  # the current version's number


class FlowSchema(_FlowFields):
    version = fields.Nested(FlowVersionSchema)
    steps = fields.List(fields.Dict())  # the tree (definition.py), without automation ids


class FlowTriggerSchema(Schema):
    key = fields.String()
    label = fields.String()
    variables = fields.List(fields.String())
    config = fields.Dict()  # the trigger's settings and their defaults


class ConditionKindSchema(Schema):
    key = fields.String()
    label = fields.String()


class FlowCatalogSchema(Schema):
    triggers = fields.List(fields.Nested(FlowTriggerSchema))
    step_types = fields.List(fields.String())
    condition_kinds = fields.List(fields.Nested(ConditionKindSchema))
    reentry_modes = fields.List(fields.String())


class FlowTemplateSchema(Schema):
    key = fields.String()
    name = fields.String()
    description = fields.String()
    trigger = fields.String()
    trigger_config = fields.Dict()
    reentry = fields.Dict()
    exit_on_order = fields.Boolean()
    steps = fields.List(fields.Dict())


class FlowRunSchema(Schema):
    id = fields.Integer()
    flow_id = fields.Integer()
    contact_id = fields.Integer()  # the subscriber page's id; runs carry no phone
    state = fields.String(metadata={"enum": [state.value for state in FlowRunState]})
    step_id = fields.String(allow_none=True)  # the step it runs next (null once ended)
    due_at = fields.DateTime(allow_none=True)
    started_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    exit_reason = fields.String(allow_none=True)  # why an ended run ended
    retries = fields.Integer()  # an active run's failed attempts at its current step
    version = fields.Integer()  # the number of the version it runs on
    version_id = fields.Integer()


class FlowRunStepSchema(Schema):
    step_id = fields.String()
    step_type = fields.String()
    outcome = fields.String()  # sent | skipped | waited | yes | no | tagged | untagged | exited
    detail = fields.Dict()  # why: {"reason": ...}
    created_at = fields.DateTime()


class FlowRunDetailSchema(FlowRunSchema):
    steps = fields.List(fields.Nested(FlowRunStepSchema))
    version_steps = fields.List(fields.Dict())  # the step tree of the version the run follows


class _Figures(Schema):
    sent = fields.Integer()
    delivered = fields.Integer()
    clicks = fields.Integer()
    unique_clicks = fields.Integer()
    orders = fields.Integer()
    revenue = fields.Float()  # attributed, in `currency`
    currency = fields.String(allow_none=True)
    revenue_by_currency = fields.Dict(keys=fields.String(), values=fields.String())


class RunCountsSchema(Schema):
    active = fields.Integer()
    completed = fields.Integer()
    exited = fields.Integer()


class FlowTotalsSchema(_Figures):
    runs = fields.Nested(RunCountsSchema)
    exits = fields.Dict(keys=fields.String(), values=fields.Integer())  # ended runs by exit reason


class StepReportSchema(_Figures):
    step_id = fields.String()
    type = fields.String()
    entered = fields.Integer()  # runs that took the step
    outcomes = fields.Dict(keys=fields.String(), values=fields.Integer())  # yes/no, sent/skipped, exited ...
    reasons = fields.Dict(keys=fields.String(), values=fields.Integer())  # why (exits, skips) by reason


class FlowReportSchema(Schema):
    flow_id = fields.Integer()
    flow = fields.Nested(FlowTotalsSchema)
    steps = fields.List(fields.Nested(StepReportSchema))
