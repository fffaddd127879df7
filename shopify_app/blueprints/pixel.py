"""`POST /pixel/events`: the product views our web pixel reports from storefronts.

Public and unsigned (Shopify does not sign pixel requests), so the view only parses and hands
over: services/pixel/intake.py decides what, if anything, is stored. The pixel runs in Shopify's
sandbox (a web worker whose origin is not the shop's), so any origin may call, without
credentials: no cookie is read or set, and the origin proves nothing anyway. Every answer to a
valid report is the same 204, stored or not. The body is small and capped before it is read.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from ..errors import BadRequest, PayloadTooLarge
from ..inputs import parse_json
from ..schemas.pixel import PixelEventSchema
from ..services.pixel import intake
from ..tenancy import enter_shop

bp = Blueprint("pixel", __name__, url_prefix="/pixel")
MAX_BODY_BYTES = 4096
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Expose-Headers": "Retry-After, X-Request-ID",
    "Access-Control-Max-Age": "600",
}


@bp.after_request
def cors(response: Response) -> Response:
    """On every answer, errors included: the pixel must be able to read a 429's Retry-After."""
    for name, value in CORS_HEADERS.items():
        response.headers[name] = value
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/events", methods=["OPTIONS"])
def preflight() -> Response:
    return Response(status=204)


@bp.post("/events")
def report() -> Response:
    event = PixelEventSchema().load(_body())
    shop = intake.installed_shop(event["shop"])
    enter_shop(shop.id)  # row-level security: only this shop's contacts and views from here on
    intake.record_view(shop=shop, event=event)
    return Response(status=204)


def _body() -> Any:
    """The JSON object posted, as `application/json` or `text/plain` (a fetch with a plain-text
    body is a CORS "simple" request: no preflight before it, which keepalive favours)."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise PayloadTooLarge("A pixel report is a few hundred bytes.", code="payload_too_large")
    raw = request.stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge("A pixel report is a few hundred bytes.", code="payload_too_large")
    try:
        payload = parse_json(raw)
    except ValueError:  # not JSON, not UTF-8, NaN or 1e400
        raise BadRequest("The body must be a JSON object.", code="invalid_json") from None
    if not isinstance(payload, dict):
        raise BadRequest("The body must be a JSON object.", code="invalid_json")
    return payload
