"""Session-token verification throughput.

    .venv/bin/python bench/session_tokens.py [--seconds 3]

Prints verifications/s and p50/p95/p99 latency for (1) `verify_session_token` alone (ShopifyAPI's
decode + our shop checks) and (2) a whole authenticated `GET /api/shop` through the Flask test
client on the embedded default (SQLite, shop already installed, so no token exchange).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade

from shopify_app import create_app
from shopify_app.extensions import db
from shopify_app.models import Shop
from shopify_app.models.types import utcnow
from shopify_app.security.session_token import verify_session_token
from tests.conftest import TEST_API_KEY, TEST_API_SECRET
from tests.shopify_signing import session_token

SHOP = "bench.myshopify.com"


def measure(name: str, call: Callable[[], object], seconds: float) -> None:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - started)
    total = sum(latencies)
    q = statistics.quantiles(latencies, n=100)
    print(
        f"{name:<38} {len(latencies) / total:9.0f} /s   p50 {q[49] * 1e6:7.1f} µs   "
        f"p95 {q[94] * 1e6:7.1f} µs   p99 {q[98] * 1e6:7.1f} µs   (n={len(latencies)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()

    token = session_token(SHOP, expires_in=3600)
    measure(
        "verify_session_token",
        lambda: verify_session_token(token, api_key=TEST_API_KEY, secrets=[TEST_API_SECRET]),
        args.seconds,
    )

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "APP_ENV": "test",
                "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
                "SHOPIFY_API_KEY": TEST_API_KEY,
                "SHOPIFY_API_SECRET": TEST_API_SECRET,
                "LOG_LEVEL": "WARNING",
                # Measures verification, not the per-shop limit (which answers 429 after 600/min).
                "API_RATE_PER_SHOP": 0,
                "API_RATE_PER_IP": 0,
            }
        )
        with app.app_context():
            upgrade()
            shop = Shop(domain=SHOP, name="Bench", settings={}, installed_at=utcnow())
            db.session.add(shop)
            db.session.flush()
            shop.access_token = "shpat_bench"
            shop.access_token_expires_at = utcnow() + timedelta(days=1)
            db.session.commit()
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}

        def call() -> None:
            response = client.get("/api/shop", headers=headers)
            assert response.status_code == 200, response.get_json()

        measure("GET /api/shop (test client, SQLite)", call, args.seconds)


if __name__ == "__main__":
    main()
