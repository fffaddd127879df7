"""What segments know of a contact's orders: the summary on `contacts` (order count, total spent,
first and last order) and the products and discount codes they bought with.

Every write here is idempotent. The summary is recomputed from the contact's `orders` rows, never
incremented, so an order delivered twice, updated, or met again by the backfill counts once; the
products and codes are sets (INSERT ... ON CONFLICT DO NOTHING). Fed by the order webhooks
(commerce.py) and the backfill of past orders (order_backfill.py), through the same functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import func, select, update

from ...bulk import dialect_insert, id_in, insert_new
from ...extensions import db
from ...models import Contact, ContactDiscountCode, ContactProduct, Order, SeenProduct
from ...models.commerce_facts import normalise_code
from ...models.types import utcnow

MAX_TITLE_LENGTH = 255


def products_of(payload: Mapping[str, Any]) -> dict[int, str]:
    """{product id: title} of an order payload's line items (custom items have no product)."""
    products: dict[int, str] = {}
    for item in payload.get("line_items") or []:
        if not isinstance(item, Mapping) or not isinstance(item.get("product_id"), int):
            continue
        title = item.get("title") if isinstance(item.get("title"), str) else ""
        products[item["product_id"]] = title.strip()[:MAX_TITLE_LENGTH] or f"Product {item['product_id']}"
    return products


def codes_of(payload: Mapping[str, Any]) -> set[str]:
    codes = set()
    for entry in payload.get("discount_codes") or []:
        if isinstance(entry, Mapping) and (code := normalise_code(entry.get("code"))):
            codes.add(code)
    return codes


def record_purchases(*, shop_id: int, contact_id: int | None, payload: Mapping[str, Any]) -> None:
    """The order's products (with their titles, for the picker) and discount codes."""
    products = products_of(payload)
    remember_products(shop_id=shop_id, products=products)
    if contact_id is None:
        return
    insert_new(
        ContactProduct.__table__,
        [{"contact_id": contact_id, "product_id": pid, "shop_id": shop_id} for pid in sorted(products)],
        conflict=("contact_id", "product_id"),
        returning=("product_id",),
    )
    insert_new(
        ContactDiscountCode.__table__,
        [{"contact_id": contact_id, "code": code, "shop_id": shop_id} for code in sorted(codes_of(payload))],
        conflict=("contact_id", "code"),
        returning=("code",),
    )


def remember_products(*, shop_id: int, products: Mapping[int, str]) -> None:
    """Upsert the titles the picker searches; a product renamed since takes its newest title."""
    if not products:
        return
    table = SeenProduct.__table__
    now = utcnow()
    rows = [
        {"shop_id": shop_id, "product_id": pid, "title": title, "updated_at": now}
        for pid, title in sorted(products.items())
    ]
    statement = dialect_insert(table).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=["shop_id", "product_id"],
        set_={"title": statement.excluded.title, "updated_at": statement.excluded.updated_at},
        where=table.c.title != statement.excluded.title,
    )
    db.session.execute(statement)


def refresh_summaries(*, shop_id: int, contact_ids: Iterable[int | None]) -> None:
    """Recompute the contacts' order summary from their orders. The contact rows are locked first
    (in id order: no deadlock between two jobs): a concurrent job recording another order of the
    same contact waits, and its recompute then sees this one's order."""
    ids: Sequence[int] = sorted({contact_id for contact_id in contact_ids if contact_id is not None})
    if not ids:
        return
    mine_only = (Contact.shop_id == shop_id, id_in(Contact.id, ids))
    db.session.execute(select(Contact.id).where(*mine_only).order_by(Contact.id).with_for_update())
    mine = (Order.contact_id == Contact.id, Order.shop_id == shop_id)
    moment = func.coalesce(Order.ordered_at, Order.created_at)
    db.session.execute(
        update(Contact)
        .where(*mine_only)
        .values(
            order_count=select(func.count()).where(*mine).scalar_subquery(),
            total_spent=func.coalesce(select(func.sum(Order.total_price)).where(*mine).scalar_subquery(), 0),
            first_order_at=select(func.min(moment)).where(*mine).scalar_subquery(),
            last_order_at=select(func.max(moment)).where(*mine).scalar_subquery(),
        )
        .execution_options(synchronize_session="fetch")
    )
