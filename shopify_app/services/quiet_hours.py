"""Quiet hours in the recipient's local time: messages are deferred to the window's end."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _parse(hhmm: str) -> time:
    hours, minutes = hhmm.split(":")
    return time(int(hours), int(minutes))


def quiet_until(*, now: datetime, timezone: str | None, window: dict[str, str] | None) -> datetime | None:
    """When `now` falls inside the quiet window in `timezone`, the UTC time it ends; else None.

    A window may wrap midnight (21:00-08:00). `window=None` means the shop disabled quiet hours.
    """
    if not window:
        return None
    start, end = _parse(window["start"]), _parse(window["end"])
    if start == end:
        return None
    local = now.astimezone(_zone(timezone))
    clock = local.time().replace(tzinfo=None)
    inside = (start <= clock or clock < end) if start > end else (start <= clock < end)
    if not inside:
        return None
    end_today = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    ends = end_today if end_today > local else end_today + timedelta(days=1)
    # Across a DST change, rebuild the wall-clock time in the zone rather than adding 24 h.
    ends = datetime(ends.year, ends.month, ends.day, end.hour, end.minute, tzinfo=_zone(timezone))
    return ends.astimezone(UTC)
