"""One exception hierarchy, and the JSON shape every error leaves in (docs/architecture.md):

    {"error": {"code": "snake_case", "message": "...", "details": {...}}}

Every layer raises these; the one handler that answers them (and the HTML pages a person sees
in a browser) is blueprints/errors.py, at the HTTP edge.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify


class AppError(Exception):
    status = 500
    code = "internal_error"
    message = "Something went wrong."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ):
        self.message = message or self.message
        self.code = code or self.code
        self.details = details or {}
        self.headers = headers or {}
        super().__init__(self.message)


class BadRequest(AppError):
    status, code, message = 400, "bad_request", "The request is malformed."


class Unauthorized(AppError):
    status, code, message = 401, "unauthorized", "Authentication failed."


class PaymentRequired(AppError):
    status, code, message = 402, "insufficient_credits", "Not enough credits."


class Forbidden(AppError):
    status, code, message = 403, "forbidden", "You are not allowed to do this."


class NotFound(AppError):
    status, code, message = 404, "not_found", "Not found."


class MethodNotAllowed(AppError):
    status, code, message = 405, "method_not_allowed", "Method not allowed."


class Conflict(AppError):
    status, code, message = 409, "conflict", "The request conflicts with the current state."


class PayloadTooLarge(AppError):
    status, code, message = 413, "payload_too_large", "The request body is too large."


class ValidationFailed(AppError):
    status, code, message = 422, "validation_failed", "The request did not pass validation."


class Gone(AppError):
    status, code, message = 410, "gone", "This is no longer available."


class TooManyRequests(AppError):
    status, code, message = 429, "rate_limited", "Too many requests."

    def __init__(self, message: str | None = None, *, retry_after: int, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = max(1, int(retry_after))
        self.headers.setdefault("Retry-After", str(self.retry_after))
        self.details.setdefault("retry_after", self.retry_after)


class ServiceUnavailable(AppError):
    status, code, message = 503, "service_unavailable", "The service is temporarily unavailable."


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> Response:
    response = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
