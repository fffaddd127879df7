"""Lists and searches at 100k contacts (issue 28): latency of the admin's list, search, count and
report endpoints on PostgreSQL, through the Flask test client and under gunicorn.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test .venv/bin/python bench/lists.py [--explain]

A scratch database (migrated): one shop; `--contacts` contacts sealed like an import (phone,
email and names through the model's own AES-GCM and blind index, bulk COPY), 70 % subscribed /
20 % unsubscribed / 10 % pending, tags (`vip` on 20 %, one of `tier0`..`tier6` on each), a third
with orders (`order_count`, `last_order_at`), a quarter with a click; `--campaigns` completed
campaigns; then one campaign of `--messages` messages (70 % delivered, 20 % sent, 10 % failed; the
first `--contacts` to the contacts, the rest detached) with clicks, orders, attributions and
opt-outs (bench/reports.py's seed), then VACUUM ANALYZE. The report cache is off
(REPORT_CACHE_SECONDS=0): every report request computes.

Each endpoint: 5 warm-up requests, then `--runs` timed ones, p50 / p95 / p99 / max in ms; first
through the test client (session token signed per request, auth included), then (unless
`--skip-gunicorn`) through gunicorn (2 workers, gunicorn.conf.py) from one keep-alive Python
client, one request at a time. `--explain` prints EXPLAIN (ANALYZE, BUFFERS) of the slowest SQL
statement of one request per endpoint (captured with a before/after_cursor_execute listener, run
in the shop's row-level-security scope as the app runs it). Targets: p95 < 20 ms for the lists
and searches, < 100 ms for the count and the report.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade
from sqlalchemy import event, text

from bench._scratch import postgres_scratch, vacuum_analyze
from bench.admin import CAMPAIGNS
from bench.reports import CAMPAIGN, EXTRAS, MESSAGES, pct
from bench.send import phone
from bench.webhooks import start_gunicorn
from shopify_app import create_app
from shopify_app.bulk import bulk_insert
from shopify_app.devtools.signing import encode_session_token, session_token_claims
from shopify_app.extensions import db
from shopify_app.models import ConsentState, Contact
from shopify_app.services.contacts.phones import Phone
from shopify_app.services.contacts.transfers import NewContactRows
from shopify_app.services.ops.pagination import encode_cursor
from shopify_app.tenancy import shop_scope
from tests.conftest import TEST_API_KEY, TEST_API_SECRET, app_role_url, base_test_config, install_shop
from tests.processes import free_port, wait_for_http

REDIS_URL = "redis://127.0.0.1:6379/11"
CHUNK = 10_000
STATES = [ConsentState.SUBSCRIBED] * 7 + [ConsentState.UNSUBSCRIBED] * 2 + [ConsentState.PENDING]
# Orders, clicks, tags and ages, spread over the contacts by id.
PROFILE = """
UPDATE contacts SET order_count = CASE WHEN id % 3 = 0 THEN 1 + id % 5 ELSE 0 END,
       last_order_at = CASE WHEN id % 3 = 0 THEN now() - (id % 365) * interval '1 day' END,
       last_clicked_at = CASE WHEN id % 4 = 0 THEN now() - (id % 90) * interval '1 day' END,
       created_at = now() - (:last - id) * interval '10 minutes'
WHERE shop_id = :shop;
INSERT INTO contact_tags (contact_id, tag, shop_id)
SELECT id, 'vip', shop_id FROM contacts WHERE shop_id = :shop AND id % 5 = 0
UNION ALL SELECT id, 'tier' || id % 7, shop_id FROM contacts WHERE shop_id = :shop
"""
TARGETS = {"list": 20.0, "count": 100.0}


def seed_contacts(shop: Any, count: int) -> None:
    contact_rows = NewContactRows(shop.id)
    for start in range(0, count, CHUNK):
        rows = []
        for n in range(start, min(count, start + CHUNK)):
            e164 = phone(n)
            profile = {"first_name": f"First{n}", "last_name": f"Last{n}", "email": f"user{n}@example.com"}
            digest = contact_rows.phone_hash(e164)
            rows.append(contact_rows.row(Phone(e164, "US", "America/New_York"), digest, profile, STATES[n % 10]))
        bulk_insert(Contact.__table__, rows)
        db.session.commit()


def seed(shop: Any, args: argparse.Namespace) -> None:
    seed_contacts(shop, args.contacts)
    last = db.session.scalar(text("SELECT max(id) FROM contacts"))
    values = {"shop": shop.id, "n": args.messages, "contacts": args.contacts, "last": last}
    for sql, n in (
        (PROFILE, 0),
        (CAMPAIGNS, args.campaigns),
        (CAMPAIGN + ";\n" + MESSAGES + ";\n" + EXTRAS, args.messages),
    ):
        for statement in filter(str.strip, sql.split(";\n")):
            db.session.execute(text(statement), values | {"n": n})
    db.session.commit()
    vacuum_analyze()


def endpoints(shop: Any) -> list[tuple[str, str, str, dict[str, Any] | None, str]]:
    """(name, method, path, JSON body, target kind) of each timed request."""
    low = db.session.scalar(text("SELECT min(id) FROM contacts WHERE shop_id = :s"), {"s": shop.id})
    campaign = db.session.scalar(text("SELECT max(id) FROM campaigns WHERE shop_id = :s"), {"s": shop.id})
    deep = encode_cursor(low + 1000)  # the page 1,000 contacts before the oldest
    two_filters = {"filters": {"tags_any": ["vip"], "has_ordered": True}}
    return [
        ("contacts, first page", "GET", "/api/contacts", None, "list"),
        ("contacts, subscribed+vip", "GET", "/api/contacts?consent_state=subscribed&tag=vip", None, "list"),
        ("contacts, deep cursor", "GET", f"/api/contacts?cursor={deep}", None, "list"),
        ("contacts, phone search", "GET", f"/api/contacts?phone={phone(54_321)}", None, "list"),
        ("segment count, 2 filters", "POST", "/api/segments/count", two_filters, "count"),
        ("campaigns, first page", "GET", "/api/campaigns", None, "list"),
        ("campaign report", "GET", f"/api/reports/campaigns/{campaign}", None, "count"),
    ]


def summary(name: str, kind: str, samples: list[float]) -> None:
    samples.sort()
    p95, target = pct(samples, 0.95), TARGETS[kind]
    print(
        f"  {name:26} p50 {pct(samples, 0.5):6.1f}  p95 {p95:6.1f}  p99 {pct(samples, 0.99):6.1f}  "
        f"max {samples[-1]:6.1f} ms   target p95 < {target:.0f}: {'met' if p95 < target else 'MISSED'}"
    )


def time_calls(send: Callable[[str, str, str | None], int], request: tuple, runs: int) -> list[float]:
    """`runs` timings (ms) of `send(method, path, JSON body)` for one of `endpoints()`, after 5 warm-ups."""
    _, method, path, body, _ = request
    data = json.dumps(body) if body else None
    for _ in range(5):
        send(method, path, data)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        status = send(method, path, data)
        samples.append((time.perf_counter() - started) * 1000)
        assert status == 200, status
    return samples


def headers(app: Any, domain: str) -> dict[str, str]:
    claims = session_token_claims(domain, api_key=app.config["SHOPIFY_API_KEY"], expires_in=3600)
    token = encode_session_token(claims, app.config["SHOPIFY_API_SECRET"])
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def test_client_figures(app: Any, shop: Any, requests: list, runs: int) -> None:
    print(f"\ntest client ({runs} requests each, a fresh session token per request)")
    client = app.test_client()

    def send(method: str, path: str, data: str | None) -> int:
        return client.open(path, method=method, headers=headers(app, shop.domain), data=data).status_code

    for request in requests:
        summary(request[0], request[4], time_calls(send, request, runs))


@contextmanager
def captured() -> Iterator[list[tuple[float, str, Any]]]:
    """(seconds, statement, parameters) of each SQL statement the app's engine runs meanwhile."""
    found: list[tuple[float, str, Any]] = []

    def before(conn, _cursor, statement, parameters, _context, _many) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def after(conn, _cursor, statement, parameters, _context, _many) -> None:
        found.append((time.perf_counter() - conn.info.pop("bench_started"), statement, parameters))

    event.listen(db.engine, "before_cursor_execute", before)
    event.listen(db.engine, "after_cursor_execute", after)
    try:
        yield found
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
        event.remove(db.engine, "after_cursor_execute", after)


def explain(app: Any, shop: Any, requests: list) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the slowest statement of one request per endpoint."""
    client = app.test_client()
    for name, method, path, body, _ in requests:
        with captured() as statements:
            client.open(path, method=method, headers=headers(app, shop.domain), data=json.dumps(body) if body else None)
        own = [s for s in statements if "set_config" not in s[1]]
        seconds, statement, parameters = max(own, key=lambda s: s[0])
        print(f"\n== {name}: {method} {path} ({len(own)} statements; slowest {seconds * 1000:.1f} ms)")
        print("   " + ", ".join(f"{s[1].split(None, 1)[0]} {s[0] * 1000:.1f} ms" for s in own))
        print(statement.strip())
        with shop_scope(shop.id):
            plan = db.session.connection().exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters or None
            )
            print("\n".join(f"  {row[0]}" for row in plan))
            db.session.rollback()


def gunicorn_figures(url: str, app: Any, shop: Any, requests: list, runs: int) -> None:
    print(f"\ngunicorn (2 workers, gunicorn.conf.py; one keep-alive client, {runs} requests each)")
    port = free_port()
    env = {"DATABASE_URL": app_role_url(url), "DATABASE_ADMIN_URL": url, "REDIS_URL": REDIS_URL}
    env |= {"SHOPIFY_API_KEY": TEST_API_KEY, "SHOPIFY_API_SECRET": TEST_API_SECRET, "REPORT_CACHE_SECONDS": "0"}
    env |= {"API_RATE_PER_SHOP": "0", "API_RATE_PER_IP": "0", "SHOPIFY_CONSENT_SYNC": "0"}
    sent = headers(app, shop.domain)
    with tempfile.TemporaryFile() as log:
        server = start_gunicorn(port, url, SimpleNamespace(workers=2, max_requests=None), log, env)
        try:
            if wait_for_http(f"http://127.0.0.1:{port}/health") is None:
                raise RuntimeError("gunicorn did not answer /health")
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

            def send(method: str, path: str, data: str | None) -> int:
                conn.request(method, path, body=data, headers=sent)
                response = conn.getresponse()
                response.read()
                return response.status

            for request in requests:
                summary(request[0], request[4], time_calls(send, request, runs))
            conn.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
        log.seek(0)
        errors = [line for line in log.read().decode().splitlines() if "Traceback" in line or "[ERROR]" in line]
        if errors:
            print(f"gunicorn log: {len(errors)} error lines, first: {errors[0]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--campaigns", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--explain", action="store_true", help="EXPLAIN (ANALYZE, BUFFERS) each endpoint's main SQL")
    parser.add_argument("--skip-gunicorn", action="store_true")
    args = parser.parse_args()
    with postgres_scratch("smsb_bench_lists", "bench/lists.py") as url:
        config = base_test_config(url, LOG_LEVEL="WARNING", REDIS_URL=REDIS_URL, REPORT_CACHE_SECONDS=0)
        app = create_app(config)
        with app.app_context():
            upgrade()
            installed = install_shop("bench.myshopify.com")
            shop = SimpleNamespace(id=installed.id, domain=installed.domain)  # outlives the session
            started = time.perf_counter()
            seed(shop, args)
            print(
                f"seeded {args.contacts:,} contacts, {args.campaigns:,} campaigns and {args.messages:,} messages "
                f"in {time.perf_counter() - started:.1f} s (+ VACUUM ANALYZE)"
            )
            requests = endpoints(shop)
            test_client_figures(app, shop, requests, args.runs)
            if args.explain:
                explain(app, shop, requests)
            db.session.remove()
            if not args.skip_gunicorn:
                gunicorn_figures(url, app, shop, requests, args.runs)
            db.engine.dispose()
            for engine in db.engines.values():
                engine.dispose()


if __name__ == "__main__":
    main()
