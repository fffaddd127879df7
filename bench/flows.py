"""The flow engine's advance rate: runs moved per second through their steps (bench/send.py's
scratch database and shop; no texts are dispatched, the send path is bench/send.py's). Run by
hand; never part of CI.

    export DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/h_engine
    flock /work/wt/bench.lock .venv/bin/python bench/flows.py --runs 10000

`--runs` contacts each get a run of one flow (INSERT ... SELECT, not timed): a send, a wait of
an hour, then a branch on spend whose `no` side sends again. Two passes are timed, in chunks of
`--chunk` (the job's drain): the first (send, wait) at now, the second (branch, send) an hour
later; each prints runs advanced per second, and every run is checked to have taken its steps.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, literal, select

from bench.send import scratch_shop
from shopify_app.extensions import db
from shopify_app.models import Contact, FlowRun, FlowRunState, FlowRunStep
from shopify_app.models.types import UTCDateTime, utcnow
from shopify_app.services.flows import engine, versions

STEPS = [
    {"id": "hello", "type": "send", "body": "Hi {{first_name}}, thanks for joining {{shop_name}}."},
    {"id": "hour", "type": "wait", "minutes": 60},
    {
        "id": "big",
        "type": "condition",
        "if": {"kind": "spent_over", "amount": 100},
        "yes": [],
        "no": [{"id": "offer", "type": "send", "body": "10% off your first order at {{shop_name}}."}],
    },
]


def start_runs(shop_id: int, flow_id: int, version_id: int) -> int:
    """One run per contact, due now (setup, not timed)."""
    now = utcnow()
    source = select(
        literal(shop_id),
        literal(flow_id),
        literal(version_id),
        Contact.id,
        literal("bench"),
        literal(FlowRunState.ACTIVE.value),
        literal("hello"),
        literal(now, type_=UTCDateTime()),
        literal(now, type_=UTCDateTime()),
    ).where(Contact.shop_id == shop_id)
    columns = ["shop_id", "flow_id", "version_id", "contact_id", "trigger_key", "state", "step_id", "due_at"]
    db.session.execute(FlowRun.__table__.insert().from_select([*columns, "started_at"], source))
    db.session.commit()
    return int(db.session.scalar(select(func.count()).select_from(FlowRun)))


def timed_pass(at: object, chunk: int) -> tuple[int, float]:
    """Advance every due run in chunks, as jobs/flows.py drains; (runs, seconds)."""
    moved, started = 0, time.perf_counter()
    while True:
        summary = engine.advance_due(now=at, limit=chunk)  # type: ignore[arg-type]
        moved += summary["claimed"]
        if summary["claimed"] < chunk:
            return moved, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--chunk", type=int, default=500)
    args = parser.parse_args()
    with scratch_shop("smsb_bench_flows", args.runs, 1, batch=1000) as (_url, _base, _config, shop):
        flow = versions.create_flow(shop=shop, data={"name": "Bench", "trigger": "welcome", "steps": STEPS})
        versions.update_flow(shop=shop, flow_id=flow.id, data={"enabled": True})
        count = start_runs(shop.id, flow.id, int(flow.current_version_id))
        for name, at in (("send, wait", utcnow()), ("branch, send", utcnow() + timedelta(minutes=61))):
            moved, seconds = timed_pass(at, args.chunk)
            print(f"{name}: {moved:,} runs in {seconds:.2f} s = {moved / seconds:,.0f} runs/s", flush=True)
        steps = db.session.scalar(select(func.count()).select_from(FlowRunStep))
        completed = db.session.scalar(select(func.count()).where(FlowRun.state == FlowRunState.COMPLETED))
        assert (steps, completed) == (count * 4, count), (steps, completed)
        print(f"{count:,} runs completed, {steps:,} step rows")


if __name__ == "__main__":
    main()
