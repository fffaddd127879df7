"""Quiet hours in the recipient's local time: messages are deferred to the window's end.

The window holds from its start (inclusive) up to its end (exclusive), read on the recipient's
wall clock, and may wrap midnight (21:00-08:00); a window whose start equals its end is empty.
No zone at all reads the window in UTC. A zone name we cannot resolve means we cannot tell
whether it is the middle of the recipient's night, so the message is not sent: it waits and is
looked at again after `UNKNOWN_ZONE_RECHECK` (a corrected zone then applies).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UNKNOWN_ZONE_RECHECK = timedelta(hours=1)


def _zone(name: str | None) -> ZoneInfo | None:
    """The zone called `name` (UTC when there is none), or None when it cannot be resolved."""
    if not name:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "America" is a directory
        return None


def _parse(hhmm: str) -> time:
    hours, minutes = hhmm.split(":")
    return time(int(hours), int(minutes))


def quiet_until(*, now: datetime, timezone: str | None, window: dict[str, str] | None) -> datetime | None:
    """When `now` falls inside the quiet window in `timezone`, the UTC time it ends; else None.

    `window=None` means the shop disabled quiet hours.
    """
    if not window:
        return None
    start, end = _parse(window["start"]), _parse(window["end"])
    if start == end:
        return None
    zone = _zone(timezone)
    if zone is None:
        return now.astimezone(UTC) + UNKNOWN_ZONE_RECHECK
    local = now.astimezone(zone)
    clock = local.time()
    inside = (start <= clock or clock < end) if start > end else (start <= clock < end)
    if not inside:
        return None
    # The first instant after now at which the wall clock reads `end`. Trying fold 0 before 1
    # picks, for a time the autumn change repeats, its first reading unless that has passed
    # (then the second); for a time the spring change skips, fold 0 is when the clock would have
    # read it had it not jumped, the later of the two: quiet hours end late rather than early.
    candidates = (
        datetime.combine(local.date() + timedelta(days=days), end, tzinfo=zone).replace(fold=fold).astimezone(UTC)
        for days in (0, 1)
        for fold in (0, 1)
    )
    return next(candidate for candidate in candidates if candidate > now)
