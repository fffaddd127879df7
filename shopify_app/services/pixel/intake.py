"""The product views the web pixel reports (`POST /pixel/events`).

Shopify does not sign pixel requests: anyone can post anything here. So a report is stored only
when it names a contact of the shop in a way a stranger cannot forge or guess usefully:

- `customer_id`: the logged-in customer the pixel saw (`init.data.customer.id`), matched to a
  contact of that shop with that Shopify customer id. A guessed id names at most a contact
  who is already a customer of the shop, and costs a rate-limited request per guess;
- `token`: the browse token our short links add to storefront URLs (browse_links.py), valid
  only with our signature and only for the shop it names: another shop's token is refused.

Anything else (no identity, an unknown customer, a bad or foreign token, an unsubscribed
contact, a shop with no browse-abandonment flow turned on, for which a view is of no use) is
answered exactly like a stored view and stores nothing, so the endpoint reveals
neither who is a contact nor which check failed. Reports are rate limited per shop and per
shopper (the token or customer id, hashed: Redis keys are in clear) and deduplicated on the
pixel's event id. Logs name the shop id and the outcome, never a token, customer id or URL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select

from ...bulk import insert_or_nothing
from ...config import current_config
from ...errors import NotFound, TooManyRequests, Unauthorized
from ...extensions import db, redis_ext
from ...models import ConsentState, Contact, Flow, ProductView, Shop
from ...models.types import utcnow
from ...schemas.pixel import path_only
from ...security.link_tokens import read_link_token
from ...security.shop_domain import normalise_shop_domain
from ..contacts.pii import limit_subject
from ..sending.ratelimit import FixedWindowLimit

log = structlog.get_logger(__name__)

WINDOW_SECONDS = 60
BROWSE_TRIGGER = "browsed_product"
# The browser's clock is the shopper's (or a forger's): a view is dated no earlier than this
# before it arrived, so a backdated report cannot start a flow at once.
MAX_REPORT_DELAY = timedelta(minutes=15)


@dataclass(frozen=True)
class Identity:
    customer_id: int | None
    token: str | None

    @property
    def visitor(self) -> str | None:
        """What the per-shopper limit counts: the token, else the customer id."""
        if self.token:
            return f"t:{self.token}"
        return f"c:{self.customer_id}" if self.customer_id else None


def installed_shop(domain: str) -> Shop:
    """The shop a report names; unknown or uninstalled: 404 (a pixel left on a storefront)."""
    shop = db.session.scalar(select(Shop).where(Shop.domain == normalise_shop_domain(domain)))
    if shop is None or not shop.is_installed:
        raise NotFound("This shop does not use SMS Blossom.", code="shop_not_found")
    return shop


def record_view(*, shop: Shop, event: dict[str, Any]) -> bool:
    """Store one product view if it names a contact; whether a new row was stored (never told
    to the caller). Raises TooManyRequests over either limit."""
    identity = Identity(customer_id=event.get("customer_id"), token=event.get("token"))
    _limit("shop", shop.id, str(shop.id), current_config()["PIXEL_RATE_PER_SHOP"])
    visitor = identity.visitor
    if visitor is None:
        log.info("pixel_view_ignored", shop_id=shop.id, reason="no_identity")
        return False
    _limit("visitor", shop.id, visitor, current_config()["PIXEL_RATE_PER_VISITOR"])
    if not _has_browse_flow(shop):
        log.info("pixel_view_ignored", shop_id=shop.id, reason="no_flow")
        return False
    contact_id = _contact_id(shop, identity)
    if contact_id is None:
        log.info("pixel_view_ignored", shop_id=shop.id, reason="unknown_identity")
        return False
    stored = _store(shop, contact_id, event)
    log.info("pixel_view_recorded", shop_id=shop.id, duplicate=not stored)
    return stored


def _limit(scope: str, shop_id: int, value: str, per_minute: int) -> None:
    subject = limit_subject(value, kind=f"pixel_{scope}", shop_id=shop_id)
    limit = FixedWindowLimit(
        redis_ext.client(), key=f"pixel:{scope}:{shop_id}:{subject}", limit=per_minute, window=WINDOW_SECONDS
    )
    decision = limit.hit()
    if not decision.allowed:
        log.info("pixel_rate_limited", shop_id=shop_id, scope=scope)
        raise TooManyRequests(
            "Too many reports; slow down.", retry_after=math.ceil(decision.retry_after), details={"scope": scope}
        )


def _has_browse_flow(shop: Shop) -> bool:
    found = db.session.scalar(
        select(Flow.id).where(Flow.shop_id == shop.id, Flow.trigger == BROWSE_TRIGGER, Flow.enabled).limit(1)
    )
    return found is not None


def _contact_id(shop: Shop, identity: Identity) -> int | None:
    """The contact the report names, by customer id first, then by token; None if neither."""
    reachable = (Contact.shop_id == shop.id, Contact.consent_state != ConsentState.UNSUBSCRIBED)
    if identity.customer_id is not None:
        found = db.session.scalar(
            select(Contact.id).where(*reachable, Contact.shopify_customer_id == identity.customer_id).limit(1)
        )
        if found is not None:
            return int(found)
    if identity.token:
        try:
            claims = read_link_token("browse", identity.token)
        except Unauthorized:
            return None
        if claims.shop_id != shop.id:  # another shop's contact: never this shop's
            return None
        found = db.session.scalar(select(Contact.id).where(*reachable, Contact.id == claims.contact_id))
        return int(found) if found is not None else None
    return None


def _store(shop: Shop, contact_id: int, event: dict[str, Any]) -> bool:
    now = utcnow()
    viewed_at: datetime = min(max(event["occurred_at"], now - MAX_REPORT_DELAY), now)
    values = {
        "shop_id": shop.id,
        "contact_id": contact_id,
        "product_id": event["product_id"],
        "variant_id": event.get("variant_id"),
        # As the pixel reported it: anyone can post anything, so it is kept for the shopper's
        # data export only. Texts take the title from the catalogue (browse_catalogue.py).
        "product_title": event["product_title"],
        "url_path": path_only(event["url_path"]),
        "event_id": event["event_id"],
        "viewed_at": viewed_at,
        "triggered_at": None,
        "created_at": now,
    }
    new_id = insert_or_nothing(ProductView.__table__, values, conflict=("shop_id", "event_id"), returning="id")
    db.session.commit()
    return new_id is not None
