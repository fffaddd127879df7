"""The commerce filters of a segment as SQL conditions on `contacts` (segments.py adds them to
the rest). Each reads what a count can answer fast at 100k contacts and 1M orders
(bench/segments.py): the summary columns in the covering index of `contacts` (order count,
total spent, last order, last click, last text received), and the small products and codes
tables by their (shop_id, value, contact_id) index."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, or_, select

from ...extensions import db
from ...models import Contact, ContactDiscountCode, ContactProduct, SeenProduct, Shop


def commerce_conditions(*, shop_id: int, filters: Mapping[str, Any], now: datetime) -> list[Any]:
    conditions: list[Any] = []
    if "orders_min" in filters:
        conditions.append(Contact.order_count >= filters["orders_min"])
    if "orders_max" in filters:
        conditions.append(Contact.order_count <= filters["orders_max"])
    if "total_spent_min" in filters:
        conditions.append(Contact.total_spent >= filters["total_spent_min"])
    if "total_spent_max" in filters:
        conditions.append(Contact.total_spent <= filters["total_spent_max"])
    # The average order value without a division: total >= aov * count (and at least one order).
    if "aov_min" in filters:
        conditions += [Contact.order_count > 0, Contact.total_spent >= Contact.order_count * filters["aov_min"]]
    if "aov_max" in filters:
        conditions += [Contact.order_count > 0, Contact.total_spent <= Contact.order_count * filters["aov_max"]]
    if "last_order_within_days" in filters:
        conditions.append(Contact.last_order_at >= now - timedelta(days=filters["last_order_within_days"]))
    if "last_order_older_than_days" in filters:
        conditions.append(Contact.last_order_at < now - timedelta(days=filters["last_order_older_than_days"]))
    for key, table, column in (
        ("products_any", ContactProduct, ContactProduct.product_id),
        ("discount_codes_any", ContactDiscountCode, ContactDiscountCode.code),
    ):
        if filters.get(key):  # read by (shop_id, value, contact_id), like contact_tags
            conditions.append(
                exists().where(table.contact_id == Contact.id, table.shop_id == shop_id, column.in_(filters[key]))
            )
    if "clicked_within_days" in filters:
        conditions.append(Contact.last_clicked_at >= now - timedelta(days=filters["clicked_within_days"]))
    if "received_within_days" in filters:
        # A text the provider accepted, from a campaign or an automation (last_messaged.py).
        conditions.append(Contact.last_messaged_at >= now - timedelta(days=filters["received_within_days"]))
    return conditions


def search_products(*, shop: Shop, query: str, limit: int) -> list[SeenProduct]:
    """The products the shop's orders named whose title contains `query` (any case), or whose id
    it is: the segment editor's product picker. Titles first alphabetically."""
    statement = select(SeenProduct).where(SeenProduct.shop_id == shop.id)
    query = query.strip()
    if query:
        matches = func.lower(SeenProduct.title).contains(query.lower(), autoescape=True)
        if query.isdigit() and len(query) <= 19:
            matches = or_(matches, SeenProduct.product_id == int(query))
        statement = statement.where(matches)
    return list(db.session.scalars(statement.order_by(SeenProduct.title, SeenProduct.product_id).limit(limit)))
