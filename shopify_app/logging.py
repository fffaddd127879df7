"""Structured logging: JSON in production, readable in development, never a secret or PII.

Every log line, ours or a library's (werkzeug, rq, gunicorn, sqlalchemy), passes through
`scrub`: values under sensitive keys are replaced, and phone numbers, emails, bearer tokens and
URL query strings (app-proxy and OAuth queries carry signatures and shopper data) and the
Mitto callbacks' path secret are masked wherever they appear in text.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog
from flask import Flask, Response, g, request

REDACTED = "[redacted]"
REQUEST_ID_HEADER = "X-Request-ID"
_CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")

_SENSITIVE_KEY = re.compile(
    r"token|secret|password|passwd|authorization|cookie|hmac|signature|api[_-]?key|"
    r"phone|mobile|email|destination|first_name|last_name|address|ip_address|\bcode\b|query",
    re.IGNORECASE,
)
# The Mitto callbacks' last path segment is their only credential (MITTO_WEBHOOK_SECRET): a
# recorded path keeps the route and drops the segment, right or wrong (a near miss, or last
# rotation's secret, is as sensitive).
_SECRET_PATH = re.compile(r"(/mitto/(?:dlr|inbound)/)[^/\s?#\"']+")
_TEXT_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (_SECRET_PATH, r"\1" + REDACTED),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 " + REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), REDACTED),  # JWTs
    (re.compile(r"\bshp(?:at|ca|pa|ss|rt)_[A-Za-z0-9]+"), REDACTED),  # Shopify access/refresh tokens
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "[email]"),
    # URL query strings: keep the path, drop everything after '?'.
    (re.compile(r"(/[^\s?\"']*)\?[^\s\"']+"), r"\1?" + REDACTED),
    # Phone numbers: +E.164, or runs of 9+ digits with common separators.
    (re.compile(r"\+\d[\d\s().-]{6,}\d"), "[phone]"),
    (re.compile(r"(?<![\w/.:-])\(?\d{2,4}\)?[\s.-]?\d{3,4}[\s.-]?\d{3,4}(?![\w/.:-])"), "[phone]"),
)


def redact_path(path: str) -> str:
    """A URL or path as it may be recorded (access logs, error reports): no path secret."""
    return _SECRET_PATH.sub(r"\1" + REDACTED, path)


def scrub_text(text: str) -> str:
    for pattern, replacement in _TEXT_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def scrub(value: Any, key: str | None = None) -> Any:
    """Recursively remove secrets and PII from a log value."""
    if key is not None and _SENSITIVE_KEY.search(key) and value not in (None, "", [], {}):
        return REDACTED
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, Mapping):
        return {k: scrub(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [scrub(v) for v in value]
    return value


_STRUCTLOG_OWN_KEYS = frozenset({"event", "level", "timestamp", "logger", "request_id", "exc_info", "exception"})


def _scrub_processor(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        value = event_dict[key]
        if key in ("event", "exception") and isinstance(value, str):
            event_dict[key] = scrub_text(value)
        elif key not in _STRUCTLOG_OWN_KEYS:
            event_dict[key] = scrub(value, key)
    return event_dict


class _CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at emit time (test capture swaps it per test)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(*, level: str, json_output: bool) -> None:
    """Configure structlog and route stdlib logging through the same scrubbing processors."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        _scrub_processor,
    ]
    # `format_exc_info` stays in the chain: the traceback becomes text *before* `_scrub_processor`,
    # which masks it like any other value. The console renderer is told tracebacks arrive as that
    # text (plain_traceback); its default (rich, when installed) would format `exc_info` itself,
    # after the scrubber, with local variables, and warns when it finds the text instead.
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_output
        else structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)
    )
    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = _CurrentStderrHandler()
    handler.setFormatter(formatter)
    handler.set_name("sms_blossom")
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == "sms_blossom":
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # Libraries that format URLs into their messages go through the same scrubber via the root.
    for name in ("werkzeug", "rq.worker", "gunicorn.access", "gunicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True


def _request_id_from_client() -> str:
    candidate = request.headers.get(REQUEST_ID_HEADER, "")
    return candidate if _CLIENT_REQUEST_ID.fullmatch(candidate) else str(uuid.uuid4())


def init_logging(app: Flask) -> None:
    configure_logging(level=app.config["LOG_LEVEL"], json_output=app.config["APP_ENV"] == "production")
    # Bound once (not per request through the lazy proxy); the stdlib level is checked first,
    # so with INFO off a request builds nothing for it.
    access_log = structlog.get_logger("shopify_app.access").bind()
    access_enabled = logging.getLogger("shopify_app.access").isEnabledFor

    @app.before_request
    def bind_request_id() -> None:
        g.request_id = _request_id_from_client()
        g.request_started = time.perf_counter()
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=g.request_id)

    @app.after_request
    def echo_request_id(response: Response) -> Response:
        request_id = getattr(g, "request_id", None) or _request_id_from_client()
        response.headers[REQUEST_ID_HEADER] = request_id
        if not access_enabled(logging.INFO):
            return response
        started = getattr(g, "request_started", None)
        # Path only: query strings carry signatures, tokens and shopper data.
        access_log.info(
            "request",
            method=request.method,
            path=redact_path(request.path),
            status=response.status_code,
            duration_ms=round((time.perf_counter() - started) * 1000, 2) if started else None,
        )
        return response

    @app.teardown_request
    def unbind_request_id(_exc: BaseException | None) -> None:
        structlog.contextvars.clear_contextvars()
