"""HTTP details every provider client needs the same way."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from urllib3.exceptions import ConnectTimeoutError  # NewConnectionError (refused, DNS) subclasses it


def never_connected(exc: requests.RequestException) -> bool:
    """True when no connection was established, so the provider cannot have seen the request.

    Only then is a retry provably safe; a failure after connecting may follow an accepted request.
    """
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError):
        return False
    cause = exc.args[0] if exc.args else None
    return isinstance(getattr(cause, "reason", cause), ConnectTimeoutError)


def retry_after_seconds(raw: str | None, default: float = 1.0) -> float:
    """`Retry-After` as seconds: a number or an HTTP date; anything unusable is `default`."""
    if raw is None:
        return default
    try:
        seconds = float(raw)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(raw) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            return default
    return max(seconds, 0.0) if math.isfinite(seconds) else default


def json_object(response: requests.Response) -> dict[str, Any] | None:
    """The body when it is a JSON object, else None."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
