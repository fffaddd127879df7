"""/api/privacy: the GDPR requests Shopify sent for this shop, and their exports."""

from __future__ import annotations

from flask import Response, g, jsonify
from sqlalchemy import select

from ...errors import NotFound
from ...extensions import db
from ...models import PrivacyRequest, PrivacyRequestKind
from ...schemas.privacy import PrivacyRequestSchema
from . import bp


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
    if found.kind != PrivacyRequestKind.DATA_REQUEST or found.export is None:
        raise NotFound("This request has no export (expired, or not a data request).", code="export_not_found")
    response = Response(found.export, mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="customer-data-{found.id}.json"'
    response.headers["Cache-Control"] = "no-store"
    return response
