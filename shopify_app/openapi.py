"""The OpenAPI 3 document of the embedded API, served at `/api/openapi.json` (flask-smorest).

flask-smorest's own error handler is not installed: every error keeps this app's JSON shape
(errors.py), and the document says so (`ErrorSchema` on every operation).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Flask, current_app
from flask_smorest import Api

API_SETTINGS = {
    "API_TITLE": "SMS Blossom embedded API",
    "API_VERSION": "1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api",
    "OPENAPI_JSON_PATH": "openapi.json",
}


class SmsBlossomApi(Api):  # type: ignore[misc]
    DEFAULT_ERROR_RESPONSE_NAME = None  # every operation lists our own error responses instead

    def _register_error_handlers(self) -> None:
        """Our error handlers (errors.py) answer every error; smorest's shape would differ."""


def init_openapi(app: Flask) -> SmsBlossomApi:
    from .blueprints.api import bp
    from .blueprints.api.spec import OPERATIONS, operation_doc

    for key, value in API_SETTINGS.items():
        app.config.setdefault(key, value)
    api = SmsBlossomApi(
        app,
        spec_kwargs={
            "info": {"description": "The embedded admin API. Authenticate with an App Bridge session token."},
            "components": {
                "securitySchemes": {"sessionToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
            },
        },
    )
    for endpoint, methods in bp._docs.items():  # documented from spec.py, next to the schemas
        full = f"api.{endpoint}"
        for method, doc in methods.items():
            if method != "parameters" and full in OPERATIONS:
                doc["manual_doc"] = operation_doc(full)
    api.register_blueprint(bp)
    # marshmallow schemas raise on unknown keys by default, which apispec turns into
    # `additionalProperties: false`; our answers may carry more than a schema lists (counters).
    # Decimal bounds come out as strings ("0.01"); JSON Schema wants numbers.
    for schema in api.spec.components.schemas.values():
        schema.pop("additionalProperties", None)
        for prop in schema.get("properties", {}).values():
            for bound in ("minimum", "maximum"):
                if isinstance(prop.get(bound), (str, Decimal)):
                    prop[bound] = float(prop[bound])
    return api


def spec_dict() -> dict[str, Any]:
    api: SmsBlossomApi = current_app.extensions["sms_blossom_api"]
    return api.spec.to_dict()
