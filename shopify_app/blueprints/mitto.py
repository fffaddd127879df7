"""Mitto callbacks: delivery reports and inbound texts. Mitto signs nothing, so the unguessable path segment
(`MITTO_WEBHOOK_SECRET`) is the credential, compared in constant time; a wrong one is a 404."""

from __future__ import annotations

import hmac

import structlog
from flask import Blueprint, Response, current_app, jsonify, request
from marshmallow import ValidationError

from ..errors import BadRequest, NotFound
from ..job_names import PROCESS_INBOUND
from ..schemas.mitto import DeliveryReportSchema, InboundSmsSchema
from ..services.contacts import inbound
from ..services.sending import delivery

bp = Blueprint("mitto", __name__, url_prefix="/mitto")
log = structlog.get_logger(__name__)
report_schema = DeliveryReportSchema()
inbound_schema = InboundSmsSchema()


def _check_secret(secret: str) -> None:
    expected = current_app.config.get("MITTO_WEBHOOK_SECRET") or ""
    if not expected or not hmac.compare_digest(secret.encode(), expected.encode()):
        raise NotFound()


@bp.post("/dlr/<secret>")
def delivery_reports(secret: str) -> tuple[Response, int]:
    _check_secret(secret)
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict | list):
        raise BadRequest("Send a delivery report object or an array of them.", code="invalid_body")
    items = payload if isinstance(payload, list) else [payload]
    valid, invalid = [], 0
    for item in items:
        try:
            valid.append(report_schema.load(item))
        except ValidationError:
            invalid += 1
    if items and not valid:
        raise BadRequest(
            "No valid delivery report (each needs a message id).", code="invalid_reports", details={"invalid": invalid}
        )
    if invalid:
        log.warning("dlr_reports_invalid", invalid=invalid, valid=len(valid))  # counts only: no PII
    recorded = delivery.record_reports(valid)
    if recorded:
        delivery.request_apply()
    return jsonify({"accepted": recorded, "invalid": invalid}), 202


@bp.post("/inbound/<secret>")
def inbound_sms(secret: str) -> tuple[Response, int]:
    _check_secret(secret)
    payload = request.get_json(silent=True)
    if payload is None and request.form:
        payload = request.form.to_dict()
    try:
        message = inbound_schema.load(payload if isinstance(payload, dict) else None)
    except ValidationError as exc:
        raise BadRequest(
            "Not a valid inbound message.",
            code="invalid_inbound",
            details={"fields": sorted(exc.messages) if isinstance(exc.messages, dict) else []},
        ) from None
    inbound_id = inbound.record(
        sender=message["sender"], to=message["to"], text=message["text"], message_id=message.get("message_id")
    )
    if inbound_id is not None:
        PROCESS_INBOUND.delay(inbound_id)
    return jsonify({"status": "accepted" if inbound_id is not None else "duplicate"}), 202
