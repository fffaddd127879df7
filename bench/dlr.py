"""Mitto delivery-report (DLR) intake under gunicorn against the webhook ceiling, same server, same run.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test .venv/bin/python bench/dlr.py
    .venv/bin/python bench/dlr.py [--seconds 10] [--connections 16] [--batch 100] [--tool python] [--messages 0]

bench/webhooks.py's gunicorn (2 workers), wrk or Python-threads load and CPU accounting, on a scratch
PostgreSQL database (dropped afterwards) and Redis db 12 (FLUSHDB before and after). Loads GET /health
(the ceiling), POST /webhooks/shopify and POST /mitto/dlr/<secret> with a JSON array of --batch reports
(mitto-1..N, Delivered / Failed / Pending); prints rps, reports/s, p50/p95/p99, CPU per request, and
checks rows and jobs (no RQ worker runs). Then, in this process, every recorded event is pointed at its
own `sent` message (INSERT ... SELECT generate_series; --messages N: spread over N) and one
jobs.delivery.apply_reports call draining them all is timed; last, a DLR request's phases in-process.
Run by hand; never part of CI.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MITTO_SECRET = "bench-mitto-dlr-path-secret-0123456789abcdef"
os.environ["MITTO_WEBHOOK_SECRET"] = MITTO_SECRET  # start_gunicorn hands os.environ to the server
REDIS_URL = "redis://127.0.0.1:6379/12"

import redis  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from rq import Queue  # noqa: E402
from sqlalchemy import event, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

import bench.webhooks as webhooks_bench  # noqa: E402
from bench.webhooks import CPU_GROUPS, SHOP, Result, cpu_delta, cpu_snapshot, order_payload  # noqa: E402
from jobs.delivery import apply_reports  # noqa: E402
from shopify_app import create_app  # noqa: E402
from shopify_app.blueprints import mitto as mitto_view  # noqa: E402
from shopify_app.extensions import db  # noqa: E402
from shopify_app.models import Campaign, DeliveryEvent, Message, Shop  # noqa: E402
from shopify_app.services.sending import delivery  # noqa: E402
from tests.conftest import install_shop, scratch_database  # noqa: E402
from tests.processes import free_port, wait_for_http  # noqa: E402

webhooks_bench.REDIS_URL = REDIS_URL  # start_gunicorn reads its module's REDIS_URL (db 14) when called


def dlr_body(batch: int) -> bytes:
    """A JSON array of `batch` reports shaped like Mitto's callbacks (camelCase, extra fields)."""
    failed, at = {"errorCode": "30005", "errorMessage": "Unknown destination handset"}, "2026-11-27T15:12:04Z"
    reports = []
    for n in range(1, batch + 1):
        status = ("Delivered", "Failed", "Pending")[(n - 1) % 3]
        report = {"messageId": f"mitto-{n}", "deliveryStatus": status, "to": "+12175550143", "updatedAt": at}
        reports.append(report | (failed if status == "Failed" else {}))
    return json.dumps(reports).encode()


def load_server(args: Any, url: str, load: Callable[..., Result]) -> tuple[list[Result], int]:
    """One gunicorn; /health, the webhook, then the DLR batches. The results and the DLR 202s."""
    port, database, order = free_port(), make_url(url).database, order_payload()
    targets = [("GET", "/health", {}, b""), ("POST", "/webhooks/shopify", webhooks_bench.webhook_headers(order), order)]
    targets.append(("POST", f"/mitto/dlr/{MITTO_SECRET}", {"Content-Type": "application/json"}, dlr_body(args.batch)))
    results, dlr_ok = [], 0
    with tempfile.TemporaryFile() as log:
        server = webhooks_bench.start_gunicorn(port, url, args, log)
        try:
            if wait_for_http(f"http://127.0.0.1:{port}/health") is None:
                raise RuntimeError("gunicorn did not answer /health")
            for method, path, headers, body in targets:
                warm = load(port, method, path, headers, body, args, args.warmup)
                before = cpu_snapshot(server.pid, database)
                result = load(port, method, path, headers, body, args, args.seconds)
                result.cpu = cpu_delta(before, cpu_snapshot(server.pid, database))
                result.endpoint = path.replace(MITTO_SECRET, "<secret>")
                results.append(result)
                dlr_ok = warm.ok + result.ok  # the last target: the DLRs
        finally:
            server.terminate()
            server.wait(timeout=30)
        webhooks_bench.report_server_errors(log)
    return results, dlr_ok


def print_results(results: list[Result], batch: int) -> None:
    print(f"\n{'endpoint':<20} {'requests':>8} {'ok':>7} {'rps':>6} {'items/s':>8} {'p50':>6} {'p95':>6} ", end="")
    print("p99 ms  CPU us/request: " + " / ".join(CPU_GROUPS))
    for r in results:
        items = r.ok / r.seconds * (batch if r.endpoint.startswith("/mitto") else 1)
        cpu = " / ".join(f"{r.cpu[g] / max(r.requests, 1) * 1e6:.0f}" for g in CPU_GROUPS)
        print(f"{r.endpoint:<20} {r.requests:8,} {r.ok:7,} {r.rps:6.0f} {items:8,.0f} {r.p50:6.1f} ", end="")
        print(f"{r.p95:6.1f} {r.p99:6.1f}  {cpu}" + (f"\n  {r.errors}" if r.errors else ""))
    health, hook, dlr = results
    reports = dlr.ok / dlr.seconds * batch
    busy = dlr.cpu["machine"] / dlr.seconds / (os.cpu_count() or 1)
    print(f"DLR: {reports:,.0f} reports/s in batches of {batch} = {reports / health.rps:.1f}x /health rps, ", end="")
    print(f"{reports / hook.rps:.1f}x webhook rps; requests {dlr.rps / health.rps:.0%} of /health ", end="")
    per_report = dlr.cpu["gunicorn"] / dlr.requests / batch * 1e6
    print(f"(webhooks {hook.rps / health.rps:.0%}); gunicorn CPU {per_report:.0f} us per report; ", end="")
    print(f"machine CPUs {busy:.0%} busy during the DLR run")


SEED = """INSERT INTO messages (shop_id, campaign_id, state, attempts, provider_message_id, segments, credits,
    attempted_at, sent_at, created_at) SELECT :shop, :campaign, 'sent', 1, 'mitto-' || n, 1, 1, now(), now(), now()
    FROM generate_series(1, :count) AS n"""
# The load posted the same `batch` ids every time: point the events at the seeded messages.
REMAP = "UPDATE delivery_events SET provider_message_id = 'mitto-' || (1 + (id - 1) % :count)"


def apply_side(app: Any, url: str, args: Any) -> None:
    """Seed `sent` messages for the recorded events, then time apply_reports draining them all."""
    database, statements, in_sql = make_url(url).database, Counter[str](), [0.0]

    def before(conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        statements[sql.split()[0]] += 1
        conn.info["bench_t"] = time.perf_counter()

    def after(conn: Any, *_: Any) -> None:
        in_sql[0] += time.perf_counter() - conn.info.pop("bench_t")

    with app.app_context():
        count = args.messages or db.session.scalar(select(func.max(DeliveryEvent.id))) or 0
        campaign = Campaign(shop_id=db.session.scalar(select(Shop.id)), name="DLR bench", body="Hi {{ first_name }}")
        db.session.add(campaign)
        db.session.flush()
        db.session.execute(text(SEED), {"shop": campaign.shop_id, "campaign": campaign.id, "count": count})
        db.session.execute(text(REMAP), {"count": count})
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE delivery_events, messages")
        event.listen(db.engine, "before_cursor_execute", before)
        event.listen(db.engine, "after_cursor_execute", after)
        snapshot, wall, cpu = cpu_snapshot(-1, database), time.perf_counter(), time.process_time()
        summary = apply_reports()  # what the first queued job does: apply_pending until nothing is left
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        used = cpu_delta(snapshot, cpu_snapshot(-1, database))
        event.remove(db.engine, "before_cursor_execute", before)
        event.remove(db.engine, "after_cursor_execute", after)
        applied = sum(summary.values())
        print(f"\nApply: {applied:,} events over {count:,} sent messages in {wall:.2f} s = ", end="")
        print(f"{applied / wall:,.0f} reports/s; results {dict(sorted(summary.items()))}")
        print(f"  CPU: this process {cpu:.2f} s, PostgreSQL {used['postgres']:.2f} s; inside cursor.execute ", end="")
        print(f"{in_sql[0]:.2f} s wall; statements {dict(statements.most_common())} (executemany counts once)")
        states = db.session.execute(select(Message.state, func.count()).group_by(Message.state)).tuples().all()
        print(f"  messages by state { ({str(state): n for state, n in states}) }")
        db.session.execute(text("ANALYZE delivery_events"))  # as autovacuum would soon: else a 10 ms plan
        db.session.commit()
        wall = time.perf_counter()
        for _ in range(100):
            apply_reports()
        print(f"  apply_reports with nothing left (each later queued job): {(time.perf_counter() - wall) * 10:.2f} ms")
        db.engine.dispose()


def intake_phases(app: Any, batch: int, count: int) -> None:
    """Wall and CPU per phase of DLR requests through app.test_client() (same database and Redis)."""
    client, body, path = app.test_client(), dlr_body(batch), f"/mitto/dlr/{MITTO_SECRET}"
    totals: dict[str, list[float]] = {}

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*a: Any, **k: Any) -> Any:
            wall, cpu, result = time.perf_counter(), time.thread_time(), fn(*a, **k)
            slot = totals.setdefault(name, [0.0, 0.0])
            slot[:] = [slot[0] + time.perf_counter() - wall, slot[1] + time.thread_time() - cpu]
            return result

        return wrapper

    targets = [
        (mitto_view.report_schema, "load", f"schema load (x{batch})"),
        (delivery, "record_reports", "record_reports (COPY + COMMIT)"),
        (mitto_view, "enqueue", "enqueue (RQ + Redis)"),
    ]
    originals = [(owner, attr, getattr(owner, attr)) for owner, attr, _ in targets]
    for owner, attr, name in targets:
        setattr(owner, attr, timed(name, getattr(owner, attr)))
    post = timed("whole DLR request", lambda: client.post(path, data=body, content_type="application/json"))
    try:
        for _ in range(50):  # warm up
            assert post().status_code == 202
        totals.clear()
        for _ in range(count):
            post()
    finally:
        for owner, attr, original in originals:
            setattr(owner, attr, original)
    print(f"\nIn-process, {count:,} DLR requests of {batch} reports (ms per request: wall / CPU):")
    for name, (wall, cpu) in totals.items():
        print(f"  {name:<32} {wall / count * 1e3:6.2f} / {cpu / count * 1e3:5.2f}")
    with app.app_context():
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0, help="whole seconds with wrk")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-requests", type=int, help="override gunicorn.conf.py (0 = never recycle)")
    parser.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--batch", type=int, default=100, help="reports per DLR request")
    parser.add_argument("--messages", type=int, default=0, help="sent messages to apply to (0: one per event)")
    parser.add_argument("--phase-requests", type=int, default=200, help="0 skips the in-process phase timing")
    args = parser.parse_args()
    if not os.environ["DATABASE_URL"].startswith("postgres"):
        sys.exit("DATABASE_URL must name a PostgreSQL server: this bench is gunicorn + PostgreSQL + Redis")
    tool = "wrk" if args.tool == "wrk" or (args.tool == "auto" and shutil.which("wrk")) else "python"
    shape, loadavg = f"{args.threads} threads, " if tool == "wrk" else "", "load average %.2f %.2f %.2f"
    print(
        f"gunicorn: {args.workers} workers; load: {tool}, {shape}{args.connections} connections, {args.warmup:g} s ",
        end="",
    )
    print(
        f"warm-up + {args.seconds:g} s each; DLR body {len(dlr_body(args.batch)):,} bytes ({args.batch} reports); ",
        end="",
    )
    print(f"{os.cpu_count()} CPUs; {loadavg % os.getloadavg()}")
    queue_redis, most = redis.Redis.from_url(REDIS_URL), 2 * args.connections * args.batch
    queue_redis.flushdb()
    try:
        with tempfile.TemporaryDirectory() as tmp, scratch_database(Path(tmp), "smsb_bench_dlr") as url:
            overrides = {"DATABASE_URL": url, "REDIS_URL": REDIS_URL, "LOG_LEVEL": "WARNING"}
            app = create_app({"APP_ENV": "development", "MITTO_WEBHOOK_SECRET": MITTO_SECRET, **overrides})
            with app.app_context():
                upgrade()
                install_shop(SHOP)
                db.engine.dispose()
            results, dlr_ok = load_server(
                args, url, webhooks_bench.run_wrk if tool == "wrk" else webhooks_bench.run_python
            )
            print_results(results, args.batch)
            with app.app_context():
                rows = db.session.scalar(select(func.count()).select_from(DeliveryEvent)) or 0
                db.engine.dispose()
            jobs, slack = Queue("default", connection=queue_redis).count, rows - dlr_ok * args.batch
            print(f"DLR 202s (warm-up + run) {dlr_ok:,}; delivery_events rows {rows:,}; apply jobs {jobs:,}; ", end="")
            print(f"rows - {args.batch} x 202s = {slack} (in flight at the cut-offs, <= {most})")
            # One apply job waits at a time (a request enqueues only when none is waiting).
            if not 0 <= slack <= most or (rows and jobs != 1):
                print("  MISMATCH: a 202 without its rows, more rows than in-flight requests explain, or no apply job")
            queue_redis.flushdb()
            apply_side(app, url, args)
            if args.phase_requests:
                intake_phases(app, args.batch, args.phase_requests)
    finally:
        queue_redis.flushdb()
    print(f"At the end: {loadavg % os.getloadavg()}")


if __name__ == "__main__":
    main()
