"""Shopify webhooks: verify, record once, enqueue, answer in milliseconds."""

from __future__ import annotations

import structlog
from flask import Blueprint, Response, g, jsonify, request
from redis.exceptions import RedisError

from ..errors import BadRequest, Unauthorized
from ..inputs import parse_json
from ..metrics import WEBHOOKS
from ..security.decorators import webhook_verified
from ..security.shop_domain import normalise_shop_domain
from ..services.webhooks import webhook_inbox
from ..services.webhooks.webhook_intake import HANDLERS, record_event

bp = Blueprint("webhooks", __name__)
log = structlog.get_logger(__name__)

COMPLIANCE_TOPICS = frozenset({"customers/data_request", "customers/redact", "shop/redact"})


@bp.post("/webhooks/shopify")
@webhook_verified
def receive() -> Response:
    body = request.get_data(cache=True)
    try:
        # Depth and number bombs are refused here; text Shopify signed is recorded as it came
        # (the processing job refuses what no column can hold, once, without retrying).
        payload = parse_json(body, check_values=False)
    except ValueError:
        raise BadRequest("The webhook body is not JSON.", code="invalid_json") from None
    if not isinstance(payload, dict):
        raise BadRequest("The webhook body must be a JSON object.", code="invalid_json")
    topic = request.headers["X-Shopify-Topic"]
    if topic in COMPLIANCE_TOPICS and _payload_shop(payload) != g.shop_domain:
        raise Unauthorized("The payload names another shop than the signed header.", code="shop_mismatch")

    recorded = record_event(
        shop_domain=g.shop_domain,
        topic=topic,
        webhook_id=request.headers["X-Shopify-Webhook-Id"],
        event_id=request.headers.get("X-Shopify-Event-Id"),
        api_version=request.headers.get("X-Shopify-API-Version"),
        body=body,
    )
    WEBHOOKS.labels(topic if topic in HANDLERS else "other", "recorded" if recorded.created else "duplicate").inc()
    if recorded.created:
        try:
            webhook_inbox.signal(recorded.event_id, g.shop_domain)
        except RedisError:
            # Recorded is enough to answer 200: the housekeeping sweep re-enqueues it.
            log.warning("webhook_enqueue_failed", topic=topic, webhook_event_id=recorded.event_id)
    return jsonify({"status": "accepted" if recorded.created else "duplicate"})


def _payload_shop(payload: dict[str, object]) -> str | None:
    raw = payload.get("shop_domain")
    if not isinstance(raw, str):
        return None
    try:
        return normalise_shop_domain(raw)
    except BadRequest:
        return None
