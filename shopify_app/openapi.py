"""The OpenAPI 3 document of the embedded API, served at `/api/openapi.json` (flask-smorest).

flask-smorest's own error handler is not installed: every error keeps this app's JSON shape
(blueprints/errors.py), and the document says so (`ErrorSchema` on every operation).
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

from flask import Flask, current_app
from flask_smorest import Api

from .blueprints.api import bp
from .blueprints.api.spec import OPERATIONS, operation_doc

API_SETTINGS = {
    "API_TITLE": "SMS Blossom embedded API",
    "API_VERSION": "1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api",
    "OPENAPI_JSON_PATH": "openapi.json",
}


_DOCUMENTING = threading.Lock()


class SmsBlossomApi(Api):  # type: ignore[misc]
    """The document is written on first use (`/api/openapi.json`, `spec_dict`, `flask openapi`),
    not when the app is made: resolving every schema of every operation was ~60 % of
    `create_app`, paid by every web and worker process (and every test's app) for a document
    few of them serve. The routes themselves are registered at once, as before."""

    DEFAULT_ERROR_RESPONSE_NAME = None  # every operation lists our own error responses instead

    _spec: Any = None
    _undocumented: list[tuple[Any, str, Any]]

    @property
    def spec(self) -> Any:
        if "_undocumented" in self.__dict__:
            with _DOCUMENTING:  # a second thread waits for the whole document, never half of it
                for blueprint, name, parameters in self.__dict__.get("_undocumented", ()):
                    blueprint.register_views_in_doc(self, self._app, self._spec, name=name, parameters=parameters)
                    self._spec.tag({"name": name, "description": blueprint.description})
                if self.__dict__.pop("_undocumented", None):
                    _adjust_schemas(self._spec)
        return self._spec

    @spec.setter
    def spec(self, value: Any) -> None:
        self._spec = value

    def register_blueprint(self, blp: Any, *, parameters: Any = None, **options: Any) -> None:
        """`Api.register_blueprint` with the documenting left to the first read of `spec`."""
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self.__dict__.setdefault("_undocumented", []).append((blp, name, parameters))

    def _register_error_handlers(self) -> None:
        """Our error handlers (blueprints/errors.py) answer every error; smorest's shape would differ."""


def init_openapi(app: Flask) -> SmsBlossomApi:
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
    return api


def _adjust_schemas(spec: Any) -> None:
    """marshmallow schemas raise on unknown keys by default, which apispec turns into
    `additionalProperties: false`; our answers may carry more than a schema lists (counters).
    Decimal bounds come out as strings ("0.01"); JSON Schema wants numbers."""
    for schema in spec.components.schemas.values():
        schema.pop("additionalProperties", None)
        for prop in schema.get("properties", {}).values():
            for bound in ("minimum", "maximum"):
                if isinstance(prop.get(bound), (str, Decimal)):
                    prop[bound] = float(prop[bound])


def spec_dict() -> dict[str, Any]:
    api: SmsBlossomApi = current_app.extensions["sms_blossom_api"]
    return api.spec.to_dict()
