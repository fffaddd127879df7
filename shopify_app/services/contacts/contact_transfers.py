"""CSV import and export of contacts: the names blueprints, jobs and tests call, gathered from
the modules that own them, so a caller need not know the split:

- csv_import.py: reading an upload into contacts, in resumable batches;
- csv_export.py: writing the contacts to a file, streaming it, deleting it after a week;
- transfers.py: what both share (the transfer row's lifecycle, its sealed chunks).
"""

from __future__ import annotations

from .csv_export import delete_expired_files, export_stream, run_export, start_export
from .csv_import import INLINE_MAX_ROWS, run_import, start_import
from .transfers import TRANSFER_JOB_TIMEOUT, fail_stalled_transfers, get_transfer, stall_deadline

__all__ = [
    "INLINE_MAX_ROWS",
    "TRANSFER_JOB_TIMEOUT",
    "delete_expired_files",
    "export_stream",
    "fail_stalled_transfers",
    "get_transfer",
    "run_export",
    "run_import",
    "stall_deadline",
    "start_export",
    "start_import",
]
