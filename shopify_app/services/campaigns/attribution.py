"""Which campaign made an order: the contact's most recent click on a texted link within the
click window (default 5 days), else the most recent message they were sent within the
view-through window (default 1 day). One attribution per order, stored with its amount."""

from __future__ import annotations

from datetime import timedelta

import structlog
from sqlalchemy import select

from ...bulk import insert_or_nothing
from ...config import current_config
from ...extensions import db
from ...models import Attribution, AttributionKind, Click, Message, Order
from ...models.types import utcnow

log = structlog.get_logger(__name__)


def attribute(order: Order) -> AttributionKind | None:
    if order.contact_id is None:
        return None
    config = current_config()
    moment = order.ordered_at or order.created_at or utcnow()
    click = db.session.execute(
        select(Click.campaign_id, Click.message_id)
        .where(
            Click.shop_id == order.shop_id,
            Click.contact_id == order.contact_id,
            Click.clicked_at <= moment,
            Click.clicked_at >= moment - timedelta(hours=int(config["ATTRIBUTION_CLICK_HOURS"])),
        )
        .order_by(Click.clicked_at.desc())
        .limit(1)
    ).first()
    kind = AttributionKind.CLICK
    if click is None:
        kind = AttributionKind.VIEW
        click = db.session.execute(
            select(Message.campaign_id, Message.id)
            .where(
                Message.contact_id == order.contact_id,
                Message.sent_at <= moment,
                Message.sent_at >= moment - timedelta(hours=int(config["ATTRIBUTION_VIEW_HOURS"])),
            )
            .order_by(Message.sent_at.desc())
            .limit(1)
        ).first()
    if click is None:
        return None
    campaign_id, message_id = click
    inserted = insert_or_nothing(
        Attribution.__table__,
        {
            "shop_id": order.shop_id,
            "order_id": order.id,
            "campaign_id": campaign_id,
            "message_id": message_id,
            "contact_id": order.contact_id,
            "kind": kind.value,
            "amount": order.total_price,
            "currency": order.currency,
            "attributed_at": moment,
        },
        conflict=("order_id",),
        returning="id",
    )
    if inserted is not None:
        log.info("order_attributed", shop_id=order.shop_id, campaign_id=campaign_id, kind=kind.value)
    return kind
