"""Spend controls (GET/PATCH /api/billing/spend-controls): ONE schema for the settings, used by
the API to validate and by the services to load what is stored (services/billing/spend_cap.py).
"""

from __future__ import annotations

from marshmallow import EXCLUDE, RAISE, fields, validate

from ..services.billing.plans import PACKS
from .base import Schema
from .settings import StrictBoolean

CREDITS = validate.Range(min=1, max=10_000_000, error="Use a whole number of credits from 1 to 10,000,000.")
DEFAULT_AUTO_RECHARGE = {"enabled": False, "pack": "500", "when_below": 100}


class AutoRechargeSchema(Schema):
    class Meta:
        unknown = RAISE

    enabled = StrictBoolean(load_default=False)
    pack = fields.String(load_default="500", validate=validate.OneOf(list(PACKS)))
    when_below = fields.Integer(load_default=100, strict=True, validate=CREDITS)


class SpendSettingsSchema(Schema):
    """Stored as dumped; loaded (defaults filled in) by every reader."""

    class Meta:
        unknown = EXCLUDE  # keys written by older versions are ignored, never misread

    # Alert (banner and email) once when the balance falls below this many credits; None: off.
    low_balance_threshold = fields.Integer(load_default=None, allow_none=True, strict=True, validate=CREDITS)
    auto_recharge = fields.Nested(AutoRechargeSchema, load_default=lambda: dict(DEFAULT_AUTO_RECHARGE))
    # No launch, batch or automation may make this cycle's spent and held credits pass it; None: no cap.
    spend_cap_per_cycle = fields.Integer(load_default=None, allow_none=True, strict=True, validate=CREDITS)


class AutoRechargeUpdateSchema(Schema):
    class Meta:
        unknown = RAISE

    enabled = StrictBoolean()
    pack = fields.String(validate=validate.OneOf(list(PACKS)))
    when_below = fields.Integer(strict=True, validate=CREDITS)


class SpendSettingsUpdateSchema(Schema):
    """PATCH: only the keys sent change (within auto_recharge too); no defaults are filled in."""

    class Meta:
        unknown = RAISE

    low_balance_threshold = fields.Integer(allow_none=True, strict=True, validate=CREDITS)
    auto_recharge = fields.Nested(AutoRechargeUpdateSchema)
    spend_cap_per_cycle = fields.Integer(allow_none=True, strict=True, validate=CREDITS)


class SpendAlertSchema(Schema):
    id = fields.Integer()
    kind = fields.Function(lambda alert: alert.kind.value, metadata={"description": "low_balance | recharge_paused"})
    balance = fields.Integer(metadata={"description": "The balance when the alarm fired"})
    threshold = fields.Integer(metadata={"description": "The line it crossed (credits)"})
    created_at = fields.DateTime()
    emailed = fields.Function(lambda alert: alert.emailed_at is not None)


class UsageCapSchema(Schema):
    cap = fields.String(metadata={"description": "The usage line item's capped amount per 30 days (USD)"})
    used = fields.String()


class SpendControlsSchema(Schema):
    settings = fields.Nested(SpendSettingsSchema)
    balance = fields.Integer()
    committed_this_cycle = fields.Integer(metadata={"description": "Credits spent this cycle plus those held"})
    cap_room = fields.Integer(allow_none=True, metadata={"description": "Credits the spend cap still allows"})
    usage_cap = fields.Nested(UsageCapSchema)
    auto_recharge_available = fields.Boolean(metadata={"description": "The plan has a usage line item"})
    alerts = fields.List(fields.Nested(SpendAlertSchema), metadata={"description": "Open alerts, newest first"})
    automation_skips = fields.Integer(
        metadata={"description": "Automation texts skipped this cycle for lack of credits or the spend cap"}
    )


class SpendNoticesSchema(Schema):
    """The home banner: open spend alerts and this cycle's automation texts skipped for credits."""

    alerts = fields.List(fields.Nested(SpendAlertSchema))
    automation_skips = fields.Integer()


class UsageCapRaiseSchema(Schema):
    """POST /api/billing/usage-cap: ask Shopify for a higher usage cap (the merchant approves it)."""

    capped_amount = fields.Decimal(
        required=True,
        places=2,
        as_string=True,
        validate=validate.Range(min=1, max=10_000),
        metadata={"example": "200.00"},
    )


class UsageCapRaisedSchema(Schema):
    confirmation_url = fields.String(metadata={"description": "Shopify's page where the merchant approves the new cap"})
    capped_amount = fields.String()
