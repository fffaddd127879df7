"""Cached reports per shop and query, invalidated by a per-shop generation counter in Redis.

Kept apart from services/reports.py (which builds on campaigns) so the send path, delivery
reports and links can invalidate without importing the report queries.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ...config import current_config
from ...extensions import redis_ext
from ...jsonable import iso_dates

GENERATION_KEY = "sms_blossom:reports:gen:{shop_id}"
CACHE_KEY = "sms_blossom:reports:{shop_id}:{generation}:{query}"


def invalidate(shop_id: int | None) -> None:
    """The shop's numbers changed (a send, a delivery report, a click, an order, an opt-out):
    every cached report of the shop is stale. One INCR; old entries expire on their own."""
    if shop_id is not None:
        redis_ext.client().incr(GENERATION_KEY.format(shop_id=shop_id))


def cached(shop_id: int, query: str, compute: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], bool]:
    """(report, hit): from Redis when the shop's numbers have not changed since it was made
    (at most `REPORT_CACHE_SECONDS`, default 10 minutes, old), else computed and stored."""
    client = redis_ext.client()
    generation = int(client.get(GENERATION_KEY.format(shop_id=shop_id)) or 0)
    key = CACHE_KEY.format(shop_id=shop_id, generation=generation, query=query)
    stored = client.get(key)
    if stored is not None:
        return json.loads(stored), True
    report = compute()
    ttl = int(current_config()["REPORT_CACHE_SECONDS"])
    if ttl > 0:
        client.set(key, json.dumps(report, default=iso_dates), ex=ttl)
    return json.loads(json.dumps(report, default=iso_dates)), False
