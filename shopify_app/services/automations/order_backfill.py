"""The backfill of past orders: the orders Shopify had before the app's webhooks (or while they
were missed), pulled from the Admin API so segments know what contacts bought and spent.

    start (API) -> job run: up to PAGES_PER_RUN pages of `orders(query: "created_at:...")`,
                   each page committed with its cursor -> the next run resumes at the cursor

Orders are stored through commerce.store_order, the webhooks' own path: an order stored already
(by a webhook, or an earlier page met twice after a crash) is not stored again, only its products
and codes are completed, so a run can repeat any page. Backfilled orders fire no automation and
are attributed to no campaign. Orders from the last WEBHOOK_LAG are left to orders/create, whose
automations would not fire for an order the backfill stored first. Shopify shows orders older
than 60 days only to apps with the `read_all_orders` scope: a longer backfill needs it.
Throttling (THROTTLED, 429) and outages (5xx, timeouts) that outlast the client's own retries
re-enqueue the run with a backoff, up to MAX_FAILURES in a row; then the backfill fails.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ...clients.shopify import ShopifyError, ShopifyRateLimited, ShopifyTimeout, ShopifyUnavailable
from ...errors import Conflict
from ...extensions import db, redis_ext
from ...job_names import ORDER_BACKFILL_RUN
from ...models import BackfillStatus, OrderBackfill, Shop
from ...models.types import utcnow
from ..shops.tokens import ShopNeedsReauth, admin_query
from . import commerce

log = structlog.get_logger(__name__)

FREE_DAYS = 60  # what Shopify shows without read_all_orders
WEBHOOK_LAG = timedelta(minutes=15)
PAGE_SIZE = 100
PAGES_PER_RUN = 10
MAX_FAILURES = 6
JOB_TIMEOUT = 900

ORDERS_QUERY = (
    "query BackfillOrders($first: Int!, $after: String, $query: String!) { "
    "orders(first: $first, after: $after, query: $query, sortKey: CREATED_AT) { "
    "pageInfo { hasNextPage endCursor } "
    "nodes { legacyResourceId createdAt phone customer { legacyResourceId phone } "
    "totalPriceSet { shopMoney { amount currencyCode } } discountCodes "
    "lineItems(first: 100) { nodes { title product { legacyResourceId } } } } } }"
)


class BackfillFailed(Exception):
    """Shopify answered in a way no retry changes: the backfill ends `failed` with this reason."""


def has_scope(shop: Shop, scope: str) -> bool:
    return scope in {item.strip() for item in (shop.scopes or "").split(",")}


def latest_backfill(*, shop: Shop) -> OrderBackfill | None:
    return db.session.scalar(
        select(OrderBackfill).where(OrderBackfill.shop_id == shop.id).order_by(OrderBackfill.id.desc()).limit(1)
    )


def _running(shop_id: int) -> OrderBackfill | None:
    return db.session.scalar(
        select(OrderBackfill).where(
            OrderBackfill.shop_id == shop_id,
            OrderBackfill.status.in_([BackfillStatus.QUEUED, BackfillStatus.RUNNING]),
        )
    )


def start(*, shop: Shop, days: int) -> tuple[OrderBackfill, bool]:
    """Queue a backfill of the orders created in the last `days`; (backfill, started). While one is
    queued or running, that one is returned and nothing new starts."""
    if days > FREE_DAYS and not has_scope(shop, "read_all_orders"):
        raise Conflict(
            f"Orders older than {FREE_DAYS} days need the read_all_orders access scope.",
            code="read_all_orders_required",
            details={"max_days": FREE_DAYS},
        )
    if (running := _running(shop.id)) is not None:
        return running, False
    now = utcnow()
    backfill = OrderBackfill(shop_id=shop.id, created_from=now - timedelta(days=days), created_to=now - WEBHOOK_LAG)
    try:
        with db.session.begin_nested():
            db.session.add(backfill)
    except IntegrityError:  # a concurrent start won the race: answer its backfill
        running = _running(shop.id)
        assert running is not None
        return running, False
    db.session.commit()
    _enqueue(backfill)
    log.info("order_backfill_queued", shop_id=shop.id, backfill_id=backfill.id, days=days)
    return backfill, True


def _enqueue(backfill: OrderBackfill, delay: timedelta | None = None) -> None:
    # Without Redis the queue would run the job inside this request: a delay sends it to the
    # scheduled registry instead (the periodic scheduler promotes it), so nobody waits on Shopify.
    if delay is None and not redis_ext.queue("default").is_async:
        delay = timedelta(seconds=1)
    ORDER_BACKFILL_RUN.delay(backfill.id, delay=delay, scope=backfill.shop_id, job_timeout=JOB_TIMEOUT)


def retry_wait(failures: int, asked: float | None = None) -> timedelta:
    return timedelta(seconds=max(asked or 0, min(2**failures * 5, 600)))


def run(*, backfill_id: int, last_attempt: bool = True) -> str:
    """Pull up to PAGES_PER_RUN pages, committing each with its cursor; then enqueue the next run."""
    backfill = db.session.get(OrderBackfill, backfill_id)
    if backfill is None or backfill.status not in (BackfillStatus.QUEUED, BackfillStatus.RUNNING):
        return "not_running"
    shop = db.session.get(Shop, backfill.shop_id)
    if shop is None or not shop.is_installed:
        return _fail(backfill, "The app was uninstalled.")
    backfill.status = BackfillStatus.RUNNING
    db.session.commit()
    try:
        for _ in range(PAGES_PER_RUN):
            if not _next_page(shop, backfill):
                return _complete(backfill)
    except BackfillFailed as failed:
        db.session.rollback()
        return _fail(backfill, str(failed))
    except (ShopifyRateLimited, ShopifyUnavailable, ShopifyTimeout) as exc:
        db.session.rollback()
        return _defer(backfill, exc)
    except Exception:
        db.session.rollback()
        if last_attempt:
            _fail(backfill, "The backfill stopped on an unexpected error; start it again.")
        raise
    _enqueue(backfill)
    return "continuing"


def _next_page(shop: Shop, backfill: OrderBackfill) -> bool:
    """Store one page of orders and move the cursor; False when there is no further page."""
    variables = {"first": PAGE_SIZE, "after": backfill.cursor, "query": search_query(backfill)}
    page = _query(shop, variables).get("orders") or {}
    added = 0
    for node in page.get("nodes") or []:
        payload = order_payload(node)
        if commerce.store_order(shop=shop, payload=payload) is not None:
            added += 1
        else:
            commerce.update_order(shop=shop, payload=payload)
        backfill.orders_seen += 1
    info = page.get("pageInfo") or {}
    backfill.orders_added += added
    backfill.pages += 1
    backfill.failures = 0
    backfill.cursor = info.get("endCursor") or backfill.cursor
    db.session.commit()
    return bool(info.get("hasNextPage")) and bool(info.get("endCursor"))


def search_query(backfill: OrderBackfill) -> str:
    def moment(value: Any) -> str:
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")

    return f"created_at:>='{moment(backfill.created_from)}' AND created_at:<'{moment(backfill.created_to)}'"


def _query(shop: Shop, variables: dict[str, Any]) -> dict[str, Any]:
    try:
        return dict(admin_query(shop, ORDERS_QUERY, variables))
    except ShopNeedsReauth:
        raise BackfillFailed("Shopify no longer accepts the app's access; open the app in Shopify.") from None
    except (ShopifyRateLimited, ShopifyUnavailable, ShopifyTimeout):
        raise
    except ShopifyError as exc:  # ACCESS_DENIED without read_orders, a rejected query: never retried
        raise BackfillFailed(f"Shopify refused the list of orders ({type(exc).__name__}).") from None


def _legacy_id(raw: object) -> int | None:
    text = str(raw or "")
    return int(text) if text.isdigit() and len(text) <= 19 else None


def order_payload(node: Mapping[str, Any]) -> dict[str, Any]:
    """A GraphQL order in the shape of the orders webhook's payload, for commerce.store_order."""
    customer = node.get("customer") or {}
    money = (node.get("totalPriceSet") or {}).get("shopMoney") or {}
    items = (node.get("lineItems") or {}).get("nodes") or []
    return {
        "id": _legacy_id(node.get("legacyResourceId")),
        "created_at": node.get("createdAt"),
        "phone": node.get("phone"),
        "customer": {"id": _legacy_id(customer.get("legacyResourceId")), "phone": customer.get("phone")},
        "total_price": money.get("amount"),
        "currency": money.get("currencyCode"),
        "discount_codes": [{"code": code} for code in node.get("discountCodes") or []],
        "line_items": [
            {"product_id": _legacy_id((item.get("product") or {}).get("legacyResourceId")), "title": item.get("title")}
            for item in items
        ],
    }


def _defer(backfill: OrderBackfill, exc: ShopifyError) -> str:
    backfill.failures += 1
    if backfill.failures > MAX_FAILURES:
        return _fail(backfill, f"Shopify could not be reached to finish the backfill ({type(exc).__name__}).")
    db.session.commit()
    asked = exc.retry_after if isinstance(exc, ShopifyRateLimited) else None
    _enqueue(backfill, retry_wait(backfill.failures, asked))
    log.warning("order_backfill_deferred", backfill_id=backfill.id, error=type(exc).__name__)
    return "deferred"


def _complete(backfill: OrderBackfill) -> str:
    backfill.status = BackfillStatus.COMPLETED
    backfill.finished_at = utcnow()
    db.session.commit()
    log.info("order_backfill_completed", backfill_id=backfill.id, orders=backfill.orders_seen, pages=backfill.pages)
    return "completed"


def _fail(backfill: OrderBackfill, reason: str) -> str:
    backfill.status = BackfillStatus.FAILED
    backfill.error = reason
    backfill.finished_at = utcnow()
    db.session.commit()
    log.warning("order_backfill_failed", backfill_id=backfill.id, reason=reason)
    return "failed"
