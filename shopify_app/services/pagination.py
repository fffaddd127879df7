"""Keyset pagination by id, newest first, with an opaque cursor (one implementation for every list)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, TypeVar

from sqlalchemy import Select

from ..errors import BadRequest
from ..extensions import db

T = TypeVar("T")


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"id": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return int(value["id"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise BadRequest("The cursor is not valid.", code="invalid_cursor") from None


def page(query: Select[tuple[T]], id_column: Any, *, limit: int, cursor: str | None) -> tuple[list[T], str | None]:
    """One page of `query` ordered by `id_column` descending, and the cursor of the next page."""
    if cursor:
        query = query.where(id_column < decode_cursor(cursor))
    rows = list(db.session.scalars(query.order_by(id_column.desc()).limit(limit + 1)))
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None  # type: ignore[attr-defined]
    return rows[:limit], next_cursor
