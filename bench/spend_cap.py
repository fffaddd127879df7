"""What the per-cycle spend cap adds to a batch's credit hold, by the size of the shop's ledger.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test .venv/bin/python bench/spend_cap.py
    .venv/bin/python bench/spend_cap.py --rows 1000000 --holds 500 --runs 30

A scratch database migrated like production, one shop whose credit ledger has N rows spread over
the last 60 days (grants, holds, debits), one queued message per hold; then `hold_messages` (lock
the shop, read the balance, hold the batch), rolled back, timed from the client: without spend
controls, and with a spend cap (the cap adds one read of the shop's controls and one sum of this
cycle's spend and all holds). Run by hand; never part of CI. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench._scratch import postgres_scratch, vacuum_analyze  # noqa: E402
from shopify_app import create_app  # noqa: E402
from shopify_app.extensions import db  # noqa: E402
from shopify_app.models import Campaign, Shop, SpendControl  # noqa: E402
from shopify_app.models.types import utcnow  # noqa: E402
from shopify_app.services.billing import credits  # noqa: E402
from shopify_app.tenancy import PRIVILEGED, set_scope  # noqa: E402

LEDGER = text(
    "INSERT INTO credit_ledger (shop_id, kind, amount, idempotency_key, created_at) "
    "SELECT :shop, (ARRAY['grant','reserve','debit','reserve_release'])[1 + n % 4], "
    "CASE n % 4 WHEN 0 THEN 3 WHEN 1 THEN -1 WHEN 2 THEN -1 ELSE 1 END, 'bench:' || n, "
    "now() - (n % 60) * interval '1 day' FROM generate_series(1, :rows) AS n"
)
MESSAGES = text(
    "INSERT INTO messages (shop_id, campaign_id, state, attempts, created_at) "
    "SELECT :shop, :campaign, 'queued', 0, now() FROM generate_series(1, :holds) RETURNING id"
)


def timed(shop_id: int, campaign_id: int, holds: list[tuple[int, int, int]], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        credits.hold_messages(shop_id=shop_id, campaign_id=campaign_id, holds=holds)
        times.append((time.perf_counter() - started) * 1000)
        db.session.rollback()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="ledger rows of the shop")
    parser.add_argument("--holds", type=int, default=500, help="messages held per call (a batch)")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with postgres_scratch("smsb_bench_spend", "bench/spend_cap.py") as url:
        app = create_app({"DATABASE_URL": url, "APP_ENV": "development"})
        with app.app_context():
            upgrade()
            set_scope(PRIVILEGED)
            shop = Shop(domain="bench.myshopify.com", settings={}, installed_at=utcnow())
            db.session.add(shop)
            db.session.flush()
            campaign = Campaign(shop_id=shop.id, name="bench", body="Hi")
            db.session.add(campaign)
            db.session.flush()
            db.session.execute(LEDGER, {"shop": shop.id, "rows": args.rows})
            ids = list(db.session.scalars(MESSAGES, {"shop": shop.id, "campaign": campaign.id, "holds": args.holds}))
            db.session.commit()
            vacuum_analyze()
            holds = [(message_id, 1, 1) for message_id in ids]
            timed(shop.id, campaign.id, holds, 3)  # warm the caches
            plain = timed(shop.id, campaign.id, holds, args.runs)
            db.session.add(SpendControl(shop_id=shop.id, settings={"spend_cap_per_cycle": 10_000_000}))
            db.session.commit()
            capped = timed(shop.id, campaign.id, holds, args.runs)
            print(f"ledger rows {args.rows:,}, holds per call {args.holds}, runs {args.runs}")
            print(f"  hold_messages, no spend controls: median {statistics.median(plain):7.2f} ms")
            print(f"  hold_messages, with a spend cap:  median {statistics.median(capped):7.2f} ms")
            db.engine.dispose()


if __name__ == "__main__":
    main()
