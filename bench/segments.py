"""Commerce segment counts (issue 29) at 100k contacts and 1M orders on PostgreSQL: the latency of
POST /api/segments/count for each commerce filter and for combinations, target p95 < 200 ms.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test .venv/bin/python bench/segments.py [--explain]

A scratch database (migrated): one shop; `--contacts` contacts sealed like an import (bench/lists.py,
with its tags, consent mix and clicks); `--orders` orders over 60 % of them, skewed (a few buy
often), 5-300 each over two years, with one to three of 2,000 products and a code in one order
in five (50 codes); the contacts' summaries, products and codes built as the migration and the
webhooks build them (one UPDATE from the orders, INSERT ... SELECT DISTINCT), timed; `--messages`
texts from ten campaigns over the last 60 days; then VACUUM ANALYZE.

Each count: 5 warm-ups, then `--runs` requests through the test client (session token signed per
request, auth included); p50 / p95 / p99 / max in ms. `--explain` prints EXPLAIN (ANALYZE,
BUFFERS) of each count's SQL (bench/lists.py's capture, in the shop's row-level-security scope).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade
from sqlalchemy import text

from bench._scratch import postgres_scratch, vacuum_analyze
from bench.lists import PROFILE, REDIS_URL, explain, headers, seed_contacts, time_calls
from bench.reports import pct
from shopify_app import create_app
from shopify_app.extensions import db
from shopify_app.models.types import utcnow
from shopify_app.services.campaigns import last_messaged
from tests.conftest import base_test_config, install_shop

TARGET_MS = 200.0

# :n orders over the first 60 % of the contacts, skewed towards the lowest ids (random()^2).
ORDERS = """
INSERT INTO orders (shop_id, shopify_order_id, contact_id, total_price, currency, ordered_at, created_at)
SELECT :shop, i, :low + floor(random() ^ 2 * :buyers)::bigint, round((5 + random() * 295)::numeric, 2), 'USD',
       now() - random() * interval '730 days', now()
FROM generate_series(1, :n) AS i
"""
# What the migration (and refresh_summaries, one contact at a time) computes.
SUMMARIES = """
UPDATE contacts c SET order_count = s.orders, total_spent = s.spent, first_order_at = s.first, last_order_at = s.last
FROM (SELECT contact_id, count(*) AS orders, sum(total_price) AS spent, min(ordered_at) AS first,
             max(ordered_at) AS last
      FROM orders WHERE shop_id = :shop GROUP BY contact_id) s
WHERE c.id = s.contact_id
"""
PRODUCTS = """
INSERT INTO contact_products (contact_id, product_id, shop_id)
SELECT DISTINCT o.contact_id, 1 + (o.id * k * 7919) % 2000, :shop
FROM orders o CROSS JOIN generate_series(1, 3) AS k
WHERE o.shop_id = :shop AND k <= 1 + o.id % 3
"""
CODES = """
INSERT INTO contact_discount_codes (contact_id, code, shop_id)
SELECT DISTINCT contact_id, 'CODE' || (id / 5) % 50, :shop FROM orders WHERE shop_id = :shop AND id % 5 = 0
"""
SEEN = """
INSERT INTO seen_products (shop_id, product_id, title, updated_at)
SELECT :shop, p, 'Product ' || p, now() FROM generate_series(1, 2000) AS p
"""
# Ten campaigns over the last 60 days, :n texts in all, one per contact per campaign.
MESSAGES = """
INSERT INTO campaigns (shop_id, name, kind, body, state, audience, recipients, estimated_segments, credits_reserved,
                       launched_at, completed_at, created_at, updated_at)
SELECT :shop, 'Campaign ' || i, 'broadcast', 'Hello', 'completed', '{}', :contacts, 1, :contacts,
       now() - (i * 6) * interval '1 day', now() - (i * 6) * interval '1 day', now(), now()
FROM generate_series(1, 10) AS i;
INSERT INTO messages (shop_id, campaign_id, contact_id, state, attempts, credits, segments, sent_at,
                      provider_message_id, created_at)
SELECT :shop, c.id, :low + (i % :contacts), 'delivered', 1, 1, 1, c.launched_at + (i % 600) * interval '1 second',
       'p' || c.id || '-' || i, now()
FROM campaigns c CROSS JOIN generate_series(0, :n / 10 - 1) AS i
WHERE c.shop_id = :shop
"""

COUNTS: list[tuple[str, dict[str, Any]]] = [
    ("orders >= 3", {"orders_min": 3}),
    ("orders 1..2", {"orders_min": 1, "orders_max": 2}),
    ("total spent >= 500", {"total_spent_min": "500"}),
    ("total spent 100..1000", {"total_spent_min": "100", "total_spent_max": "1000"}),
    ("AOV >= 150", {"aov_min": "150"}),
    ("AOV 50..100", {"aov_min": "50", "aov_max": "100"}),
    ("last order within 30 d", {"last_order_within_days": 30}),
    ("last order older than 180 d", {"last_order_older_than_days": 180}),
    ("bought 1 product", {"products_any": [42]}),
    ("bought any of 20 products", {"products_any": list(range(100, 120))}),
    ("used a code", {"discount_codes_any": ["CODE7"]}),
    ("clicked within 30 d", {"clicked_within_days": 30}),
    ("never clicked", {"has_clicked": False}),
    ("received within 14 d", {"received_within_days": 14}),
    ("received within 60 d", {"received_within_days": 60}),
    (
        "combo: subscribed, spent>=200, 90 d",
        {"consent_state": "subscribed", "total_spent_min": "200", "last_order_within_days": 90},
    ),
    ("combo: product + code", {"products_any": [42, 43, 44], "discount_codes_any": ["CODE7", "CODE8"]}),
    ("combo: vip, AOV>=100, clicked 60 d", {"tags_any": ["vip"], "aov_min": "100", "clicked_within_days": 60}),
    (
        "combo: orders>=2, received 60 d, clicked 30 d",
        {"orders_min": 2, "received_within_days": 60, "clicked_within_days": 30},
    ),
]


def seed(shop: Any, args: argparse.Namespace) -> None:
    seed_contacts(shop, args.contacts)
    low = db.session.scalar(text("SELECT min(id) FROM contacts WHERE shop_id = :s"), {"s": shop.id})
    last = db.session.scalar(text("SELECT max(id) FROM contacts"))
    values = {"shop": shop.id, "low": low, "last": last, "contacts": args.contacts, "buyers": int(args.contacts * 0.6)}
    for statement in filter(str.strip, PROFILE.split(";\n")):
        db.session.execute(text(statement), values)
    for name, sql, n in (
        ("orders", ORDERS, args.orders),
        ("summaries", SUMMARIES, 0),
        ("products", PRODUCTS, 0),
        ("codes", CODES, 0),
        ("seen products", SEEN, 0),
        ("messages", MESSAGES, args.messages),
    ):
        started = time.perf_counter()
        for statement in filter(str.strip, sql.split(";\n")):
            db.session.execute(text(statement), values | {"n": n})
        db.session.commit()
        print(f"  {name:14} {time.perf_counter() - started:6.1f} s")
    # The roll-up the periodic job runs, over all 60 days of texts (a first run), then as it runs
    # every 5 minutes (a one-hour window).
    started = time.perf_counter()
    moved = last_messaged.roll_up_shop(shop_id=shop.id, since=utcnow() - timedelta(days=61))
    db.session.commit()
    print(f"  last texted    {time.perf_counter() - started:6.1f} s  (roll-up over 60 days: {moved:,} contacts)")
    started = time.perf_counter()
    last_messaged.roll_up_last_messaged()
    print(f"  periodic run   {(time.perf_counter() - started) * 1000:6.1f} ms (one-hour window, nothing new)")
    vacuum_analyze()
    for table in ("orders", "contact_products", "contact_discount_codes", "messages"):
        print(f"  {table:24} {db.session.scalar(text(f'SELECT count(*) FROM {table}')):>10,} rows")  # noqa: S608


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--explain", action="store_true", help="EXPLAIN (ANALYZE, BUFFERS) each count's SQL")
    args = parser.parse_args()
    with postgres_scratch("smsb_bench_segments", "bench/segments.py") as url:
        app = create_app(base_test_config(url, LOG_LEVEL="WARNING", REDIS_URL=REDIS_URL, API_RATE_PER_SHOP=0))
        with app.app_context():
            upgrade()
            installed = install_shop("bench.myshopify.com")
            shop = SimpleNamespace(id=installed.id, domain=installed.domain)
            started = time.perf_counter()
            seed(shop, args)
            print(f"seeded in {time.perf_counter() - started:.1f} s (+ VACUUM ANALYZE)")
            client = app.test_client()

            def send(method: str, path: str, data: str | None) -> int:
                return client.open(path, method=method, headers=headers(app, shop.domain), data=data).status_code

            print(f"\nPOST /api/segments/count, test client ({args.runs} requests each)")
            requests = [(name, "POST", "/api/segments/count", {"filters": f}, "count") for name, f in COUNTS]
            for request in requests:
                samples = sorted(time_calls(send, request, args.runs))
                p95 = pct(samples, 0.95)
                verdict = "met" if p95 < TARGET_MS else "MISSED"
                print(
                    f"  {request[0]:44} p50 {pct(samples, 0.5):6.1f}  p95 {p95:6.1f}  p99 {pct(samples, 0.99):6.1f}  "
                    f"max {samples[-1]:6.1f} ms  {verdict}"
                )
            if args.explain:
                explain(app, shop, requests)
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
