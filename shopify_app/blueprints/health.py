"""Liveness and readiness probes."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from ..errors import ServiceUnavailable
from ..services.ops.readiness import readiness_checks

bp = Blueprint("health", __name__)


@bp.get("/health")
def health() -> Response:
    """Liveness: the process answers. No dependency is touched."""
    return jsonify({"status": "ok"})


@bp.get("/health/ready")
def ready() -> Response:
    """Readiness: database reachable and at the migrations head, Redis answering."""
    checks = readiness_checks()
    failed = sorted(name for name, result in checks.items() if result != "ok")
    if failed:
        raise ServiceUnavailable(
            f"Not ready: {', '.join(failed)} check failed.", code="not_ready", details={"checks": checks}
        )
    return jsonify({"status": "ok", "checks": checks})
