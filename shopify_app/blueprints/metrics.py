"""`GET /metrics`: the Prometheus scrape (behind `METRICS_TOKEN` when it is set).

The metrics themselves and the request timing are `shopify_app/metrics.py`, below every layer
that counts something; this view is the HTTP door to them.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ..errors import Unauthorized
from ..metrics import registry
from ..security.decorators import bearer_matches

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def scrape() -> Response:
    token = current_app.config.get("METRICS_TOKEN")
    if token and not bearer_matches(str(token)):
        raise Unauthorized("A metrics token is required.", code="metrics_token_required")
    return Response(generate_latest(registry()), mimetype=CONTENT_TYPE_LATEST)
