"""Local-time sending: a campaign that goes "at 10:00 in each subscriber's time zone".

A recipient's zone is the contact's (filled from the phone number when it names one zone,
services/contacts/phones.py), else the shop's, else UTC. The launch snapshots the whole audience
in its one INSERT ... SELECT as any launch does; each zone's start instant is computed here,
once per zone (a handful of rows joined as a VALUES list, never per recipient), and the rows of
a zone whose time is still ahead are written `deferred` until it. Rows are ordered by start
instant, so each cohort (the zones that start at one instant) is one contiguous id range of
the campaign: its batch jobs are enqueued at launch to run at its start, and its figures are
counted over that range. From there the send path is the usual one: a batch claims due
deferrals, quiet hours still apply at send time, pause/resume/cancel treat the waiting rows
like any others, and the launch's credit hold covers every cohort.

When the time comes:
- with `local_send_date`, each zone starts at that date and time on its own clock; the launch
  is scheduled for the first instant that happens anywhere (UTC+14), and a zone whose time has
  already passed when the launch runs starts at once (a late launch, never a skipped zone);
- without a date, each zone starts at the first such time at or after the launch (within 24
  hours), so a launch at 15:00 New York time with 10:00 reaches New York tomorrow at 10:00.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Select, String, column, func, insert, literal, select, text, values

from ...bulk import on_postgresql
from ...errors import ValidationFailed
from ...extensions import db
from ...models import Campaign, CampaignCohort, CampaignState, Contact, Message, MessageState, Shop
from ...models.types import UTCDateTime
from ..sending.batches import enqueue_ranges
from ..shops.settings import load_settings
from .ab_split import test_of

# The first and the last clocks on Earth: a local date and time happens between these two.
EARLIEST_ZONE = ZoneInfo("Etc/GMT-14")  # UTC+14 (the POSIX sign is inverted)
LATEST_ZONE = ZoneInfo("Etc/GMT+12")  # UTC-12
SNAPSHOT_WORK_MEM = "256MB"


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(details={"fields": {field: [message]}})


def _clock(hhmm: str) -> time:
    hours, minutes = hhmm.split(":")
    return time(int(hours), int(minutes))


def apply_fields(*, shop: Shop, campaign: Campaign, data: Mapping[str, Any], now: datetime) -> None:
    """Copy the local-time fields of a create/update onto the draft (the schema checked their
    shapes), then check the combination with the draft's other fields (`check`)."""
    if "local_send_time" in data:
        campaign.local_send_time = data["local_send_time"]
    if "local_send_date" in data:
        campaign.local_send_date = data["local_send_date"]
    if campaign.local_send_time is None:
        campaign.local_send_date = None  # a date alone means nothing: sending at local time is off
    check(shop=shop, campaign=campaign, now=now, send_at=campaign.send_at)


def check(*, shop: Shop, campaign: Campaign, now: datetime, send_at: datetime | None) -> None:
    """422s for combinations that make no sense: a local date with a UTC schedule (the date
    decides when the launch runs), a local time inside the shop's quiet hours (every recipient
    would wait for the morning), a date and time that has passed everywhere on Earth."""
    if campaign.local_send_time is None:
        return
    if campaign.id is not None and test_of(campaign.id) is not None:  # ab_tests.INCOMPATIBLE_SETTINGS
        raise ValidationFailed(
            "An A/B-tested campaign cannot be sent at each subscriber's local time.",
            code="ab_test_incompatible",
            details={"fields": {"local_send_time": ["Remove the A/B test to send at local time."]}},
        )
    if campaign.local_send_date is not None and send_at is not None:
        raise _invalid("send_at", "A campaign sent on a local date is launched by that date: leave send_at out.")
    window = load_settings(shop).get("quiet_hours")
    if window and _in_window(_clock(campaign.local_send_time), window):
        raise _invalid(
            "local_send_time",
            f"{campaign.local_send_time} is within the shop's quiet hours "
            f"({window['start']}-{window['end']}): choose a time outside them.",
        )
    if campaign.local_send_date is not None and _at(campaign, LATEST_ZONE) <= now:
        raise _invalid("local_send_date", "This date and time has passed in every time zone: choose a later one.")


def _in_window(clock: time, window: Mapping[str, str]) -> bool:
    start, end = _clock(window["start"]), _clock(window["end"])
    if start == end:
        return False
    return (start <= clock or clock < end) if start > end else (start <= clock < end)


def _at(campaign: Campaign, zone: ZoneInfo) -> datetime:
    assert campaign.local_send_time is not None
    assert campaign.local_send_date is not None
    local = datetime.combine(campaign.local_send_date, _clock(campaign.local_send_time), tzinfo=zone)
    return local.astimezone(UTC)


def planned_launch(campaign: Campaign) -> datetime | None:
    """When a campaign sent on a local date launches: the first instant its date and time
    happens anywhere (its earliest cohort could not start sooner). None without a date."""
    if campaign.local_send_time is None or campaign.local_send_date is None:
        return None
    return _at(campaign, EARLIEST_ZONE)


def start_in(zone: ZoneInfo, *, send_time: str, send_date: date | None, launch: datetime) -> datetime:
    """The instant a zone's cohort starts for a launch at `launch` (see the module's rules).
    A wall time the spring change skips is read with the offset before it (an hour late); one
    the autumn change repeats, at its first reading."""
    clock = _clock(send_time)
    if send_date is not None:
        return max(datetime.combine(send_date, clock, tzinfo=zone).astimezone(UTC), launch)
    today = launch.astimezone(zone).date()
    for day in (today, today + timedelta(days=1)):
        candidate = datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)
        if candidate >= launch:
            return candidate
    raise AssertionError("a wall time recurs within a day")  # pragma: no cover


def zone_of(shop: Shop) -> Any:
    """SQL for a recipient's zone name: the contact's, else the shop's, else UTC."""
    return func.coalesce(func.nullif(Contact.timezone, ""), literal(shop.timezone or "UTC", type_=String()))


def _resolve(name: str, fallback: ZoneInfo) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # a stored name we cannot read: the shop's
        return fallback


def cohort_plan(*, shop: Shop, campaign: Campaign, audience: Any, launch: datetime) -> dict[str, datetime]:
    """Each zone of the audience and its cohort's start: one grouped pass over the audience."""
    assert campaign.local_send_time is not None
    zone = zone_of(shop)
    names = db.session.scalars(audience.with_only_columns(zone).group_by(zone)).all()
    fallback = _resolve(shop.timezone or "UTC", ZoneInfo("UTC"))
    send_time, send_date = campaign.local_send_time, campaign.local_send_date
    return {
        name: start_in(_resolve(name, fallback), send_time=send_time, send_date=send_date, launch=launch)
        for name in names
    }


def snapshot_columns(*, starts: Mapping[str, datetime], launch: datetime) -> tuple[Any, list[Any]]:
    """The per-zone table a local-time snapshot joins (a VALUES list: zone, state, defer_until,
    rank) and its (state, defer_until, order) columns. A zone missing from it (a contact who
    joined between the plan and the snapshot) goes at once."""
    ranked = sorted(set(starts.values()))
    rows = [
        (name, *(("deferred", at) if at > launch else ("queued", None)), ranked.index(at) + 1)
        for name, at in starts.items()
    ] or [("", "queued", None, 0)]
    table = (
        values(
            column("zone", String()),
            column("state", String()),
            column("defer_until", UTCDateTime()),
            column("rank", db.Integer()),
            name="cohort_starts",
        )
        .data(rows)
        .cte("cohort_starts")
    )
    state = func.coalesce(table.c.state, literal(MessageState.QUEUED.value))
    return table, [state, table.c.defer_until, func.coalesce(table.c.rank, 0)]


def snapshot(
    *, shop: Shop, campaign: Campaign, source: Select[Any], columns: Sequence[str], now: datetime
) -> tuple[int, int]:
    """A local-time launch's snapshot: the plain launch's INSERT ... SELECT (`source` selecting
    `columns`) joined to the per-zone table, each row with its cohort's state and start, in
    cohort order; then the cohorts. Returns (recipients, credits held)."""
    starts = cohort_plan(shop=shop, campaign=campaign, audience=source.order_by(None), launch=now)
    cohort_starts, (state, defer_until, rank) = snapshot_columns(starts=starts, launch=now)
    selected = list(source.selected_columns)
    selected[columns.index("state")] = state
    joined = (
        source.with_only_columns(*selected, defer_until)
        .outerjoin(cohort_starts, cohort_starts.c.zone == zone_of(shop))
        .order_by(None)
        .order_by(rank, Contact.id)
    )
    if on_postgresql():  # the sort by cohort in memory, not on disk (this transaction only)
        db.session.execute(text(f"SET LOCAL work_mem = '{SNAPSHOT_WORK_MEM}'"))
    db.session.execute(insert(Message.__table__).from_select((*columns, "defer_until"), joined))
    return record_cohorts(shop=shop, campaign=campaign, starts=starts, launch=now)


def record_cohorts(
    *, shop: Shop, campaign: Campaign, starts: Mapping[str, datetime], launch: datetime
) -> tuple[int, int]:
    """After the snapshot: one cohort row per start instant, with its messages' id range and
    count (one grouped pass over the campaign's rows, in place of a plain launch's count).
    Returns (recipients, credits held): what the snapshot recorded, as a plain launch holds."""
    held = func.coalesce(func.sum(Message.held_credits), 0)
    rows = db.session.execute(
        select(Message.defer_until, func.count(), func.min(Message.id), func.max(Message.id), held)
        .where(Message.campaign_id == campaign.id)
        .group_by(Message.defer_until)
    ).all()
    zones: dict[datetime, list[str]] = {}
    for name, at in starts.items():
        zones.setdefault(max(at, launch), []).append(name)
    for defer_until, count, first, last, _held in rows:
        at = defer_until or launch
        db.session.add(
            CampaignCohort(
                shop_id=shop.id,
                campaign_id=campaign.id,
                starts_at=at,
                zones=",".join(sorted(zones.get(at, []))),
                recipients=int(count),
                first_message_id=first,
                last_message_id=last,
            )
        )
    return sum(int(row[1]) for row in rows), sum(int(row[4]) for row in rows)


def cohorts(*, campaign_id: int) -> list[CampaignCohort]:
    return list(
        db.session.scalars(
            select(CampaignCohort).where(CampaignCohort.campaign_id == campaign_id).order_by(CampaignCohort.starts_at)
        )
    )


def enqueue_cohorts(*, campaign: Campaign, now: datetime, size: int) -> int:
    """The launch's batch jobs, cohort by cohort over its id range: at once for a cohort that
    starts now, delayed to its start for the others (the sweeper requeues and re-enqueues due
    deferrals if Redis loses a delayed job). Returns the jobs enqueued."""
    enqueued = 0
    for cohort in cohorts(campaign_id=campaign.id):
        if cohort.first_message_id is None or cohort.last_message_id is None:
            continue
        ranges = [
            (low, min(low + size, cohort.last_message_id + 1))
            for low in range(cohort.first_message_id, cohort.last_message_id + 1, size)
        ]
        at = cohort.starts_at if cohort.starts_at > now else None
        enqueued += enqueue_ranges(campaign.id, ranges, shop_id=campaign.shop_id, at=at)
    return enqueued


# A cohort's messages by what became of them (the campaign's counters, per cohort).
_SENT = (MessageState.SENT, MessageState.DELIVERED)
_OPEN = (MessageState.QUEUED, MessageState.DEFERRED, MessageState.SUBMITTING)


def cohort_figures(*, campaign: Campaign, now: datetime) -> list[dict[str, Any]]:
    """Each cohort of the campaign with its state (waiting, sending, paused, done, cancelled)
    and its messages per outcome, counted over its id range (an index range scan each)."""
    result = []
    for cohort in cohorts(campaign_id=campaign.id):
        counts = dict.fromkeys((state.value for state in MessageState), 0)
        if _untouched(campaign, cohort, now):  # every row still waits for its start: no count
            counts[MessageState.DEFERRED.value] = cohort.recipients
        elif cohort.first_message_id is not None:
            rows = db.session.execute(
                select(Message.state, func.count())
                .where(
                    Message.campaign_id == campaign.id,
                    Message.id.between(cohort.first_message_id, cohort.last_message_id),
                )
                .group_by(Message.state)
            ).all()
            for state, count in rows:
                counts[MessageState(state).value] += int(count)
        waiting = sum(counts[state.value] for state in _OPEN)
        result.append(
            {
                "starts_at": cohort.starts_at,
                "zones": [zone for zone in cohort.zones.split(",") if zone],
                "recipients": cohort.recipients,
                "state": _cohort_state(campaign, cohort, waiting, counts, now),
                "sent": sum(counts[state.value] for state in _SENT),
                "delivered": counts[MessageState.DELIVERED.value],
                "waiting": waiting,
                "failed": counts[MessageState.FAILED.value],
                "skipped": counts[MessageState.SKIPPED.value],
                "cancelled": counts[MessageState.CANCELLED.value],
            }
        )
    return result


def _untouched(campaign: Campaign, cohort: CampaignCohort, now: datetime) -> bool:
    """A cohort whose start is ahead, of a campaign neither cancelled nor finished: nothing has
    moved its rows (only a cancel does before the start), so its figures need no count (at a
    million recipients, most cohorts of a launch: ~0.15 s each)."""
    return cohort.starts_at > now and campaign.state in (CampaignState.SENDING, CampaignState.PAUSED)


def _cohort_state(
    campaign: Campaign, cohort: CampaignCohort, waiting: int, counts: Mapping[str, int], now: datetime
) -> str:
    if waiting == 0:
        never_sent = counts[MessageState.SENT.value] + counts[MessageState.DELIVERED.value] == 0
        return "cancelled" if counts[MessageState.CANCELLED.value] and never_sent else "done"
    if campaign.state == CampaignState.PAUSED:
        return "paused"
    return "waiting" if cohort.starts_at > now else "sending"
