"""Shared by the API views: JSON bodies and query strings through schemas, audit targets."""

from __future__ import annotations

from typing import Any

from flask import g, request
from marshmallow import Schema

from ...errors import BadRequest


def json_body(schema: Schema) -> dict[str, Any]:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise BadRequest("The request body must be a JSON object.", code="invalid_json")
    return dict(schema.load(payload))


def query_args(schema: Schema) -> dict[str, Any]:
    return dict(schema.load(request.args.to_dict()))


def audit_target(target_type: str, target_id: object) -> None:
    """What this request made, for its audit row. A route with an id in its path needs no call
    (the row names that id); a create must say what it created (tests/test_audit_targets.py)."""
    g.audit_target = (target_type, target_id)
