"""Quiet hours on a fixed clock: every case names the instant, the zone and the window, so which
branch runs never depends on when the suite runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shopify_app.services.sending.quiet_hours import UNKNOWN_ZONE_RECHECK, quiet_until

NIGHT = {"start": "21:00", "end": "08:00"}  # wraps midnight
AFTERNOON = {"start": "13:00", "end": "15:00"}  # within one day


def at(text: str) -> datetime:
    """A UTC instant, e.g. at("2026-06-01 21:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def until(now: str, zone: str | None, window: dict[str, str] | None) -> datetime | None:
    return quiet_until(now=at(now), timezone=zone, window=window)


# --- The window's edges: start inclusive, end exclusive, to the microsecond -------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2026-06-01 12:59:59.999999", None),
        ("2026-06-01 13:00", "2026-06-01 15:00"),  # the start minute is quiet
        ("2026-06-01 14:00", "2026-06-01 15:00"),
        ("2026-06-01 14:59:59.999999", "2026-06-01 15:00"),
        ("2026-06-01 15:00", None),  # the end minute is not
        ("2026-06-01 23:00", None),
        ("2026-06-01 00:00", None),
    ],
)
def test_a_window_within_one_day_holds_from_its_start_up_to_but_not_at_its_end(now: str, expected: str | None) -> None:
    assert until(now, "UTC", AFTERNOON) == (at(expected) if expected else None)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2026-06-01 20:59:59.999999", None),
        ("2026-06-01 21:00", "2026-06-02 08:00"),  # evening: ends tomorrow morning
        ("2026-06-01 23:59:59.999999", "2026-06-02 08:00"),
        ("2026-06-02 00:00", "2026-06-02 08:00"),  # after midnight: ends this morning
        ("2026-06-02 07:59:59.999999", "2026-06-02 08:00"),
        ("2026-06-02 08:00", None),
        ("2026-06-02 12:00", None),
    ],
)
def test_a_window_across_midnight_ends_at_the_next_end_time(now: str, expected: str | None) -> None:
    assert until(now, "UTC", NIGHT) == (at(expected) if expected else None)


def test_a_window_ending_at_midnight_ends_at_the_next_midnight() -> None:
    window = {"start": "22:00", "end": "00:00"}
    assert until("2026-06-01 23:30", "UTC", window) == at("2026-06-02 00:00")
    assert until("2026-06-02 00:00", "UTC", window) is None


def test_a_window_starting_at_midnight_holds_from_midnight() -> None:
    window = {"start": "00:00", "end": "06:30"}
    assert until("2026-06-01 00:00", "UTC", window) == at("2026-06-01 06:30")
    assert until("2026-06-01 06:29", "UTC", window) == at("2026-06-01 06:30")
    assert until("2026-06-01 23:59:59", "UTC", window) is None


@pytest.mark.parametrize("now", ["2026-06-01 00:00", "2026-06-01 09:00", "2026-06-01 23:59:59"])
@pytest.mark.parametrize("window", [{"start": "09:00", "end": "09:00"}, {"start": "00:00", "end": "00:00"}])
def test_a_zero_length_window_is_never_quiet(now: str, window: dict[str, str]) -> None:
    assert until(now, "UTC", window) is None


@pytest.mark.parametrize("window", [None, {}])
def test_quiet_hours_switched_off_are_never_quiet(window: dict[str, str] | None) -> None:
    assert until("2026-06-01 23:00", "UTC", window) is None


def test_the_almost_whole_day_window_the_suite_uses_holds_all_day_but_its_last_minute() -> None:
    window = {"start": "00:00", "end": "23:59"}
    assert until("2026-06-01 00:00", "UTC", window) == at("2026-06-01 23:59")
    assert until("2026-06-01 23:58:59", "UTC", window) == at("2026-06-01 23:59")
    assert until("2026-06-01 23:59", "UTC", window) is None


def test_the_end_is_an_exact_minute_whatever_the_seconds_of_now() -> None:
    assert until("2026-06-01 21:17:42.123456", "UTC", NIGHT) == at("2026-06-02 08:00")
    assert until("2026-06-01 13:30:30.5", "UTC", {"start": "13:00", "end": "13:45"}) == at("2026-06-01 13:45")


def test_the_answer_is_a_utc_instant() -> None:
    ends = until("2026-06-01 23:00", "Europe/Athens", NIGHT)
    assert ends is not None
    assert ends.utcoffset() == timedelta(0)
    assert ends.tzinfo is UTC


# --- Zones other than UTC ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "now", "expected"),
    [
        # New York in summer is UTC-4: 21:00 local is 01:00 UTC, 08:00 local is 12:00 UTC.
        ("America/New_York", "2026-06-02 00:59", None),
        ("America/New_York", "2026-06-02 01:00", "2026-06-02 12:00"),
        ("America/New_York", "2026-06-02 11:59", "2026-06-02 12:00"),
        ("America/New_York", "2026-06-02 12:00", None),
        # In winter, UTC-5.
        ("America/New_York", "2026-01-15 02:00", "2026-01-15 13:00"),
        ("America/New_York", "2026-01-15 01:59", None),
        # Kolkata is UTC+05:30 all year: 21:00 local is 15:30 UTC, 08:00 local is 02:30 UTC.
        ("Asia/Kolkata", "2026-06-01 15:29", None),
        ("Asia/Kolkata", "2026-06-01 15:30", "2026-06-02 02:30"),
        ("Asia/Kolkata", "2026-06-01 18:30", "2026-06-02 02:30"),  # local midnight
        ("Asia/Kolkata", "2026-06-02 02:29", "2026-06-02 02:30"),
        ("Asia/Kolkata", "2026-06-02 02:30", None),
        # Lord Howe: UTC+10:30 in (southern) winter, +11 in summer; a 30-minute DST shift.
        ("Australia/Lord_Howe", "2026-06-01 10:30", "2026-06-01 21:30"),
        ("Australia/Lord_Howe", "2026-06-01 10:29", None),
        ("Australia/Lord_Howe", "2026-01-15 10:00", "2026-01-15 21:00"),
        ("Australia/Lord_Howe", "2026-01-15 09:59", None),
    ],
)
def test_the_window_is_read_in_the_recipients_zone(zone: str, now: str, expected: str | None) -> None:
    assert until(now, zone, NIGHT) == (at(expected) if expected else None)


def test_the_same_instant_is_quiet_in_one_zone_and_not_in_another() -> None:
    now = "2026-06-01 20:00"  # 22:00 in Paris, 16:00 in New York
    assert until(now, "Europe/Paris", NIGHT) == at("2026-06-02 06:00")
    assert until(now, "America/New_York", NIGHT) is None


# --- Daylight-saving changes ------------------------------------------------------------------
# New York 2026: clocks go 02:00 -> 03:00 on 8 March (07:00 UTC), 02:00 -> 01:00 on 1 November
# (06:00 UTC), so 01:00-02:00 happens twice that night: first as EDT (05:xx UTC), then EST (06:xx).


def test_a_window_spanning_the_spring_change_ends_at_its_local_end_time() -> None:
    # 7 March 21:00 EST is 02:00 UTC on the 8th.
    assert until("2026-03-08 02:00", "America/New_York", NIGHT) == at("2026-03-08 12:00")  # 08:00 EDT
    assert until("2026-03-08 11:59", "America/New_York", NIGHT) == at("2026-03-08 12:00")
    assert until("2026-03-08 12:00", "America/New_York", NIGHT) is None


def test_a_window_spanning_the_autumn_change_ends_at_its_local_end_time() -> None:
    assert until("2026-11-01 01:00", "America/New_York", NIGHT) == at("2026-11-01 13:00")  # 08:00 EST
    assert until("2026-11-01 12:59", "America/New_York", NIGHT) == at("2026-11-01 13:00")
    assert until("2026-11-01 13:00", "America/New_York", NIGHT) is None


def test_an_end_in_the_skipped_hour_ends_when_the_clock_would_have_read_it() -> None:
    """02:30 never happens on 8 March; the window ends at 07:30 UTC (03:30 EDT), as if the clock
    had not jumped: later rather than earlier, so nobody is texted inside their quiet hours."""
    window = {"start": "22:00", "end": "02:30"}
    assert until("2026-03-08 06:00", "America/New_York", window) == at("2026-03-08 07:30")  # 01:00 EST
    assert until("2026-03-08 06:59", "America/New_York", window) == at("2026-03-08 07:30")
    # 03:00-03:29 EDT: the wall clock already reads past 02:30, so the window is over.
    assert until("2026-03-08 07:00", "America/New_York", window) is None


def test_a_start_in_the_skipped_hour_starts_when_the_clock_jumps_past_it() -> None:
    window = {"start": "02:30", "end": "05:00"}
    assert until("2026-03-08 06:59", "America/New_York", window) is None  # 01:59 EST
    assert until("2026-03-08 07:00", "America/New_York", window) == at("2026-03-08 09:00")  # 03:00 EDT


def test_an_end_in_the_repeated_hour_ends_at_its_first_reading() -> None:
    window = {"start": "22:00", "end": "01:30"}
    assert until("2026-11-01 05:00", "America/New_York", window) == at("2026-11-01 05:30")  # 01:00 EDT
    assert until("2026-11-01 05:30", "America/New_York", window) is None  # 01:30 EDT


def test_in_the_repeated_hour_the_window_ends_in_the_future_not_the_past() -> None:
    """01:15 EST comes an hour after 01:15 EDT: the clock reads inside the window again, and the
    window then ends at 01:30 EST (06:30 UTC), not at 01:30 EDT, which is already past."""
    window = {"start": "22:00", "end": "01:30"}
    now = at("2026-11-01 06:15")  # 01:15 EST, the second time
    ends = quiet_until(now=now, timezone="America/New_York", window=window)
    assert ends == at("2026-11-01 06:30")
    assert ends > now


def test_a_skipped_end_time_that_would_read_now_is_not_the_end() -> None:
    """03:30 EDT on 8 March is the instant 02:30 would have been without the jump; the clock has
    read 03:00 (the start) but not 02:30 since, so the window runs to 02:30 the next night."""
    window = {"start": "03:00", "end": "02:30"}
    assert until("2026-03-08 07:30", "America/New_York", window) == at("2026-03-09 06:30")


def test_lord_howe_half_hour_changes_are_followed() -> None:
    window = {"start": "22:00", "end": "02:15"}
    # 5 April 2026 02:00 (+11) -> 01:30 (+10:30) at 15:00 UTC on the 4th: 01:30-02:00 repeats.
    assert until("2026-04-04 14:45", "Australia/Lord_Howe", window) == at("2026-04-04 15:45")  # 01:45 +11
    # 4 October 2026 02:00 (+10:30) -> 02:30 (+11) at 15:30 UTC on the 3rd: 02:15 is skipped.
    assert until("2026-10-03 15:00", "Australia/Lord_Howe", window) == at("2026-10-03 15:45")  # 01:30 +10:30
    assert until("2026-10-03 15:30", "Australia/Lord_Howe", window) is None  # 02:30 +11


# --- Zones we cannot read ---------------------------------------------------------------------


@pytest.mark.parametrize("zone", [None, ""])
def test_no_zone_at_all_reads_the_window_in_utc(zone: str | None) -> None:
    assert until("2026-06-01 22:00", zone, NIGHT) == at("2026-06-02 08:00")
    assert until("2026-06-01 12:00", zone, NIGHT) is None


@pytest.mark.parametrize(
    "zone",
    [
        "Europe/Nowhere",
        "utc",  # zone names are case-sensitive
        " Europe/Athens",
        "America",  # a directory of the zone database
        "Europe/",
        "../../etc/passwd",
        "UTC\x00",
        "a" * 300,  # longer than a file name may be
        "\ud800",
    ],
)
def test_an_unknown_zone_is_quiet_at_any_hour_and_rechecked_later(zone: str) -> None:
    """We cannot tell whether it is the middle of the recipient's night, so we do not text them:
    the message waits and is looked at again an hour later (a corrected zone then applies)."""
    for now in ("2026-06-01 03:00", "2026-06-01 12:00"):
        ends = until(now, zone, NIGHT)
        assert ends == at(now) + timedelta(hours=1) == at(now) + UNKNOWN_ZONE_RECHECK
        assert ends.tzinfo is UTC


def test_an_unknown_zone_does_not_matter_when_quiet_hours_are_off() -> None:
    assert until("2026-06-01 03:00", "Europe/Nowhere", None) is None
    assert until("2026-06-01 03:00", "Europe/Nowhere", {"start": "09:00", "end": "09:00"}) is None
