"""Local-time sending at scale: the launch of a campaign sent "at HH:MM in each subscriber's
time zone" and its send rate, beside a plain launch and send of the same audience in the same
run (bench/send.py's setup, fake Mitto and worker). Run by hand; never part of CI.

    export DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test
    flock /work/wt/bench.lock .venv/bin/python bench/local_time.py --size 1000000
    flock /work/wt/bench.lock .venv/bin/python bench/local_time.py --size 100000 --launch-only

The contacts are spread over ZONES (id modulo their count). Per round (`--repeat`, default 2):
a plain launch and send (bench/send.py's `send_warm`), then a local-time launch whose time
puts one zone's cohort at the launch (queued) and the others hours ahead (deferred). Its send
is measured as the cohorts would go when their time comes: the bench moves the clock (the
deferred rows' defer_until to the past, VACUUMed, not timed), and enqueues each cohort's
batches over its id range, as its delayed jobs would at its start; one worker (--worker,
default threaded) sends, and every message is checked sent once. The raw loop of
bench/send.py runs once over the plain campaign's rows for the ratio bench/README.md tracks.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis
from sqlalchemy import func, select, text

from bench._scratch import vacuum_analyze
from bench.send import (
    REDIS_URL,
    checkpoint,
    launch,
    raw_bounds,
    run_worker,
    scratch_shop,
    send_warm,
    verify,
    worker_env,
)
from shopify_app.extensions import db
from shopify_app.models import Campaign, CampaignCohort, CampaignState, MessageState
from shopify_app.services.campaigns import campaigns, local_time

BODY = "Hi {{first_name}}, 20% off everything today at {{shop_name}}. Reply STOP to opt out."
ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
)


def spread_zones() -> None:
    """Give the contacts ZONES in turn (setup, not timed)."""
    zones = "ARRAY[" + ", ".join(f"'{zone}'" for zone in ZONES) + "]"
    db.session.execute(text(f"UPDATE contacts SET timezone = ({zones})[1 + id % {len(ZONES)}]"))  # noqa: S608
    db.session.commit()
    vacuum_analyze()


def a_time_now_in_new_york() -> str:
    """The current minute on New York's clock: its cohort goes at the launch, the zones to its
    west have that time still ahead (1 to 5 hours)."""
    return datetime.now(ZoneInfo(ZONES[0])).strftime("%H:%M")


def launch_local(shop: Any) -> tuple[int, float, float]:
    """A local-time launch (New York's current minute, today there); returns (campaign id, seconds,
    seconds of the zone pass)."""
    redis.Redis.from_url(REDIS_URL).flushdb()
    today = datetime.now(ZoneInfo(ZONES[0])).date()
    data = {"name": "Local", "body": BODY, "local_send_time": a_time_now_in_new_york(), "local_send_date": today}
    campaign = campaigns.create_campaign(shop=shop, data=data)
    plan = local_time.cohort_plan
    spent = [0.0]

    def timed_plan(**kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return plan(**kwargs)
        finally:
            spent[0] += time.perf_counter() - started

    local_time.cohort_plan = timed_plan
    try:
        started = time.perf_counter()
        campaigns.launch(shop=shop, campaign_id=campaign.id)
        elapsed = time.perf_counter() - started
    finally:
        local_time.cohort_plan = plan
    return campaign.id, elapsed, spent[0]


def cohorts_of(campaign_id: int) -> list[tuple[str, int, str]]:
    query = select(CampaignCohort).where(CampaignCohort.campaign_id == campaign_id)
    rows = db.session.scalars(query.order_by(CampaignCohort.starts_at))
    return [(row.zones, row.recipients, row.starts_at.strftime("%H:%M UTC")) for row in rows]


def figures_ms(campaign_id: int) -> float:
    """GET /api/campaigns/<id>/cohorts' work (local_time.cohort_figures), best of 5, in ms."""
    campaign = db.session.get(Campaign, campaign_id)
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        local_time.cohort_figures(campaign=campaign, now=datetime.now(UTC))
        best = min(best, time.perf_counter() - started)
    db.session.rollback()
    return 1000 * best


def time_passes(campaign_id: int) -> int:
    """The bench's clock: every cohort's start comes (defer_until to the past), then VACUUM so
    the send does not pay for the bench's UPDATE. Returns the rows moved."""
    db.session.rollback()
    moved = db.session.execute(
        text(
            "UPDATE messages SET defer_until = now() - interval '1 second' WHERE campaign_id = :id AND state = :state"
        ),
        {"id": campaign_id, "state": MessageState.DEFERRED.value},
    ).rowcount
    db.session.commit()
    vacuum_analyze()
    return int(moved or 0)


def send_local(shop: Any, count: int, config: dict[str, Any], worker: str) -> dict[str, Any]:
    """Launch local-time, let time pass, then one worker sends every cohort (their batches
    enqueued once it waits, as each cohort's delayed jobs would at its start)."""
    campaign_id, launched, zone_pass = launch_local(shop)
    print(f"  local-time launch {launched:.2f} s (zone pass {zone_pass:.2f} s); cohorts {cohorts_of(campaign_id)}")
    deferred = time_passes(campaign_id)
    redis.Redis.from_url(REDIS_URL).flushdb()  # the delayed jobs, hours ahead: enqueued anew below
    state: dict[str, Any] = {}

    def go() -> None:
        campaign = db.session.get(Campaign, campaign_id)
        state["enqueued"] = datetime.now(UTC)
        later = datetime.now(UTC) + timedelta(days=2)  # every cohort's start has come
        local_time.enqueue_cohorts(campaign=campaign, now=later, size=int(config["SMS_BATCH_SIZE"]))

    def done() -> bool:
        db.session.rollback()
        return db.session.scalar(select(Campaign.state).where(Campaign.id == campaign_id)) == CampaignState.COMPLETED

    log = Path(tempfile.gettempdir()) / "bench-local-time-worker.log"
    checkpoint(config["DATABASE_URL"])
    run_worker(worker_env(config), log, worker_class=worker, done=done, profile=None, when_idle=go)
    completed = db.session.scalar(select(Campaign.completed_at).where(Campaign.id == campaign_id))
    period, calls = verify(campaign_id, count)
    print(f"  cohort figures of the sent campaign: {figures_ms(campaign_id):.1f} ms")
    wall = (completed - state["enqueued"]).total_seconds()
    return {"launch": launched, "deferred": deferred, "rate": count / wall, "period": count / period, "calls": calls}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=100_000, help="recipients")
    parser.add_argument("--batch", type=int, default=500, help="SMS_BATCH_SIZE")
    parser.add_argument("--worker", default="threaded", help="worker class")
    parser.add_argument("--repeat", type=int, default=2, help="rounds of (plain, local-time)")
    parser.add_argument("--launch-only", action="store_true", help="launches only: no sending")
    args = parser.parse_args()
    rows = []
    with scratch_shop("smsb_bench_local", args.size, 2 * args.repeat, batch=args.batch) as (url, base, config, shop):
        spread_zones()
        for _ in range(args.repeat):
            if args.launch_only:
                _, plain, _ = launch(shop)
                campaign_id, local, zone_pass = launch_local(shop)
                print(
                    f"plain launch {plain:.2f} s, local-time launch {local:.2f} s (zone pass {zone_pass:.2f} s), "
                    f"cohort figures {figures_ms(campaign_id):.1f} ms"
                )
                continue
            log = Path(tempfile.gettempdir()) / "bench-local-time-plain.log"
            checkpoint(url)
            plain = send_warm(shop, args.size, worker_env(config), log, worker_class=args.worker, profile=None)
            verify(plain["campaign_id"], args.size)
            local = send_local(shop, args.size, config, args.worker)
            rows.append((plain["launch"], args.size / plain["wall"], local))
            print(
                f"plain: launch {plain['launch']:.2f} s, {args.size / plain['wall']:,.0f} msgs/s | "
                f"local time: launch {local['launch']:.2f} s, {local['rate']:,.0f} msgs/s "
                f"(first send->completed {local['period']:,.0f}), {local['calls']} provider calls",
                flush=True,
            )
        if rows and not args.launch_only:
            last = db.session.scalar(select(func.max(Campaign.id)).where(Campaign.local_send_time.is_(None)))
            raw = raw_bounds(url, base, last, args.batch, passes=1)
            print(f"raw loop (bench/send.py) over the plain campaign's rows: {raw['loop']:,.0f} msgs/s")
            for plain_launch, plain_rate, local in rows:
                print(
                    f"| {args.size:,} | {plain_launch:.2f} s | {local['launch']:.2f} s | {plain_rate:,.0f} "
                    f"({100 * plain_rate / raw['loop']:.1f} %) | {local['rate']:,.0f} "
                    f"({100 * local['rate'] / raw['loop']:.1f} %) |"
                )
    redis.Redis.from_url(REDIS_URL).flushdb()


if __name__ == "__main__":
    main()
