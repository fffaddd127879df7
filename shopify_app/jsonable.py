"""How the app writes values JSON has no type for: dates and times as ISO 8601 (with the UTC
offset the app's aware datetimes carry), anything else as its text. One format in every answer,
export and cache; Flask's own default would write RFC 1123 ("Mon, 07 Dec 2026 10:00:00 GMT")."""

from __future__ import annotations

from datetime import date, time


def iso_dates(value: object) -> str:
    """A `json.dumps(default=...)` that writes dates and times as ISO 8601."""
    if isinstance(value, (date, time)):  # a datetime is a date
        return value.isoformat()
    return str(value)
