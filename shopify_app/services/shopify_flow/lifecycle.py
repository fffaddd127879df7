"""Flow's trigger lifecycle callback: which of our triggers each shop's enabled workflows use.

Flow calls it when a merchant enables or disables a workflow that starts with one of our
triggers (a non-2xx answer stops the merchant from enabling it). We send a trigger only to the
shops whose row says enabled, so shops without such a workflow cost no Admin API call. Each
callback carries a timestamp; a callback older than the one recorded changes nothing (Flow
does not promise order).
"""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy import select

from ...bulk import insert_or_nothing
from ...errors import Gone, NotFound
from ...extensions import db
from ...models import Shop, ShopifyFlowTrigger
from ...models.types import utcnow
from .definitions import trigger_for

log = structlog.get_logger(__name__)


def installed_shop(domain: str) -> Shop:
    """The shop a verified Flow request names; 404/410 (Flow does not retry a 4xx) otherwise."""
    shop = db.session.scalar(select(Shop).where(Shop.domain == domain))
    if shop is None:
        raise NotFound("No shop with this domain has the app.", code="shop_not_found")
    if not shop.is_installed:
        raise Gone("The shop uninstalled the app.", code="shop_uninstalled")
    return shop


def record_callback(*, shop: Shop, definition_id: str, enabled: bool, at: datetime | None) -> str:
    """Record what the callback says for `shop`; the outcome ("recorded", "stale", "unknown_trigger")."""
    definition = trigger_for(definition_id)
    if definition is None:
        # Answered 200 all the same: refusing would only stop the merchant enabling a workflow.
        log.warning("shopify_flow_unknown_trigger", shop_id=shop.id)
        return "unknown_trigger"
    at = at or utcnow()
    values = {"shop_id": shop.id, "handle": definition.handle, "enabled": enabled, "callback_at": at}
    created = insert_or_nothing(
        ShopifyFlowTrigger.__table__, {**values, "updated_at": utcnow()}, conflict=("shop_id", "handle"), returning="id"
    )
    outcome = "recorded"
    if created is None:
        row = db.session.scalar(
            select(ShopifyFlowTrigger)
            .where(ShopifyFlowTrigger.shop_id == shop.id, ShopifyFlowTrigger.handle == definition.handle)
            .with_for_update()
        )
        assert row is not None  # the insert collided with it
        if row.callback_at > at:
            outcome = "stale"
        else:
            row.enabled, row.callback_at, row.updated_at = enabled, at, utcnow()
    db.session.commit()
    log.info("shopify_flow_lifecycle", shop_id=shop.id, handle=definition.handle, enabled=enabled, outcome=outcome)
    return outcome


def trigger_enabled(*, shop_id: int, handle: str) -> bool:
    """Whether the shop has an enabled workflow that starts with our trigger `handle`."""
    return bool(
        db.session.scalar(
            select(ShopifyFlowTrigger.enabled).where(
                ShopifyFlowTrigger.shop_id == shop_id, ShopifyFlowTrigger.handle == handle
            )
        )
    )
