"""Webhook intake under gunicorn against its floor, in turn, same server, same run.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test .venv/bin/python bench/webhooks.py
    .venv/bin/python bench/webhooks.py [--pairs 5] [--seconds 10] [--connections 16] [--tool python]

The floor (bench/_webhook_floor.py) is a bare Flask app doing only what a correct intake must
before its 200: verify the HMAC, one INSERT ... ON CONFLICT (webhook_id) DO NOTHING RETURNING id
with its COMMIT on the thread's own psycopg connection, one Redis LPUSH. Ours is wsgi:app. Both
under gunicorn (gunicorn.conf.py, 2 workers x 4 threads) on a scratch PostgreSQL database
(migrated, one shop, dropped afterwards) and Redis db 14 (FLUSHDB before and after); wrk (or
Python threads when wrk is absent) POSTs a signed ~1.8 KB orders/create body with a unique
X-Shopify-Webhook-Id per request. Floor and ours run in turn `--pairs` times; prints rps,
p50/p95/p99 and CPU per request by process for each run, ours as a share of the floor by pair
and the median, checks one row and one signal per 200 of ours, then times the phases of a
webhook request in-process. No RQ worker runs: intake only. Run by hand; never part of CI.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import runpy
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

import psycopg  # noqa: E402
import redis  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from rq import Queue  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench import _webhook_floor as webhook_floor  # noqa: E402
from shopify_app import create_app, queueing  # noqa: E402
from shopify_app.blueprints import webhooks as webhooks_view  # noqa: E402
from shopify_app.extensions import db  # noqa: E402
from shopify_app.security import decorators  # noqa: E402
from shopify_app.security.hmac import sign_webhook  # noqa: E402

try:  # a tree from before the inbox (issue 28) can be measured with this script too
    from shopify_app.services.webhooks import webhook_inbox
except ImportError:
    webhook_inbox = None  # type: ignore[assignment]
from tests.conftest import install_shop, scratch_database  # noqa: E402
from tests.processes import free_port, wait_for_http  # noqa: E402

SECRET = "bench-shopify-api-secret-0123456789abcdef0123"
SHOP = "bench.myshopify.com"
REDIS_URL = "redis://127.0.0.1:6379/14"
CPU_GROUPS = ("gunicorn", "postgres", "redis", "load", "machine")
OURS, FLOOR = "wsgi:app", "bench._webhook_floor:app"

WRK_SCRIPT = """
local f = assert(io.open(%(body_path)s, "rb")); local body = f:read("*a"); f:close()
if body == "" then body = nil end
local n, counter = 0, 0
local headers = %(headers)s
function setup(thread) n = n + 1; thread:set("tid", n) end
function request()
  counter = counter + 1
  headers["X-Shopify-Webhook-Id"] = %(prefix)s .. tid .. "-" .. counter
  return wrk.format(%(method)s, %(path)s, headers, body)
end
function done(s, latency, requests)
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d %%.0f %%.0f %%.0f\\n", s.requests, s.duration,
    s.errors.connect, s.errors.read + s.errors.write, s.errors.status, s.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


@dataclass
class Result:
    endpoint: str
    requests: int  # complete responses
    ok: int  # status < 400 (wrk's notion of success)
    seconds: float
    p50: float  # ms
    p95: float
    p99: float
    errors: str = ""
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds by process group

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def report_server_errors(log: Any) -> None:
    """Print gunicorn's error lines, if any, from its captured log file."""
    log.seek(0)
    problems = [x for x in log.read().decode().splitlines() if "Traceback" in x or "[ERROR]" in x]
    if problems:
        print(f"gunicorn log: {len(problems)} error lines, first: {problems[0]}")


def order_payload() -> bytes:
    """An orders/create-shaped body (~1.8 KB), as Shopify sends it."""
    person = {"first_name": "Jane", "last_name": "Doe", "email": "jane.doe@example.com", "phone": "+12175550143"}
    address = person | {"address1": "123 Main St", "city": "Springfield", "province_code": "IL", "zip": "62701"}
    items = [
        {"id": 466157049 + i, "variant_id": 39072856 + i, "product_id": 632910392, "title": f"Blossom tee {i}"}
        | {"quantity": 1 + i, "price": "24.00", "sku": f"TEE-{i:03d}", "vendor": "Blossom", "taxable": True}
        for i in range(3)
    ]
    order = {"id": 820982911946154508, "admin_graphql_api_id": "gid://shopify/Order/820982911946154508"}
    order |= {"name": "#1001", "created_at": "2026-11-27T10:12:04-05:00", "currency": "USD", "total_tax": "11.52"}
    order |= {"financial_status": "paid", "subtotal_price": "144.00", "total_price": "155.52", "line_items": items}
    order |= {"customer": person | {"id": 115310627314723954, "tags": "vip", "default_address": address}}
    order |= {"shipping_address": address, "billing_address": address, "buyer_accepts_sms_marketing": True}
    return json.dumps(order | person | {"note_attributes": [{"name": "gift", "value": "no"}]}).encode()


def webhook_headers(body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-API-Version": "2026-10",
        "X-Shopify-Event-Id": str(uuid.uuid4()),
        "X-Shopify-Hmac-Sha256": sign_webhook(body, SECRET),  # covers the body only: constant
    }


def lua(value: str) -> str:
    return json.dumps(value)  # ASCII-only values: a JSON string literal is a Lua one


def run_wrk(port: int, method: str, path: str, headers: dict[str, str], body: bytes, args: Any, secs: float) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "body").write_bytes(body)
        table = "{" + ", ".join(f"[{lua(k)}] = {lua(v)}" for k, v in headers.items()) + "}"
        prefix = lua(f"bench-{uuid.uuid4().hex[:8]}-")
        script = {"body_path": lua(str(Path(tmp) / "body")), "headers": table, "prefix": prefix}
        (Path(tmp) / "load.lua").write_text(WRK_SCRIPT % {**script, "method": lua(method), "path": lua(path)})
        command = ["wrk", "-t", str(args.threads), "-c", str(args.connections), "-d", f"{secs:g}s"]
        command += ["-s", str(Path(tmp) / "load.lua"), f"http://127.0.0.1:{port}"]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    if done.returncode or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    count, micros, connect, rw, status, timeout, p50, p95, p99 = (int(float(x)) for x in line.split()[1:])
    errors = f"connect {connect}, read/write {rw}, timeout {timeout}" if connect + rw + timeout else ""
    return Result(path, count, count - status, micros / 1e6, p50 / 1e3, p95 / 1e3, p99 / 1e3, errors)


def run_python(
    port: int, method: str, path: str, headers: dict[str, str], body: bytes, args: Any, secs: float
) -> Result:
    """Fallback: a thread per connection, each persistent; GIL-bound, so it saturates before wrk."""
    latencies: list[list[float]] = [[] for _ in range(args.connections)]
    oks, failures = [0] * args.connections, [0] * args.connections
    prefix, deadline = f"bench-{uuid.uuid4().hex[:8]}", time.perf_counter() + secs

    def client(index: int) -> None:
        conn, n = http.client.HTTPConnection("127.0.0.1", port, timeout=10), 0
        while time.perf_counter() < deadline:
            n += 1
            started = time.perf_counter()
            sent = {**headers, "X-Shopify-Webhook-Id": f"{prefix}-{index}-{n}"}
            try:  # http.client sends headers and a bytes body in one write
                conn.request(method, path, body=body or None, headers=sent)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                failures[index] += 1  # e.g. a worker recycled (max_requests) under us: reconnect
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                continue
            latencies[index].append((time.perf_counter() - started) * 1000)
            oks[index] += response.status < 400
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    flat = [x for xs in latencies for x in xs]
    cuts = statistics.quantiles(flat, n=100, method="inclusive")
    errors = f"connection errors {sum(failures)}" if sum(failures) else ""
    return Result(path, len(flat), sum(oks), time.perf_counter() - started, cuts[49], cuts[94], cuts[98], errors)


def cpu_snapshot(master: int, database: str) -> dict[tuple[str, int], float]:
    """CPU seconds so far by (group, pid), from Linux /proc: gunicorn (the master with its reaped,
    recycled workers, and the live workers), the PostgreSQL backends serving `database`, Redis,
    the load generator (this process and wrk, its reaped child), and the whole machine."""
    own, hz = os.times(), os.sysconf("SC_CLK_TCK")
    ticks = [int(x) for x in Path("/proc/stat").read_text().split()[1:9]]
    snapshot = {("machine", 0): (sum(ticks) - ticks[3] - ticks[4]) / hz}  # all but idle and iowait
    snapshot["load", 0] = own.user + own.system + own.children_user + own.children_system
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            comm, rest = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :].split()
            pid, ppid, (utime, stime, cutime, cstime) = int(stat.parent.name), int(rest[1]), map(int, rest[11:15])
            if master in (pid, ppid):
                group = "gunicorn"
            elif comm == "postgres" and f" {database} " in (stat.parent / "cmdline").read_text():
                group = "postgres"
            elif comm == "redis-server":
                group = "redis"
            else:
                continue
        except OSError:
            continue  # exited meanwhile
        snapshot[group, pid] = (utime + stime + (cutime + cstime if pid == master else 0)) / hz
    return snapshot


def cpu_delta(before: dict[tuple[str, int], float], after: dict[tuple[str, int], float]) -> dict[str, float]:
    """Per group. A recycled gunicorn worker moves into its master's figure when reaped, so it is
    subtracted where it was; another process that exited loses only its last interval."""
    totals = dict.fromkeys(CPU_GROUPS, 0.0)
    for (group, pid), seconds in after.items():
        totals[group] += seconds - before.get((group, pid), 0.0)
    for (group, pid), seconds in before.items():
        if group == "gunicorn" and (group, pid) not in after:
            totals[group] -= seconds
    return totals


def start_gunicorn(
    port: int, url: str, args: Any, log: Any, env_overrides: dict[str, str] | None = None, *, target: str = OURS
) -> subprocess.Popen[bytes]:
    """gunicorn (gunicorn.conf.py, `args.workers`) serving `target` on `url`; `env_overrides`
    replace this bench's settings."""
    command = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--workers", str(args.workers)]
    command += ["--bind", f"127.0.0.1:{port}", "--access-logfile", "/dev/null"]
    if args.max_requests is not None:
        command += ["--max-requests", str(args.max_requests)]
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": REDIS_URL, "SHOPIFY_API_SECRET": SECRET}
    env |= {"LOG_LEVEL": getattr(args, "log_level", "WARNING"), "APP_ENV": "development"}
    env |= {"FLOOR_DSN": libpq_dsn(url), "FLOOR_REDIS_URL": REDIS_URL, "FLOOR_SECRET": SECRET}
    return subprocess.Popen(
        [*command, target], cwd=ROOT, env=env | (env_overrides or {}), stdout=log, stderr=subprocess.STDOUT
    )


def libpq_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def time_phases(url: str, count: int) -> None:
    """Wall and CPU per phase of webhook requests through app.test_client() (same DB and Redis)."""
    overrides = {"DATABASE_URL": url, "REDIS_URL": REDIS_URL, "SHOPIFY_API_SECRET": SECRET, "LOG_LEVEL": "WARNING"}
    app = create_app({"APP_ENV": "development", **overrides})
    body = order_payload()
    headers, client = webhook_headers(body), app.test_client()
    totals: dict[str, list[float]] = {}
    statements: list[str] = []

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*a: Any, **k: Any) -> Any:
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return fn(*a, **k)
            finally:
                slot = totals.setdefault(name, [0.0, 0.0, 0])
                slot[:] = [slot[0] + time.perf_counter() - wall, slot[1] + time.thread_time() - cpu, slot[2] + 1]

        return wrapper

    targets = [
        (decorators, "webhook_hmac_is_valid", "verify HMAC (body, secret)"),
        (webhooks_view, "parse_json", "parse JSON (depth, numbers)"),
        (webhooks_view, "record_event", "record_event (ORM + PostgreSQL)"),
        (psycopg.Cursor, "execute", "  of which psycopg execute"),
        (psycopg.Connection, "commit", "  of which psycopg COMMIT"),
        *([(webhook_inbox, "signal", "signal (Redis inbox script)")] if webhook_inbox else []),
        (
            queueing,
            "enqueue",
            "RQ enqueue (a drain job per burst)" if webhook_inbox else "RQ enqueue (a job per event)",
        ),
    ]
    originals = [(owner, attr, getattr(owner, attr)) for owner, attr, _ in targets]
    for owner, attr, name in targets:
        setattr(owner, attr, timed(name, getattr(owner, attr)))
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda _c, _u, sql, *_: statements.append(sql.split()[0]))

    def post(n: int) -> None:
        sent = {**headers, "X-Shopify-Webhook-Id": f"phases-{uuid.uuid4().hex}-{n}"}
        assert client.post("/webhooks/shopify", data=body, headers=sent).status_code == 200

    try:
        for n in range(200):  # warm up: pool, statement caches, first-request imports
            post(n)
        totals.clear()
        statements.clear()
        request, health = timed("whole webhook request", post), timed("GET /health (Flask floor)", client.get)
        for n in range(count):
            request(n)
            health("/health")
    finally:
        for owner, attr, original in originals:
            setattr(owner, attr, original)
    top = [totals.get(name, [0.0, 0.0, 0]) for _, _, name in targets if not name.startswith(" ")]
    whole = totals["whole webhook request"]
    print(f"\nIn-process, {count:,} webhook requests (us per request; the timers themselves cost ~1 us each):")
    print(f"  {'phase':<40} {'wall':>6} {'CPU':>6} {'calls':>5}")
    totals["rest (Flask, test client, teardown)"] = [whole[i] - sum(t[i] for t in top) for i in (0, 1)] + [count]
    rest = ["whole webhook request", "GET /health (Flask floor)", "rest (Flask, test client, teardown)"]
    for name in [*(t[2] for t in targets), *rest]:
        wall, cpu, calls = totals.get(name, [0.0, 0.0, 0])
        print(f"  {name:<40} {wall / count * 1e6:6.0f} {cpu / count * 1e6:6.0f} {calls / count:5.1f}")
    through = " ".join(statements[: len(statements) // count]) or "none through SQLAlchemy (the driver's own)"
    print(f"  SQL per request: {through}")
    with app.app_context():
        db.engine.dispose()


def load_server(args: Any, url: str, target: str, loads: list[tuple[str, str, dict[str, str], bytes]]) -> list[Result]:
    """Start gunicorn serving `target`, run each (method, path, headers, body) load after a
    warm-up; a Result each, with `ok` counting the warm-up's successes too (rows to expect)."""
    load = run_wrk if args.tool == "wrk" else run_python
    port, database = free_port(), make_url(url).database
    with tempfile.TemporaryFile() as log:
        server = start_gunicorn(port, url, args, log, target=target)
        try:
            if wait_for_http(f"http://127.0.0.1:{port}/health") is None:
                raise RuntimeError(f"gunicorn ({target}) did not answer /health")
            results = []
            for method, path, headers, body in loads:
                warm = load(port, method, path, headers, body, args, args.warmup)
                before = cpu_snapshot(server.pid, database)
                result = load(port, method, path, headers, body, args, args.seconds)
                result.cpu = cpu_delta(before, cpu_snapshot(server.pid, database))
                result.ok += warm.ok
                results.append(result)
        finally:
            server.terminate()
            server.wait(timeout=30)
        report_server_errors(log)
    return results


def print_result(label: str, r: Result) -> None:
    cpu = " / ".join(f"{r.cpu[g] / r.requests * 1e6:.0f}" for g in CPU_GROUPS)
    print(f"{label:<22} {r.requests:8,} {r.rps:6.0f} {r.p50:6.1f} {r.p95:6.1f} {r.p99:6.1f}  {cpu}")
    if r.errors:
        print(f"  {r.errors}")


def count_rows(url: str) -> int:
    with psycopg.connect(libpq_dsn(url)) as conn:
        return int(conn.execute("SELECT count(*) FROM webhook_events").fetchone()[0])  # type: ignore[index]


def check_ours(url: str, queue_redis: redis.Redis, rows_before: int, ours: Result, connections: int) -> None:
    """Every 200 has its row and its signal; wrk drops the requests in flight at its cut-offs,
    which the server still records (up to one per connection at each of the two)."""
    rows = count_rows(url) - rows_before
    signals = pending_signals(queue_redis)
    extra = rows - ours.ok
    verdict = "ok" if 0 <= extra <= 2 * connections and signals == rows else "MISMATCH"
    print(f"  check: 200s {ours.ok:,}, new rows {rows:,}, signals {signals:,}: {verdict}")


def pending_signals(queue_redis: redis.Redis) -> int:
    """Event ids waiting in the inboxes (webhook_inbox.py; no worker runs to drain them), or,
    on a tree from before the inbox, the RQ jobs one per event."""
    if webhook_inbox is None:
        return Queue("webhooks", connection=queue_redis).count
    inboxes = [webhook_inbox.keys(partition)[0] for partition in range(webhook_inbox.PARTITIONS)]
    return sum(int(queue_redis.llen(key)) for key in inboxes)


def prepare(url: str) -> None:
    app = create_app({"APP_ENV": "development", "DATABASE_URL": url, "LOG_LEVEL": "WARNING"})
    with app.app_context():
        upgrade()
        install_shop(SHOP)
        db.engine.dispose()
    with psycopg.connect(libpq_dsn(url)) as conn:
        conn.execute(webhook_floor.TABLE_DDL)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--pairs", type=int, default=5, help="floor and ours in turn, this many times")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-requests", type=int, help="override gunicorn.conf.py (0 = never recycle)")
    parser.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--log-level", default="WARNING", help="the app's LOG_LEVEL (INFO logs every request)")
    parser.add_argument("--phase-requests", type=int, default=2000, help="0 skips the in-process phase timing")
    args = parser.parse_args()
    if not os.environ["DATABASE_URL"].startswith("postgres"):
        sys.exit("DATABASE_URL must name a PostgreSQL server: this bench is gunicorn + PostgreSQL + Redis")
    args.tool = "wrk" if args.tool == "wrk" or (args.tool == "auto" and shutil.which("wrk")) else "python"
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    recycle = conf["max_requests"] if args.max_requests is None else args.max_requests
    print(f"gunicorn: {args.workers} workers x {conf['threads']} threads ({conf['worker_class']}), keepalive ", end="")
    print(f"{conf['keepalive']} s, max_requests {recycle} (+ jitter {conf['max_requests_jitter']}), no access log")
    shape = f"{args.threads} threads, " if args.tool == "wrk" else ""
    print(
        f"load: {args.tool}, {shape}{args.connections} connections, {args.warmup:g} s warm-up + {args.seconds:g} s each"
    )
    body = order_payload()
    print(f"webhook: orders/create, {len(body):,} byte body; {os.cpu_count()} CPUs shared by server and load")
    print(f"floor: {FLOOR} (HMAC, INSERT ... ON CONFLICT DO NOTHING RETURNING + COMMIT, LPUSH; nothing of ours)")
    webhook = ("POST", "/webhooks/shopify", webhook_headers(body), body)
    queue_redis = redis.Redis.from_url(REDIS_URL)
    queue_redis.flushdb()
    try:
        with tempfile.TemporaryDirectory() as tmp, scratch_database(Path(tmp), "smsb_bench_webhooks") as url:
            prepare(url)
            print(f"\n{'run':<22} {'requests':>8} {'rps':>6} {'p50':>6} {'p95':>6} {'p99 ms':>6}", end="")
            print("  CPU us/request: " + " / ".join(CPU_GROUPS))
            (health,) = load_server(args, url, OURS, [("GET", "/health", {}, b"")])
            print_result("ours GET /health", health)
            pairs: list[tuple[Result, Result]] = []
            for n in range(1, args.pairs + 1):
                (floor,) = load_server(args, url, FLOOR, [webhook])
                print_result(f"pair {n} floor", floor)
                queue_redis.flushdb()
                rows_before = count_rows(url)
                (ours,) = load_server(args, url, OURS, [webhook])
                print_result(f"pair {n} ours", ours)
                check_ours(url, queue_redis, rows_before, ours, args.connections)
                queue_redis.flushdb()
                pairs.append((floor, ours))
            summarise(pairs)
            if args.phase_requests:
                time_phases(url, args.phase_requests)
    finally:
        queue_redis.flushdb()


def summarise(pairs: list[tuple[Result, Result]]) -> None:
    ratios = [ours.rps / floor.rps for floor, ours in pairs]
    print(f"\nours / floor rps by pair: {', '.join(f'{r:.0%}' for r in ratios)}")
    print(f"median {statistics.median(ratios):.0%} (target >= 60 %); ", end="")
    print(f"ours p99 median {statistics.median(o.p99 for _, o in pairs):.1f} ms (target < 50 ms), ", end="")
    print(f"floor p99 median {statistics.median(f.p99 for f, _ in pairs):.1f} ms")
    for label, index in (("floor", 0), ("ours", 1)):
        runs = [pair[index] for pair in pairs]
        cpu = {g: statistics.median(r.cpu[g] / r.requests * 1e6 for r in runs) for g in CPU_GROUPS}
        print(f"  {label} CPU us/request, median: " + ", ".join(f"{g} {cpu[g]:.0f}" for g in CPU_GROUPS))


if __name__ == "__main__":
    main()
