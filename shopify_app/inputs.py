"""What no input may carry, checked once at the door for every route (and by every schema).

PostgreSQL refuses NUL characters in text and JSON, a driver cannot encode a lone surrogate,
BIGINT stops at 2**63, Python's datetime at year 9999, and a parser recursing through JSON
nested 10,000 deep runs out of stack. Each of these used to reach the database or the parser
and come back as a 500; here they are a 400 in the error shape, before any handler runs:

- the URL (path and query string) and the headers: no NUL, and valid UTF-8 (`reject_hostile_request`);
- form bodies: the same, and no NUL in a field or an uploaded file's name (`CheckedRequest`);
- JSON bodies: parsed at most `MAX_JSON_DEPTH` deep, numbers finite and within 64 bits, no NUL
  or lone surrogate in any key or string (`parse_json`, used by `request.get_json` too);
- after a schema has loaded a value, its integers, dates and strings (`hostile_reason`, run by
  `schemas.base.Schema`), so "99999999999999999999" in a query string or a date at year 1 with
  an offset is a 422 naming the field.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import unquote_to_bytes

from flask import Flask, Request, request
from psycopg import DataError as DriverDataError
from sqlalchemy.exc import DataError, StatementError

from .errors import BadRequest

MAX_JSON_DEPTH = 64
INT_RANGE = (-(2**63), 2**63 - 1)  # BIGINT: the widest integer any column or id holds
# Dates a merchant or a provider can mean. Outside them a datetime cannot always be moved to
# UTC (year 1 at +05:00 is year 0) or have a day added (9999-12-31), and nothing is scheduled
# or filtered there.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)

REASONS = {
    "nul": "Text must not contain NUL characters.",
    "surrogate": "Text must be valid Unicode (no lone surrogates).",
    "utf8": "Text must be valid UTF-8.",
    "number": "A number is out of range.",
    "date": f"Dates must lie between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()} (UTC).",
    "depth": f"JSON must not be nested more than {MAX_JSON_DEPTH} levels deep.",
}


def invalid_input(reason: str, location: str) -> BadRequest:
    code = "invalid_json" if reason == "depth" else "invalid_input"
    return BadRequest(REASONS[reason], code=code, details={"location": location, "reason": reason})


def text_reason(text: str) -> str | None:
    if "\x00" in text:
        return "nul"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "surrogate"
    return None


_CONTAINERS = (dict, list, tuple, set, frozenset)


def hostile_reason(value: Any, *, leaves: bool = True) -> str | None:
    """Why `value` (JSON or what a schema loaded: dicts, lists, str, numbers, dates) cannot be
    accepted, or None; with `leaves=False` only its depth counts. Iterative, so its own depth
    is no risk."""
    if not leaves:
        return "depth" if _depth_exceeds(value) else None
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return "depth"
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for pair in item.items() for child in pair)
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend((child, depth + 1) for child in item)
        elif leaves and (reason := _leaf_reason(item)):
            return reason
    return None


def _depth_exceeds(value: Any) -> bool:
    """Whether anything in `value` lies deeper than MAX_JSON_DEPTH (the root is at 0); only
    containers are walked, since a scalar nests nothing (a container at the limit holding
    anything is too deep)."""
    stack: list[tuple[Any, int]] = [(value, 0)] if isinstance(value, _CONTAINERS) else []
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if children and depth >= MAX_JSON_DEPTH:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, _CONTAINERS))
    return False


def _leaf_reason(item: Any) -> str | None:
    if isinstance(item, str):
        return text_reason(item)
    if isinstance(item, int) and not isinstance(item, bool):
        return None if INT_RANGE[0] <= item <= INT_RANGE[1] else "number"
    if isinstance(item, float | Decimal):
        return None if math.isfinite(item) else "number"
    if isinstance(item, datetime):
        return _datetime_reason(item)
    if isinstance(item, date):
        return None if FIRST_DAY <= item <= LAST_DAY else "date"
    return None


def _datetime_reason(value: datetime) -> str | None:
    try:
        day = (value.astimezone(UTC) if value.tzinfo else value).date()
    except (OverflowError, ValueError):
        return "date"
    return None if FIRST_DAY <= day <= LAST_DAY else "date"


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e400 parses as infinity
        raise ValueError("number out of range")
    return number


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not JSON")  # Python's parser would accept NaN and Infinity


def parse_json(data: bytes | str, *, check_values: bool = True, location: str = "body") -> Any:
    """Parse JSON strictly: ValueError for what is not JSON (bad syntax, invalid UTF-8, NaN,
    1e400), a 400 `invalid_json` for nesting deeper than MAX_JSON_DEPTH and, with
    `check_values`, a 400 `invalid_input` for NUL, lone surrogates or integers past 64 bits."""
    try:
        value = json.loads(data, parse_float=_finite, parse_constant=_no_constants)
    except RecursionError:
        raise invalid_input("depth", location) from None
    reason = hostile_reason(value, leaves=check_values)
    if reason:
        raise invalid_input(reason, location)
    return value


class _RequestJson:
    """`request.get_json()` parses through `parse_json` (Flask calls `json_module.loads`)."""

    @staticmethod
    def loads(data: bytes | str, **_: Any) -> Any:
        return parse_json(data)


def _check_raw_text(raw: bytes, location: str) -> None:
    if b"\x00" in raw:
        raise invalid_input("nul", location)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid_input("utf8", location) from None


class CheckedRequest(Request):
    @property  # type: ignore[override]
    def json_module(self) -> type[_RequestJson]:
        return _RequestJson

    @json_module.setter
    def json_module(self, _: Any) -> None:
        """Flask sets the app's JSON provider on every request; the strict parser stays."""

    def _load_form_data(self) -> None:
        if self.mimetype == "application/x-www-form-urlencoded":
            # Werkzeug would keep invalid UTF-8 as "%FF" text; refuse it as the URL check does.
            _check_raw_text(unquote_to_bytes(self.get_data(cache=True).replace(b"+", b" ")), "form")
        super()._load_form_data()
        # A part whose name Werkzeug cannot read is keyed None: no text to check, nothing to refuse.
        fields = [text or "" for pair in self.form.items(multi=True) for text in pair]
        uploads = [
            *(key or "" for key in self.files),
            *(upload.filename or "" for _, upload in self.files.items(multi=True)),
        ]
        if reason := next(filter(None, map(text_reason, fields + uploads)), None):
            raise invalid_input(reason, "form")


def _is_header(key: str) -> bool:
    return key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH")


def reject_hostile_request() -> None:
    """Before any route (and before authentication): the raw path, query string and headers,
    and a urlencoded form body (small by the app's size limit), whether the route reads it or not."""
    environ = request.environ
    _check_raw_text(environ.get("PATH_INFO", "").encode("latin-1", "replace"), "path")
    query = environ.get("QUERY_STRING", "").encode("latin-1", "replace")
    _check_raw_text(unquote_to_bytes(query.replace(b"+", b" ")), "query")
    # The headers as the WSGI environ holds them (what request.headers would decode, without
    # building it): HTTP_* and the two CGI ones.
    if any("\x00" in value for key, value in environ.items() if _is_header(key) and isinstance(value, str)):
        raise invalid_input("nul", "header")
    if request.mimetype == "application/x-www-form-urlencoded":
        request.form  # noqa: B018  (CheckedRequest checks it while parsing)


def is_bad_input_error(exc: BaseException) -> bool:
    """Whether the database driver (or the conversion before it) refused a value: data no
    column can hold, not a fault of ours or of the database's availability."""
    if isinstance(exc, DataError | DriverDataError | OverflowError):
        return True
    return isinstance(exc, StatementError) and isinstance(exc.orig, OverflowError | UnicodeEncodeError)


def init_inputs(app: Flask) -> None:
    app.request_class = CheckedRequest
    app.before_request(reject_hostile_request)
