"""/api/privacy: the GDPR requests Shopify sent for this shop, and their exports."""

from __future__ import annotations

from flask import Response, g, jsonify
from sqlalchemy import select

from ...errors import NotFound
from ...extensions import db
from ...job_names import BUILD_MERCHANT_EXPORT
from ...models import PrivacyRequest, PrivacyRequestKind
from ...schemas.privacy import CustomerLookupSchema, PrivacyRequestSchema
from ...services.privacy import privacy
from . import bp
from .common import audit_target, json_body


def _request(request_id: int) -> PrivacyRequest:
    found = db.session.scalar(
        select(PrivacyRequest).where(PrivacyRequest.id == request_id, PrivacyRequest.shop_id == g.shop.id)
    )
    if found is None:
        raise NotFound("No such privacy request.", code="privacy_request_not_found")
    return found


@bp.get("/privacy/requests")
def list_privacy_requests() -> Response:
    rows = db.session.scalars(
        select(PrivacyRequest).where(PrivacyRequest.shop_id == g.shop.id).order_by(PrivacyRequest.id.desc()).limit(200)
    )
    return jsonify({"items": PrivacyRequestSchema(many=True).dump(rows)})


@bp.get("/privacy/requests/<int:request_id>/export")
def download_privacy_export(request_id: int) -> Response:
    """The customer's data, as JSON, for the merchant to send them (Shopify asks within 30 days)."""
    found = _request(request_id)
    if found.kind == PrivacyRequestKind.MERCHANT_EXPORT:
        body = privacy.take_merchant_export(found)  # once: gone after this download
    elif found.kind == PrivacyRequestKind.DATA_REQUEST and found.export is not None:
        body = found.export
    else:
        raise NotFound("This request has no export (expired, or not a data request).", code="export_not_found")
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="customer-data-{found.id}.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/privacy/exports")
def request_customer_export() -> tuple[Response, int]:
    """Build a customer's data export (as for Shopify's customers/data_request) in a job; it is
    downloadable once from `.../requests/<id>/export`, for 7 days."""
    lookup = json_body(CustomerLookupSchema())
    request_record = privacy.request_export(shop=g.shop, lookup=lookup)
    audit_target("privacy_request", request_record.id)
    BUILD_MERCHANT_EXPORT.delay(request_record.id)
    db.session.refresh(request_record)
    return jsonify(PrivacyRequestSchema().dump(request_record)), 202


@bp.post("/privacy/erasures")
def erase_customer() -> tuple[Response, int]:
    """Erase a customer everywhere (as for Shopify's customers/redact)."""
    lookup = json_body(CustomerLookupSchema())
    record = privacy.erase(shop=g.shop, lookup=lookup, actor=f"user:{g.session_token.user_id}")
    audit_target("privacy_request", record.id)
    return jsonify(PrivacyRequestSchema().dump(record)), 200
