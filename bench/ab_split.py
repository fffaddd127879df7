"""What an A/B test adds to a launch and to its decision, on PostgreSQL.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test .venv/bin/python bench/ab_split.py
    .venv/bin/python bench/ab_split.py --rows 1000000 --share 20 --variants 3

A scratch database migrated like production (the indexes and the `message_stats` trigger of
`messages`); one shop, one campaign with an A/B test, and N message rows inserted as a launch's
snapshot of an A/B test writes them (`deferred`; one INSERT ... SELECT, timed for scale). Then,
each timed from the client with its commit: the split (services/campaigns/ab_split.py: one
UPDATE of the tested rows, ranked by a hash of campaign and contact), and the release of the
held rest with the winner's body (ab_tests.decide). Prints the sizes of the variants (the split
must be even) and the figures.
Run by hand; never part of CI. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import func, select, text, update  # noqa: E402

from bench._scratch import postgres_scratch, vacuum_analyze  # noqa: E402
from shopify_app import create_app  # noqa: E402
from shopify_app.extensions import db  # noqa: E402
from shopify_app.models import AbMetric, AbTest, Campaign, CampaignVariant, Message  # noqa: E402
from shopify_app.models.types import utcnow  # noqa: E402
from shopify_app.services.campaigns import ab_split, ab_tests  # noqa: E402
from tests.conftest import base_test_config, install_shop  # noqa: E402

SNAPSHOT = (
    "INSERT INTO messages (shop_id, campaign_id, contact_id, state, attempts, created_at) "
    "SELECT :shop, :campaign, g, 'deferred', 0, now() FROM generate_series(1, :rows) g"
)


def timed(action):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = action()
    db.session.commit()
    return result, time.perf_counter() - started


def campaign_under_test(shop_id: int, variants: int, share: int) -> Campaign:
    campaign = Campaign(shop_id=shop_id, name="bench", body="A body", audience={})
    db.session.add(campaign)
    db.session.flush()
    for label in "BCD"[: variants - 1]:
        db.session.add(CampaignVariant(shop_id=shop_id, campaign_id=campaign.id, label=label, body=f"{label} body"))
    db.session.add(
        AbTest(shop_id=shop_id, campaign_id=campaign.id, test_share=share, metric=AbMetric.CLICKS, wait_hours=1)
    )
    db.session.commit()
    return campaign


def run(rows: int, variants: int, share: int) -> None:
    shop = install_shop("bench.myshopify.com")
    campaign = campaign_under_test(shop.id, variants, share)
    bound = {"shop": shop.id, "campaign": campaign.id, "rows": rows}
    _, snapshot = timed(lambda: db.session.execute(text(SNAPSHOT), bound))
    vacuum_analyze()
    _, split = timed(lambda: ab_split.split_audience(campaign=campaign, now=utcnow()))
    sizes = Counter(
        dict(
            db.session.execute(
                select(Message.variant, func.count())
                .where(Message.campaign_id == campaign.id)
                .group_by(Message.variant)
            )
            .tuples()
            .all()
        )
    )
    print(f"{rows:,} rows, {variants} variants, {share} % tested: sizes {dict(sorted(sizes.items(), key=str))}")
    launched = update(Campaign).where(Campaign.id == campaign.id)
    db.session.execute(launched.values(state="paused", launched_at=utcnow()))  # paused: released, not sent
    db.session.commit()
    _, release = timed(lambda: ab_tests.decide(campaign_id=campaign.id, winner="B", decided_by="bench"))
    per_row = 1e6 / rows
    print(f"snapshot INSERT {snapshot:.2f} s ({snapshot * per_row:.2f} µs/row)")
    print(f"split UPDATE    {split:.2f} s ({split * per_row:.2f} µs/row, {split / snapshot:.0%} of the snapshot)")
    print(f"decide+release  {release:.2f} s ({release * per_row:.2f} µs/row of the campaign)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--variants", type=int, default=2, choices=(2, 3, 4))
    parser.add_argument("--share", type=int, default=20)
    args = parser.parse_args()
    with postgres_scratch("smsb_bench_ab", "bench/ab_split.py") as url:
        app = create_app(base_test_config(url, LOG_LEVEL="WARNING", REDIS_URL=None))
        with app.app_context():
            upgrade()
            run(args.rows, args.variants, args.share)
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


if __name__ == "__main__":
    main()
