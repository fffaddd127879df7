"""Browse abandonment: a product an identified shopper viewed and has not bought within the
window of a "browsed_product" flow starts that flow (services/flows/runs.py).

Every few minutes, for each shop with such flows enabled, each flow reads the views that are
past its own window and that it has not handled yet: oldest first, from where it stopped last
time (browse_progress.py keeps a cursor per flow), so a backlog of old views waiting for a
7-day flow never keeps a 60-minute flow from newer ones. A view whose contact has ordered the
product since is settled without a run. So is a view of a product the shop does not offer:
the product is looked up in the shop's catalogue (browse_catalogue.py), and the text carries
the catalogue's title and URL, never the pixel's (anyone can post a report). When the Admin
API is throttled or down, the shop's remaining views wait for the next pass, untouched.

Otherwise the flow is started with the key `browse:<product id>:<day of the view>`, so two
views of one product on one day start a flow once (the run is unique per flow, contact and
key, which also makes handling a view twice harmless). A view is settled once every flow has
passed it; views older than the longest possible window are deleted: they can start nothing,
and browsing history is not kept for its own sake.

A pass is bounded: at most FLOW_LIMIT views per flow and PASS_LIMIT in all, read in batches
of BATCH, shops taken in turn from where the last pass stopped. Each flow's cursor stays
LATE_MARGIN behind its window, so a view that reaches the database late (a report is dated
up to 15 minutes back, clocks differ) is still read; re-reading those starts nothing new.

"Ordered the product since the view": the order facts (`contact_products`) say which products
a contact ever bought, not when, so a contact who bought the product and has ordered anything
since the view counts as having bought it. That errs on the side of not texting.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy import and_, delete, or_, select, update

from ...extensions import db
from ...models import Contact, ContactProduct, Flow, FlowEngine, ProductView, Shop
from ...models.types import utcnow
from ..flows.definition import TRIGGERS, WINDOW_MINUTES
from ..flows.runs import start_flows
from . import browse_progress
from .browse_catalogue import Catalogue, CatalogueUnavailable
from .browse_progress import Position

log = structlog.get_logger(__name__)

TRIGGER = "browsed_product"
DEFAULT_WINDOW = timedelta(minutes=int((TRIGGERS[TRIGGER].config or {}).get("window_minutes", 60)))
RETENTION = timedelta(minutes=WINDOW_MINUTES[1]) + timedelta(days=1)
LATE_MARGIN = timedelta(minutes=2)
BATCH = 500
FLOW_LIMIT = 2000
PASS_LIMIT = 10000
COUNTS = ("started", "settled", "bought", "unknown_product", "deferred")


@dataclass
class _ShopPass:
    shop: Shop
    now: datetime
    budget: int  # views this shop may still read in this pass
    catalogue: Catalogue
    counts: Counter[str] = field(default_factory=Counter)
    read: int = 0


def window(flow: Flow) -> timedelta:
    minutes = (flow.trigger_config or {}).get("window_minutes")
    return timedelta(minutes=minutes) if isinstance(minutes, int) and minutes > 0 else DEFAULT_WINDOW


def sweep(*, now: datetime | None = None) -> dict[str, int]:
    """One pass over the shops; counts of runs started, views settled (bought, not offered,
    past every flow), shops deferred (Admin API unavailable) and old views deleted."""
    now = now or utcnow()
    flows_by_shop: dict[int, list[Flow]] = defaultdict(list)
    for flow in db.session.scalars(
        select(Flow).where(Flow.trigger == TRIGGER, Flow.enabled, Flow.engine == FlowEngine.STEPS).order_by(Flow.id)
    ):
        flows_by_shop[flow.shop_id].append(flow)
    summary: Counter[str] = Counter(dict.fromkeys(COUNTS, 0))
    budget = PASS_LIMIT
    for shop_id in browse_progress.rotated(sorted(flows_by_shop)):
        if budget <= 0:
            break
        shop = db.session.get(Shop, shop_id)
        if shop is None or not shop.is_installed:
            continue
        state = _ShopPass(shop=shop, now=now, budget=budget, catalogue=Catalogue(shop))
        _sweep_shop(state, flows_by_shop[shop_id])
        browse_progress.visited(shop_id)
        budget -= state.read
        summary.update(state.counts)
    deleted = db.session.execute(delete(ProductView).where(ProductView.viewed_at < now - RETENTION))
    db.session.commit()
    result = {key: summary[key] for key in COUNTS} | {"deleted": deleted.rowcount or 0}
    log.info("browse_abandonment_swept", **result)
    return result


def _sweep_shop(state: _ShopPass, flows: Sequence[Flow]) -> None:
    cursors: list[Position | None] = []
    try:
        for flow in flows:
            cursors.append(_sweep_flow(state, flow))
    except CatalogueUnavailable as exc:
        # Logged by type only; the views stay unsettled and are read again next pass.
        log.warning("browse_sweep_deferred", shop_id=state.shop.id, error=str(exc))
        state.counts["deferred"] += 1
        return
    _settle_passed(state, cursors)


def _sweep_flow(state: _ShopPass, flow: Flow) -> Position | None:
    """Handle the views past `flow`'s window it has not handled yet; its cursor afterwards."""
    previous = browse_progress.cursor(flow.id)
    due_by = state.now - window(flow)
    bound: Position = (due_by - LATE_MARGIN, 0)
    after, read, exhausted = previous, 0, False
    limit = min(FLOW_LIMIT, state.budget - state.read)
    try:
        while read < limit and not exhausted:
            size = min(BATCH, limit - read)
            views = _due_views(state.shop.id, due_by, after, size)
            exhausted = len(views) < size
            for view in views:
                _handle(state, flow, view)
                after, read = (view.viewed_at, view.id), read + 1
            db.session.commit()
    except CatalogueUnavailable:
        db.session.commit()  # the views handled before this one keep their runs and settlement
        browse_progress.advance(flow.id, previous=previous, reached=_reached(after, bound, exhausted=False))
        raise
    finally:
        state.read += read
    return browse_progress.advance(flow.id, previous=previous, reached=_reached(after, bound, exhausted=exhausted))


def _reached(after: Position | None, bound: Position, *, exhausted: bool) -> Position | None:
    """Where the cursor may go: never past `bound` (the late margin); all the way to it when
    every due view was read."""
    if exhausted:
        return bound
    return None if after is None else min(after, bound)


def _due_views(shop_id: int, due_by: datetime, after: Position | None, size: int) -> Sequence[ProductView]:
    query = select(ProductView).where(
        ProductView.shop_id == shop_id, ProductView.triggered_at.is_(None), ProductView.viewed_at <= due_by
    )
    if after is not None:
        at, view_id = after
        # `>= at` on its own gives the index (shop_id, triggered_at, viewed_at) a lower bound.
        query = query.where(
            ProductView.viewed_at >= at,
            or_(ProductView.viewed_at > at, and_(ProductView.viewed_at == at, ProductView.id > view_id)),
        )
    return db.session.scalars(query.order_by(ProductView.viewed_at, ProductView.id).limit(size)).all()


def _handle(state: _ShopPass, flow: Flow, view: ProductView) -> None:
    if _bought_since(view):
        view.triggered_at = state.now
        state.counts["bought"] += 1
        return
    product = state.catalogue.product(view.product_id)  # raises CatalogueUnavailable
    if product is None:
        view.triggered_at = state.now
        state.counts["unknown_product"] += 1
        return
    started = start_flows(
        shop_id=state.shop.id,
        trigger=TRIGGER,
        contact_id=view.contact_id,
        key=f"browse:{view.product_id}:{view.viewed_at.date().isoformat()}",
        context={"product_title": product.title, "product_url": product.url},
        flow_ids=[flow.id],
    )
    state.counts["started"] += len(started)


def _settle_passed(state: _ShopPass, cursors: Sequence[Position | None]) -> None:
    """Views every enabled flow has handled are settled: no pass reads them again."""
    passed = [position for position in cursors if position is not None]
    if not passed or len(passed) < len(cursors):
        return
    at, view_id = min(passed)
    result = db.session.execute(
        update(ProductView)
        .where(
            ProductView.shop_id == state.shop.id,
            ProductView.triggered_at.is_(None),
            or_(ProductView.viewed_at < at, and_(ProductView.viewed_at == at, ProductView.id <= view_id)),
        )
        .values(triggered_at=state.now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    state.counts["settled"] += result.rowcount or 0


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
