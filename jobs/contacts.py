"""Contact import/export jobs."""

from __future__ import annotations

from typing import Any

from rq import get_current_job

from shopify_app.services.contacts import contact_transfers

from . import job


def last_attempt() -> bool:
    """True unless RQ will run this job again after an error (retries left)."""
    current = get_current_job()
    return current is None or not current.retries_left


@job("default")
def run_import(transfer_id: int) -> int:
    return contact_transfers.run_import(transfer_id=transfer_id, last_attempt=last_attempt()).processed_rows


@job("default")
def run_export(transfer_id: int, legacy_query: dict[str, Any] | None = None) -> int:
    """The filter lives (sealed) in the export's row: job arguments sit in clear in Redis."""
    return contact_transfers.run_export(transfer_id=transfer_id, legacy_query=legacy_query).processed_rows
