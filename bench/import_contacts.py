"""CSV import throughput and memory: N rows through the real import service.

    export DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/import_contacts.py --rows 100000

Creates a scratch database (dropped afterwards) on the server of DATABASE_URL (or a SQLite
file), migrates it, generates a CSV of N valid US numbers with names, emails, tags and
consent, and runs upload (encrypted chunks) and import (batches of 1,000). Prints rows/s for
each phase and peak RSS, with the RSS before the import for comparison.
"""

from __future__ import annotations

import argparse
import io
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade

from shopify_app import create_app
from shopify_app.extensions import db
from shopify_app.services.contacts import contact_transfers
from tests.conftest import install_shop, scratch_database


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_csv(rows: int) -> bytes:
    out = io.StringIO()
    out.write("phone,first_name,last_name,email,tags,consent\n")
    for n in range(rows):
        area = 201 + (n // 10_000) % 700
        out.write(f'+1{area}555{n % 10_000:04d},First{n},Last{n},user{n}@example.com,"vip,t{n % 7}",yes\n')
    return out.getvalue().encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    data = make_csv(args.rows)
    with tempfile.TemporaryDirectory() as tmp, scratch_database(Path(tmp), "smsb_bench_import") as url:
        app = create_app({"APP_ENV": "test", "DATABASE_URL": url, "LOG_LEVEL": "WARNING"})
        with app.app_context():
            upgrade()
            shop = install_shop("bench.myshopify.com")
            rss_before = peak_rss_mb()
            started = time.perf_counter()
            transfer = contact_transfers.start_import(shop=shop, stream=io.BytesIO(data), filename="bench.csv")
            stored = time.perf_counter()
            done = contact_transfers.run_import(transfer_id=transfer.id)
            finished = time.perf_counter()
            assert done.created_count == args.rows, (done.created_count, done.error_count, done.errors[:3])
            db.engine.dispose()
    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(f"{args.rows:,} rows, {len(data) / 1e6:.1f} MB CSV, {backend}")
    print(f"  upload (seal + store chunks) {stored - started:7.2f} s  {args.rows / (stored - started):9,.0f} rows/s")
    print(f"  import (parse, seal, insert) {finished - stored:7.2f} s  {args.rows / (finished - stored):9,.0f} rows/s")
    print(
        f"  total                        {finished - started:7.2f} s  {args.rows / (finished - started):9,.0f} rows/s"
    )
    print(f"  peak RSS {peak_rss_mb():.0f} MB (before import {rss_before:.0f} MB; the CSV itself is held by the bench)")


if __name__ == "__main__":
    main()
