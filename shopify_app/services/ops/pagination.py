"""Keyset pagination by id, newest first, with an opaque cursor (one implementation for every list)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, TypeVar

from sqlalchemy import Select

from ...errors import BadRequest
from ...extensions import db

T = TypeVar("T")


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"id": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id a cursor names: an integer in the BIGINT range, or a 400 (never a float, a bool,
    infinity or a number no id can be, which would reach the driver)."""
    try:
        last_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["id"]
    except (ValueError, KeyError, TypeError, IndexError, RecursionError, binascii.Error):
        last_id = None
    if type(last_id) is not int or not 0 <= last_id < 2**63:
        raise BadRequest("The cursor is not valid.", code="invalid_cursor")
    return last_id


def page(query: Select[tuple[T]], id_column: Any, *, limit: int, cursor: str | None) -> tuple[list[T], str | None]:
    """One page of `query` ordered by `id_column` descending, and the cursor of the next page."""
    if cursor:
        query = query.where(id_column < decode_cursor(cursor))
    rows = list(db.session.scalars(query.order_by(id_column.desc()).limit(limit + 1)))
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None  # type: ignore[attr-defined]
    return rows[:limit], next_cursor
