"""/ops: operator endpoints outside /api (no session token): `Authorization: Bearer
$OPERATOR_TOKEN`. Without a configured token they do not exist (404)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from ..errors import NotFound, Unauthorized
from ..schemas.senders import SenderAssignSchema, SenderNumberSchema
from ..security.decorators import bearer_matches
from ..services.ops import failed_jobs
from ..services.sending import senders
from .api.common import json_body

bp = Blueprint("ops", __name__, url_prefix="/ops")


@bp.before_request
def operator_only() -> None:
    token = current_app.config.get("OPERATOR_TOKEN")
    if not token:
        raise NotFound("Not found.")
    if not bearer_matches(str(token)):
        raise Unauthorized("An operator token is required.", code="operator_token_required")


@bp.get("/jobs/failed")
def list_failed_jobs() -> Response:
    queue = request.args.get("queue") or None
    jobs = failed_jobs.list_failed(queue)
    return jsonify({"items": failed_jobs.as_dicts(jobs), "count": len(jobs)})


@bp.post("/jobs/failed/<job_id>/retry")
def retry_failed_job(job_id: str) -> Response:
    return jsonify({"id": job_id, "queue": failed_jobs.retry(job_id), "status": "requeued"})


@bp.delete("/jobs/failed/<job_id>")
def discard_failed_job(job_id: str) -> Response:
    return jsonify({"id": job_id, "queue": failed_jobs.discard(job_id), "status": "discarded"})


# Numeric senders: the operator assigns a number provisioned at Mitto to one shop (409 while
# another shop holds it: release it first), and releases it. Merchants only choose among theirs.
@bp.get("/senders")
def list_senders() -> Response:
    numbers = senders.list_numbers()
    return jsonify({"items": SenderNumberSchema(many=True).dump(numbers), "count": len(numbers)})


@bp.post("/senders")
def assign_sender() -> Response:
    body = json_body(SenderAssignSchema())
    assigned = senders.assign(number=body["number"], shop_domain=body["shop_domain"], note=body["note"])
    return jsonify(SenderNumberSchema().dump(assigned))


@bp.delete("/senders/<number>")
@bp.post("/senders/<number>/release")
def release_sender(number: str) -> Response:
    return jsonify(SenderNumberSchema().dump(senders.release(number=number)))
