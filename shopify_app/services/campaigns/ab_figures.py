"""An A/B test's figures per variant, read in a few grouped queries (never per message): the
recipients and those sent, clicks through the short links (`clicks.message_id`), and orders
and revenue attributed to the variant's messages (services/campaigns/attribution.py).

Read before the decision, when only the test's rows carry a variant (the rest have none
until they are released with the winner's). Revenue is summed in one currency, the one most
of the campaign's attributed orders are in (a shop sells in one nearly always); orders count
in every currency.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import distinct, func, select

from ...extensions import db
from ...models import Attribution, Campaign, Click, Message
from .ab_stats import VariantFigures


def report_currency(campaign: Campaign) -> str | None:
    """The currency most of the campaign's attributed orders are in (None: no orders yet)."""
    return db.session.scalar(
        select(Attribution.currency)
        .where(Attribution.campaign_id == campaign.id, Attribution.shop_id == campaign.shop_id)
        .group_by(Attribution.currency)
        .order_by(func.count().desc(), Attribution.currency)
        .limit(1)
    )


def variant_figures(campaign: Campaign, labels: list[str], currency: str | None) -> list[VariantFigures]:
    """Each of `labels`' figures (zeros for a variant with no messages yet)."""
    values: dict[str, dict[str, Any]] = {label: {} for label in labels}
    tested = (Message.campaign_id == campaign.id, Message.variant.is_not(None))
    for label, recipients, sent in db.session.execute(
        select(Message.variant, func.count(), func.count(Message.sent_at)).where(*tested).group_by(Message.variant)
    ):
        values.setdefault(label, {}).update(recipients=int(recipients), sent=int(sent))
    for label, clicks, clickers in db.session.execute(
        select(Message.variant, func.count(), func.count(distinct(Click.message_id)))
        .join(Message, Message.id == Click.message_id)
        .where(Click.campaign_id == campaign.id, Click.shop_id == campaign.shop_id, *tested)
        .group_by(Message.variant)
    ):
        values.setdefault(label, {}).update(clicks=int(clicks), clickers=int(clickers))
    for label, orders, buyers, revenue, squares in db.session.execute(_orders(campaign, currency, tested)):
        values.setdefault(label, {}).update(
            orders=int(orders or 0),
            buyers=int(buyers or 0),
            revenue=float(revenue or 0),
            revenue_squares=float(squares or 0),
        )
    return [VariantFigures(label, **figures) for label, figures in sorted(values.items()) if label in labels]


def _orders(campaign: Campaign, currency: str | None, tested: tuple[Any, ...]) -> Any:
    """Per variant: attributed orders, messages with one, revenue in `currency` and the sum of
    each message's revenue squared (Welch's test needs the variance)."""
    in_currency = Attribution.currency == currency if currency is not None else Attribution.currency.is_(None)
    per_message = (
        select(
            Attribution.message_id.label("message_id"),
            func.count().label("orders"),
            func.coalesce(func.sum(Attribution.amount).filter(in_currency), 0).label("revenue"),
        )
        .where(Attribution.campaign_id == campaign.id, Attribution.shop_id == campaign.shop_id)
        .group_by(Attribution.message_id)
        .subquery()
    )
    return (
        select(
            Message.variant,
            func.sum(per_message.c.orders),
            func.count(),
            func.sum(per_message.c.revenue),
            func.sum(per_message.c.revenue * per_message.c.revenue),
        )
        .join(Message, Message.id == per_message.c.message_id)
        .where(*tested)
        .group_by(Message.variant)
    )
