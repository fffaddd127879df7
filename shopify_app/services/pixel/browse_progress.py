"""How far the browse sweep (browse_sweep.py) has come, kept in Redis between passes.

Per flow, a cursor: the (viewed_at, id) up to which every view has been handled for that flow,
so each pass reads only views the flow has not seen, however many older views wait for a flow
with a longer window. Per sweep, the last shop visited, so a pass that runs out of its budget
resumes with the next shop instead of starving the ones at the end of the list.

Losing these (a Redis flush) loses no view: a flow without a cursor starts again from the
oldest unsettled view, and starting a flow twice for one view starts nothing new (a run is
unique per flow, contact and key). Ids only, nothing about any shopper.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ...extensions import redis_ext

CURSOR_KEY = "sms_blossom:browse-sweep:flow:{flow_id}"
SHOP_KEY = "sms_blossom:browse-sweep:last-shop"
KEEP_SECONDS = 14 * 24 * 3600  # a deleted flow's cursor goes; a live one is rewritten every pass

Position = tuple[datetime, int]


def cursor(flow_id: int) -> Position | None:
    raw = redis_ext.client().get(CURSOR_KEY.format(flow_id=flow_id))
    if not raw:
        return None
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    try:
        at, view_id = text.rsplit("|", 1)
        return datetime.fromisoformat(at), int(view_id)
    except ValueError:
        return None  # unreadable: start from the oldest unsettled view again


def advance(flow_id: int, *, previous: Position | None, reached: Position | None) -> Position | None:
    """Store `reached` unless it is behind `previous` (a window made longer: the views between
    were handled under the old one); the cursor now in force."""
    if reached is None or (previous is not None and reached <= previous):
        return previous
    value = f"{reached[0].isoformat()}|{reached[1]}"
    redis_ext.client().set(CURSOR_KEY.format(flow_id=flow_id), value, ex=KEEP_SECONDS)
    return reached


def rotated(shop_ids: Sequence[int]) -> list[int]:
    """`shop_ids` (ascending) starting after the shop the last pass visited last."""
    raw = redis_ext.client().get(SHOP_KEY)
    try:
        last = int(raw) if raw else 0
    except ValueError:
        last = 0
    return [i for i in shop_ids if i > last] + [i for i in shop_ids if i <= last]


def visited(shop_id: int) -> None:
    redis_ext.client().set(SHOP_KEY, str(shop_id), ex=KEEP_SECONDS)
