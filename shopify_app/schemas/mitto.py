"""Mitto callbacks. Mitto's format is not publicly documented and integrations disagree, so one
schema accepts both spellings of every field (camelCase and snake_case)."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, ValidationError, fields, pre_load, validate

from .base import Schema

ALIASES = {
    "message_id": ("messageId", "message_id", "id"),
    "reference": ("reference",),  # ours: the message id we sent it with
    "status": ("deliveryStatus", "delivery_status", "status"),
    "reported_at": ("updatedAt", "updated_at", "timestamp", "deliveredAt"),
    "error_code": ("error", "error_code", "errorCode"),
    "description": ("description", "error_message", "errorMessage"),
}


def _first(data: dict[str, Any], names: tuple[str, ...]) -> Any:
    return next((data[name] for name in names if data.get(name) not in (None, "")), None)


class DeliveryReportSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # unknown extra fields are ignored

    message_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    reference = fields.String(load_default=None, validate=validate.Length(max=64))
    status = fields.String(load_default="", validate=validate.Length(max=64))
    reported_at = fields.AwareDateTime(load_default=None, default_timezone=None)
    error_code = fields.String(load_default=None, validate=validate.Length(max=64))
    description = fields.String(load_default=None)

    @pre_load
    def _aliases(self, data: Any, **_: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise ValidationError("A report must be an object.")
        normalised = {key: _first(data, names) for key, names in ALIASES.items()}
        for key in ("message_id", "reference", "error_code"):  # numbers arrive as numbers in some integrations
            if isinstance(normalised[key], int | float):
                normalised[key] = str(normalised[key])
        if isinstance(normalised["error_code"], dict):  # {"error": {"code": ..., "message": ...}}
            normalised["error_code"] = str(normalised["error_code"].get("code") or "")[:64] or None
        if isinstance(normalised["reported_at"], int | float):
            normalised["reported_at"] = None  # epoch numbers: the receive time stands in
        return {key: value for key, value in normalised.items() if value is not None}


INBOUND_ALIASES = {
    "sender": ("from", "phone", "sender", "msisdn"),
    "to": ("to", "destination", "recipient"),
    "text": ("text", "message", "body"),
    "message_id": ("messageId", "message_id", "id"),
    "received_at": ("timestamp", "receivedAt", "received_at"),
}


class InboundSmsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    sender = fields.String(required=True, validate=validate.Length(min=3, max=40))
    to = fields.String(required=True, validate=validate.Length(min=2, max=40))
    text = fields.String(load_default="", validate=validate.Length(max=2000))
    message_id = fields.String(load_default=None, validate=validate.Length(max=64))
    received_at = fields.AwareDateTime(load_default=None)

    @pre_load
    def _aliases(self, data: Any, **_: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise ValidationError("An inbound message must be an object.")
        normalised = {key: _first(data, names) for key, names in INBOUND_ALIASES.items()}
        for key in ("sender", "to", "message_id"):
            if isinstance(normalised[key], int | float):
                normalised[key] = str(normalised[key])
        if isinstance(normalised["received_at"], int | float):
            normalised["received_at"] = None
        return {key: value for key, value in normalised.items() if value is not None}
