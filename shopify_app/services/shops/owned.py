"""One lookup for "this shop's row with this id": another shop's id is a 404, never a 403 (the
answer must not reveal that the id exists)."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select

from ...errors import NotFound
from ...extensions import db
from ...models import Shop

T = TypeVar("T")


def owned(model: type[T], *, shop: Shop, row_id: int, what: str) -> T:
    row = db.session.scalar(select(model).where(model.id == row_id, model.shop_id == shop.id))  # type: ignore[attr-defined]
    if row is None:
        raise NotFound(f"No such {what}.", code=f"{what}_not_found")
    return row
