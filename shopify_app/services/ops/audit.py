"""The audit log: append-only, ids and counts only."""

from __future__ import annotations

from typing import Any

from ...extensions import db
from ...models import AuditLog


def record(
    *,
    shop_id: int | None,
    actor: str,
    action: str,
    target_type: str | None = None,
    target_id: object = None,
    request_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditLog:
    entry = AuditLog(
        shop_id=shop_id,
        actor=actor[:64],
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        request_id=request_id,
        details=details or {},
    )
    db.session.add(entry)
    return entry
