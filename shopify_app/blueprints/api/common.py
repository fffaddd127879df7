"""Request parsing shared by the API views: JSON bodies and query strings through schemas."""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import Schema

from ...errors import BadRequest


def json_body(schema: Schema) -> dict[str, Any]:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise BadRequest("The request body must be a JSON object.", code="invalid_json")
    return dict(schema.load(payload))


def query_args(schema: Schema) -> dict[str, Any]:
    return dict(schema.load(request.args.to_dict()))
