"""Contact import/export jobs."""

from __future__ import annotations

from typing import Any

from shopify_app.schemas.contacts import ContactListQuerySchema
from shopify_app.services import contact_transfers

from . import job


def _last_attempt() -> bool:
    """True unless RQ will run this job again after an error (retries left)."""
    from rq import get_current_job

    current = get_current_job()
    return current is None or not current.retries_left


@job
def run_import(transfer_id: int) -> int:
    return contact_transfers.run_import(transfer_id=transfer_id, last_attempt=_last_attempt()).processed_rows


@job
def run_export(transfer_id: int, query: dict[str, Any]) -> int:
    filters = ContactListQuerySchema().load(query)["filters"]
    return contact_transfers.run_export(transfer_id=transfer_id, filters=filters).processed_rows
