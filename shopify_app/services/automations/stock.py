"""Back in stock: shoppers ask through the app proxy to be told when a sold-out variant returns.

`inventory_levels/update` carries one (inventory item, location, available). The last level per
item and location is kept; when an item's total over its locations goes from 0 (or unknown) to
more than 0, the item is mapped to its variant through Admin GraphQL and the oldest waiting
requests for that variant are notified, at most as many as are available, each once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from sqlalchemy import case, func, select

from ...bulk import insert_or_nothing
from ...extensions import db
from ...models import AutomationKind, BackInStockRequest, Contact, Shop, StockLevel, StockRequestState
from ...models.types import utcnow
from ..flows.runs import has_flows
from ..shops.tokens import admin_query
from . import triggers

log = structlog.get_logger(__name__)

VARIANT_OF_ITEM = """
query VariantOfInventoryItem($id: ID!) {
  inventoryItem(id: $id) {
    variant { legacyResourceId product { title handle onlineStoreUrl } }
  }
}
"""


def request_notification(*, shop: Shop, contact: Contact, variant_id: int, product_title: str | None) -> bool:
    """Record (or re-arm) the contact's wish for the variant; True when newly waiting."""
    existing = db.session.scalar(
        select(BackInStockRequest).where(
            BackInStockRequest.shop_id == shop.id,
            BackInStockRequest.contact_id == contact.id,
            BackInStockRequest.variant_id == variant_id,
        )
    )
    if existing is not None:
        if existing.state == StockRequestState.WAITING:
            return False
        existing.state, existing.requested_at, existing.notified_at = StockRequestState.WAITING, utcnow(), None
        return True
    insert_or_nothing(
        BackInStockRequest.__table__,
        {
            "shop_id": shop.id,
            "contact_id": contact.id,
            "variant_id": variant_id,
            "product_title": (product_title or None) and product_title[:255],
            "state": StockRequestState.WAITING.value,
            "requested_at": utcnow(),
        },
        conflict=("shop_id", "contact_id", "variant_id"),
        returning="id",
    )
    return True


def _total(shop_id: int, item_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(case((StockLevel.available > 0, StockLevel.available), else_=0)), 0)).where(
                StockLevel.shop_id == shop_id, StockLevel.inventory_item_id == item_id
            )
        )
        or 0
    )


def level_changed(*, shop: Shop, payload: Mapping[str, Any]) -> int:
    """Store the new level; on a 0 -> >0 transition notify waiting shoppers. Returns notified."""
    item_id, location_id, available = (payload.get(k) for k in ("inventory_item_id", "location_id", "available"))
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (item_id, location_id)):
        return 0
    available = available if isinstance(available, int) and not isinstance(available, bool) else 0
    before = _total(shop.id, item_id)
    level = db.session.scalar(
        select(StockLevel).where(
            StockLevel.shop_id == shop.id,
            StockLevel.inventory_item_id == item_id,
            StockLevel.location_id == location_id,
        )
    )
    if level is None:
        level = StockLevel(shop_id=shop.id, inventory_item_id=item_id, location_id=location_id)
        db.session.add(level)
    level.available = available
    db.session.flush()
    after = _total(shop.id, item_id)
    if before > 0 or after <= 0:
        return 0
    waiting = db.session.scalar(
        select(BackInStockRequest.id)
        .where(BackInStockRequest.shop_id == shop.id, BackInStockRequest.state == StockRequestState.WAITING)
        .limit(1)
    )
    wanted = triggers.enabled_automation(shop.id, AutomationKind.BACK_IN_STOCK) is not None or has_flows(
        shop.id, AutomationKind.BACK_IN_STOCK.value
    )
    if waiting is None or not wanted:
        return 0  # nobody is waiting for anything: no Admin API call
    return _notify(shop, item_id, after)


def _notify(shop: Shop, item_id: int, quantity: int) -> int:
    # A throttled or failing Admin API raises: the webhook job fails and is retried, and the
    # level written above rolls back with it, so the retry sees the same transition.
    data = admin_query(shop, VARIANT_OF_ITEM, {"id": f"gid://shopify/InventoryItem/{item_id}"})
    variant = ((data.get("inventoryItem") or {}) if isinstance(data, dict) else {}).get("variant")
    if not isinstance(variant, dict) or not str(variant.get("legacyResourceId", "")).isdigit():
        return 0
    variant_id = int(variant["legacyResourceId"])
    product = variant.get("product") or {}
    url = product.get("onlineStoreUrl") or f"https://{shop.domain}/products/{product.get('handle', '')}"
    url = f"{url}?variant={variant_id}"
    requests = db.session.scalars(
        select(BackInStockRequest)
        .where(
            BackInStockRequest.shop_id == shop.id,
            BackInStockRequest.variant_id == variant_id,
            BackInStockRequest.state == StockRequestState.WAITING,
        )
        .order_by(BackInStockRequest.requested_at, BackInStockRequest.id)
        .limit(quantity)
        .with_for_update()
    ).all()
    now = utcnow()
    for request in requests:
        triggers.trigger(
            shop_id=shop.id,
            kind=AutomationKind.BACK_IN_STOCK,
            contact_id=request.contact_id,
            key=f"stock:{request.id}:{request.requested_at.isoformat()}",
            context={"product_title": product.get("title") or request.product_title, "product_url": url},
        )
        request.state, request.notified_at = StockRequestState.NOTIFIED, now
    log.info("back_in_stock", shop_id=shop.id, variant_id=variant_id, notified=len(requests))
    return len(requests)
