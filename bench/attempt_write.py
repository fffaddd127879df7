"""What recording a send attempt costs PostgreSQL, per message, by how it is recorded.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test .venv/bin/python bench/attempt_write.py
    .venv/bin/python bench/attempt_write.py --rows 200000 --batch 2000

A scratch database migrated like production (the indexes and triggers of `messages`), N queued
rows of one campaign, then per variant: batch by batch, the attempt (committed), then the
mark-sent UPDATE the send path makes (committed), each timed from the client (loopback: about
the server's time). Variants: the attempt as the row path writes it (an UPDATE setting
`submitting`, the cost and a lease); the same without the state change on a table with
fillfactor 70 (HOT updates); and one INSERT per batch instead (an attempt record beside the
rows: the record path, which PostgreSQL broadcasts take since stop 18). A CHECKPOINT precedes
each. Run by hand; never part of CI. See bench/README.md, stops 17 and 18.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

import psycopg  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench._scratch import postgres_scratch  # noqa: E402
from shopify_app import create_app  # noqa: E402

ATTEMPT = (
    "UPDATE messages SET state = 'submitting', attempts = 1, credits = 1, segments = 1, attempted_at = now(), "
    "lease_until = now() FROM unnest(%s::bigint[]) v(id) WHERE messages.id = v.id AND messages.id BETWEEN %s AND %s"
)
ATTEMPT_NO_STATE = (
    "UPDATE messages SET attempts = 1, credits = 1, segments = 1, attempted_at = now(), lease_until = now() "
    "FROM unnest(%s::bigint[]) v(id) WHERE messages.id = v.id AND messages.id BETWEEN %s AND %s"
)
# A stand-in table of the same shape an attempt record would have (ids and costs as arrays).
RECORD_TABLE = "CREATE TABLE bench_attempts (id bigserial PRIMARY KEY, ids bigint[], low bigint, high bigint)"
RECORD = "INSERT INTO bench_attempts (ids, low, high) VALUES (%s::bigint[], %s, %s)"
MARK_SENT = (
    "UPDATE messages SET state = 'sent', provider_message_id = 'p' || v.id, sent_at = now(), lease_until = NULL "
    "FROM unnest(%s::bigint[]) v(id) WHERE messages.id = v.id AND messages.id BETWEEN %s AND %s"
)
VARIANTS = (
    ("attempt UPDATE (the row path: SQLite, automation texts)", 100, ATTEMPT),
    ("attempt UPDATE, no state change, fillfactor 70", 70, ATTEMPT_NO_STATE),
    ("one attempt record INSERT per batch (the record path: PostgreSQL broadcasts)", 100, RECORD),
)


def fill(cur: psycopg.Cursor, rows: int, fillfactor: int) -> int:
    cur.execute(f"ALTER TABLE messages SET (fillfactor = {int(fillfactor)})")
    cur.execute("TRUNCATE messages CASCADE")
    cur.execute(
        "INSERT INTO messages (shop_id, campaign_id, contact_id, state, attempts, created_at) "
        "SELECT 1, 1, g, 'queued', 0, now() FROM generate_series(1, %s) g",
        (rows,),
    )
    cur.execute("SELECT min(id) FROM messages")
    return int(cur.fetchone()[0])  # type: ignore[index]


def run(conninfo: str, rows: int, batch: int) -> None:
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        cur.execute("SET session_replication_role = replica")  # no shop or campaign rows: skip FK checks
        cur.execute(RECORD_TABLE)
        conn.commit()
        for label, fillfactor, attempt in VARIANTS:
            first = fill(cur, rows, fillfactor)
            conn.commit()
            cur.execute("CHECKPOINT")
            spent = {"attempt": 0.0, "sent": 0.0}
            for start in range(first, first + rows, batch):
                ids = "{" + ",".join(map(str, range(start, start + batch))) + "}"
                for step, sql in (("attempt", attempt), ("sent", MARK_SENT)):
                    began = time.perf_counter()
                    cur.execute(sql, (ids, start, start + batch - 1))
                    conn.commit()
                    spent[step] += time.perf_counter() - began
            cur.execute("SELECT n_tup_hot_upd, n_tup_upd FROM pg_stat_user_tables WHERE relname = 'messages'")
            hot, updates = cur.fetchone()  # type: ignore[misc]
            print(
                f"{label}: attempt {spent['attempt'] * 1e6 / rows:.1f} µs/msg, mark-sent "
                f"{spent['sent'] * 1e6 / rows:.1f} µs/msg (HOT updates so far {hot:,} of {updates:,})",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=2000)
    args = parser.parse_args()
    with postgres_scratch("smsb_bench_attempt", "bench/attempt_write.py") as url:
        with create_app({"APP_ENV": "test", "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}).app_context():
            upgrade()
        conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        print(f"{args.rows:,} queued rows of one campaign, batches of {args.batch}, migrated schema", flush=True)
        run(conninfo, args.rows, args.batch)


if __name__ == "__main__":
    main()
