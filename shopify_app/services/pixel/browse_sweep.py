"""Browse abandonment: a product an identified shopper viewed and has not bought within the
window of a "browsed_product" flow starts that flow (services/flows/runs.py).

Every few minutes, for each shop with such flows enabled, the views not yet settled and older
than the shortest window are read oldest first. A view whose contact has ordered the product
since is settled without a run. Otherwise each flow whose window has passed is started with
the key `browse:<product id>:<day of the view>`, so two views of one product on one day start
a flow once (the run is unique per flow, contact and key); the view is settled once every
flow's window has passed. Views older than the longest possible window are deleted: they can
start nothing, and browsing history is not kept for its own sake.

"Ordered the product since the view": the order facts (`contact_products`) say which products
a contact ever bought, not when, so a contact who bought the product and has ordered anything
since the view counts as having bought it. That errs on the side of not texting.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import structlog
from sqlalchemy import delete, select

from ...extensions import db
from ...models import Contact, ContactProduct, Flow, FlowEngine, ProductView, Shop
from ...models.types import utcnow
from ..flows.definition import TRIGGERS, WINDOW_MINUTES
from ..flows.runs import start_flows

log = structlog.get_logger(__name__)

TRIGGER = "browsed_product"
DEFAULT_WINDOW = timedelta(minutes=int((TRIGGERS[TRIGGER].config or {}).get("window_minutes", 60)))
RETENTION = timedelta(minutes=WINDOW_MINUTES[1]) + timedelta(days=1)
BATCH = 1000


def window(flow: Flow) -> timedelta:
    minutes = (flow.trigger_config or {}).get("window_minutes")
    return timedelta(minutes=minutes) if isinstance(minutes, int) and minutes > 0 else DEFAULT_WINDOW


def sweep(*, now: datetime | None = None) -> dict[str, int]:
    """One pass over every shop; counts of runs started, views settled and views deleted."""
    now = now or utcnow()
    flows_by_shop: dict[int, list[Flow]] = defaultdict(list)
    for flow in db.session.scalars(
        select(Flow).where(Flow.trigger == TRIGGER, Flow.enabled, Flow.engine == FlowEngine.STEPS).order_by(Flow.id)
    ):
        flows_by_shop[flow.shop_id].append(flow)
    summary = {"started": 0, "settled": 0, "bought": 0}
    for shop_id, flows in flows_by_shop.items():
        for key, count in _sweep_shop(shop_id, flows, now).items():
            summary[key] += count
    deleted = db.session.execute(delete(ProductView).where(ProductView.viewed_at < now - RETENTION))
    db.session.commit()
    summary["deleted"] = deleted.rowcount or 0
    log.info("browse_abandonment_swept", **summary)
    return summary


def _sweep_shop(shop_id: int, flows: list[Flow], now: datetime) -> dict[str, int]:
    shop = db.session.get(Shop, shop_id)
    if shop is None or not shop.is_installed:
        return {}
    windows = {flow.id: window(flow) for flow in flows}
    views = db.session.scalars(
        select(ProductView)
        .where(
            ProductView.shop_id == shop_id,
            ProductView.triggered_at.is_(None),
            ProductView.viewed_at <= now - min(windows.values()),
        )
        .order_by(ProductView.viewed_at, ProductView.id)
        .limit(BATCH)
    ).all()
    counts = {"started": 0, "settled": 0, "bought": 0}
    for view in views:
        if _bought_since(view):
            view.triggered_at = now
            counts["bought"] += 1
            continue
        due = [flow_id for flow_id, length in windows.items() if view.viewed_at <= now - length]
        counts["started"] += len(
            start_flows(
                shop_id=shop_id,
                trigger=TRIGGER,
                contact_id=view.contact_id,
                key=f"browse:{view.product_id}:{view.viewed_at.date().isoformat()}",
                context={"product_title": view.product_title, "product_url": f"https://{shop.domain}{view.url_path}"},
                flow_ids=due,
            )
        )
        if len(due) == len(windows):
            view.triggered_at = now
            counts["settled"] += 1
    db.session.commit()
    return counts


def _bought_since(view: ProductView) -> bool:
    found = db.session.scalar(
        select(ContactProduct.contact_id)
        .join(Contact, Contact.id == ContactProduct.contact_id)
        .where(
            ContactProduct.contact_id == view.contact_id,
            ContactProduct.product_id == view.product_id,
            Contact.last_order_at >= view.viewed_at,
        )
    )
    return found is not None
