"""Report latency at scale: `GET /api/reports/campaigns/<id>` and `/api/reports/summary` over a
campaign of N messages (default 1,000,000) on PostgreSQL.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test .venv/bin/python bench/reports.py

The reports read per-state counters that a statement-level trigger on `messages` keeps
(migration 0009); the direct aggregation of the messages is timed beside them for comparison.
A scratch database; contacts, messages (70 % delivered, 20 % sent, 10 % failed, one credit each),
clicks (5 % of messages), attributions (0.5 %) and unsubscribes (0.2 %) made with
`INSERT ... SELECT generate_series` (not timed), then VACUUM ANALYZE (as autovacuum would).
Each endpoint is requested through the Flask test client with a session token (auth included),
warm-up 3, then `--runs` times; prints p50 / p95 / p99 / max in ms and the numbers returned.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade
from sqlalchemy import text

from bench._scratch import postgres_scratch, vacuum_analyze
from shopify_app import create_app
from shopify_app.extensions import db
from tests.conftest import ApiClient, base_test_config, install_shop

CONTACTS = """
INSERT INTO contacts (shop_id, phone_ciphertext, phone_hash, first_name_len, last_name_len, names_ucs2,
                      consent_state, order_count, created_at, updated_at)
SELECT :shop, 'x', md5(i::text), 0, 0, false, 'subscribed', 0, now(), now() FROM generate_series(1, :n) AS i
"""

# The campaign reported on: the newest (`max(id)`), so benches that seed others first find it.
CAMPAIGN = """
INSERT INTO campaigns (shop_id, name, kind, body, state, audience, recipients, estimated_segments, credits_reserved,
                       launched_at, completed_at, created_at, updated_at)
VALUES (:shop, 'Bench', 'broadcast', 'Hello', 'completed', '{}', :n, 1, :n, now() - interval '2 hours',
        now() - interval '1 hour', now(), now())
"""

# :n messages in that campaign; the first :contacts go to the shop's contacts (one each, by id),
# the rest have no contact (as after the contact was deleted: detach_messages).
MESSAGES = """
INSERT INTO messages (shop_id, campaign_id, contact_id, state, attempts, credits, segments, sent_at,
                      provider_message_id, created_at)
SELECT :shop, (SELECT max(id) FROM campaigns),
       CASE WHEN i <= :contacts THEN (SELECT min(id) - 1 FROM contacts WHERE shop_id = :shop) + i END,
       CASE WHEN i % 10 < 7 THEN 'delivered' WHEN i % 10 < 9 THEN 'sent' ELSE 'failed' END,
       1, 1, 1, now() - interval '90 minutes', 'p' || i, now()
FROM generate_series(1, :n) AS i
"""

# Clicks (5 %), orders and their attributions (0.5 %), opt-outs (0.2 %) of that campaign's messages.
EXTRAS = """
INSERT INTO short_links (code, shop_id, campaign_id, message_id, contact_id, url_ciphertext, created_at)
SELECT 'c' || m.id, :shop, m.campaign_id, m.id, m.contact_id, 'x', now()
FROM messages m WHERE m.id % 20 = 0 AND m.contact_id IS NOT NULL;

INSERT INTO clicks (shop_id, short_link_id, campaign_id, message_id, contact_id, clicked_at)
SELECT :shop, l.id, l.campaign_id, l.message_id, l.contact_id, now() - interval '1 hour' FROM short_links l;

INSERT INTO orders (shop_id, shopify_order_id, contact_id, total_price, currency, ordered_at, created_at)
SELECT :shop, m.id, m.contact_id, 40.00, 'USD', now() - interval '30 minutes', now()
FROM messages m WHERE m.id % 200 = 0 AND m.contact_id IS NOT NULL;

INSERT INTO attributions (shop_id, order_id, campaign_id, message_id, contact_id, kind, amount, currency,
                          attributed_at)
SELECT :shop, o.id, (SELECT max(id) FROM campaigns), NULL, o.contact_id, 'click', o.total_price, o.currency,
       o.ordered_at FROM orders o;

INSERT INTO consent_events (shop_id, contact_id, state, source, occurred_at)
SELECT :shop, m.contact_id, 'unsubscribed', 'keyword', now() - interval '60 minutes' FROM messages m
WHERE m.id % 500 = 0 AND m.contact_id IS NOT NULL
"""
SEED = ";\n".join((CONTACTS, CAMPAIGN, MESSAGES, EXTRAS))


def timed(api: ApiClient, path: str, runs: int) -> tuple[list[float], dict]:
    for _ in range(3):
        api.get(path)
    samples, body = [], {}
    for _ in range(runs):
        started = time.perf_counter()
        response = api.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
    return sorted(samples), body


def pct(samples: list[float], q: float) -> float:
    return samples[min(len(samples) - 1, round(q * (len(samples) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    with postgres_scratch("smsb_bench_reports", "bench/reports.py") as url:
        app = create_app(base_test_config(url, LOG_LEVEL="WARNING"))
        with app.app_context():
            upgrade()
            shop = install_shop("bench.myshopify.com")
            started = time.perf_counter()
            for statement in filter(str.strip, SEED.split(";\n")):
                db.session.execute(text(statement), {"shop": shop.id, "n": args.messages, "contacts": args.messages})
            db.session.commit()
            seeded = time.perf_counter() - started
            vacuum_analyze()
            campaign_id = db.session.scalar(text("SELECT max(id) FROM campaigns"))
            print(f"{args.messages:,} messages seeded in {seeded:.1f} s (+ VACUUM ANALYZE)")
            api = ApiClient(app.test_client(), shop.domain)
            for name, path in (
                ("campaign report", f"/api/reports/campaigns/{campaign_id}"),
                ("summary (30 days)", "/api/reports/summary"),
                ("campaign report CSV", f"/api/reports/campaigns/{campaign_id}?format=csv"),
            ):
                samples, body = timed(api, path, args.runs)
                print(
                    f"{name:22} p50 {pct(samples, 0.5):6.1f}  p95 {pct(samples, 0.95):6.1f}  "
                    f"p99 {pct(samples, 0.99):6.1f}  max {samples[-1]:6.1f} ms  (mean {statistics.mean(samples):.1f})"
                )
                if body:
                    shown = {k: body[k] for k in ("sent", "delivered", "clicks", "orders", "opt_outs") if k in body}
                    print(f"{'':22} {shown}")
            print("where the time goes (one call each, ms):")
            for label, sql in PARTS:
                best = []
                for _ in range(5):
                    started = time.perf_counter()
                    db.session.execute(text(sql), {"c": campaign_id, "shop": shop.id}).all()
                    best.append((time.perf_counter() - started) * 1000)
                print(f"  {label:40} {min(best):7.1f} (best of 5)")
            db.session.rollback()
            db.engine.dispose()


PARTS = (
    (
        "counters by state (campaign, trigger-kept)",
        "SELECT state, sum(messages), sum(accepted), sum(credits) FROM message_stats WHERE campaign_id = :c "
        "GROUP BY state",
    ),
    (
        "messages by state (campaign)",
        "SELECT state, count(*), count(sent_at), coalesce(sum(credits) FILTER (WHERE sent_at IS NOT NULL), 0) "
        "FROM messages WHERE campaign_id = :c GROUP BY state",
    ),
    (
        "messages by state (shop, 30 days)",
        "SELECT state, count(*), count(sent_at), coalesce(sum(credits) FILTER (WHERE sent_at IS NOT NULL), 0) "
        "FROM messages WHERE shop_id = :shop AND sent_at >= now() - interval '30 days' GROUP BY state",
    ),
    ("clicks, distinct messages", "SELECT count(*), count(DISTINCT message_id) FROM clicks WHERE campaign_id = :c"),
    ("attributed orders", "SELECT currency, count(*), sum(amount) FROM attributions WHERE campaign_id = :c GROUP BY 1"),
    (
        "opt-outs (join to messages)",
        "SELECT count(DISTINCT e.contact_id) FROM consent_events e JOIN messages m ON m.contact_id = e.contact_id "
        "AND m.campaign_id = :c WHERE e.shop_id = :shop AND e.state = 'unsubscribed' AND e.occurred_at >= m.sent_at",
    ),
)


if __name__ == "__main__":
    main()
