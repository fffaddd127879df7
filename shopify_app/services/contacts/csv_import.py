"""CSV import of contacts, streamed through the upload's sealed chunks (transfers.py).

The upload is stored in 1 MB pieces and its rows processed in batches of 1,000 with one query
per batch to find existing numbers and bulk INSERTs for new contacts, consent events and tags,
so memory stays flat whatever the file size. A run resumes after the last committed batch.
Only rows with explicit consent become `subscribed`; numbers that opted out before (the
suppression list) never do through an import. Our own export (csv_export.py) imports back:
every column it writes is read (or, for our own ids and dates, deliberately left), its
`consent_state` is the consent column, and its spreadsheet escapes are undone.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import structlog
from sqlalchemy import select

from ...bulk import bulk_insert, insert_new, text_in
from ...errors import NotFound, ValidationFailed
from ...extensions import db
from ...models import (
    ConsentEvent,
    ConsentSource,
    ConsentState,
    Contact,
    ContactTag,
    ContactTransfer,
    ImportSeenNumber,
    Shop,
    Suppression,
    TransferKind,
    TransferStatus,
)
from ...models.types import utcnow
from ..flows.tagging import tags_added
from ..shops.settings import default_region
from .csv_rows import file_claim, row_consent, row_profile
from .phones import Phone, normalise_phone
from .pipeline import pipelined
from .spreadsheet import read_cell
from .transfers import (
    CHUNK_BYTES,
    NewContactRows,
    add_errors,
    drop_working_rows,
    fail_transfer,
    mark_failed,
    read_chunks,
    store_chunks,
)

log = structlog.get_logger(__name__)

BATCH_ROWS = 5000
SEEN = ImportSeenNumber.__table__
# A prepared row: its row number, sealed column values, phone hash, tags and consent text.
PreparedRow = tuple[int, dict[str, Any], str, list[str], str]
INLINE_MAX_ROWS = 1000
COLUMN_ALIASES = {
    "phone": ("phone", "phone number", "phone_number", "mobile", "sms phone", "default address phone"),
    "first_name": ("first_name", "first name", "firstname"),
    "last_name": ("last_name", "last name", "lastname"),
    "email": ("email", "email address"),
    "birthday": ("birthday", "birth_date", "date of birth"),
    "tags": ("tags",),
    "consent": ("consent", "consent_state", "sms_consent", "accepts sms marketing", "accepts_sms", "sms marketing"),
    "consent_text": ("consent_text", "consent text"),
    # What an export says of the consent it holds: kept in the import's consent event as the
    # file's claim (the event itself is the import, now).
    "consent_source": ("consent_source",),
    "consented_at": ("consented_at",),
}
# Export columns the import leaves alone: our own ids and dates, and the country, which comes


def _lines(pieces: Iterable[bytes]) -> Iterator[str]:
    """Decode UTF-8 (BOM tolerated) across chunk boundaries and yield text lines."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
    pending = ""
    for piece in pieces:
        # Old Mac exports end lines with a bare CR, which the csv module refuses mid-line.
        pending = (pending + decoder.decode(piece)).replace("\r\n", "\n").replace("\r", "\n")
        *complete, pending = pending.split("\n")
        for line in complete:
            yield line + "\n"  # a NUL in a row is that row's error (_import_rows)
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending


# --- running -------------------------------------------------------------------------------------


def start_import(*, shop: Shop, stream: IO[bytes], filename: str | None) -> ContactTransfer:
    """Store the upload encrypted and count its rows; the caller decides inline or job."""
    name = (filename or "").replace("\x00", "")[:255] or None  # PostgreSQL text refuses NUL
    transfer = ContactTransfer(shop_id=shop.id, kind=TransferKind.IMPORT, filename=name)
    db.session.add(transfer)
    db.session.flush()
    newlines = 0

    def pieces() -> Iterator[bytes]:
        nonlocal newlines
        while piece := stream.read(CHUNK_BYTES):
            newlines += piece.count(b"\n")
            yield piece

    store_chunks(transfer, pieces())
    transfer.total_rows = max(newlines, 1) - 1 if newlines else 0  # header line excluded
    db.session.commit()
    return transfer


@dataclass
class _Batch:
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)  # rows refused before parsing
    skipped: int = 0


def _header_map(fieldnames: list[str] | None) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in fieldnames or []:
        key = name.strip().lower()
        for canonical, aliases in COLUMN_ALIASES.items():
            if key in aliases and canonical not in found:
                found[canonical] = name
    return found


def run_import(*, transfer_id: int, last_attempt: bool = True) -> ContactTransfer:
    """Import the stored file, resuming after the last committed batch. An unexpected error
    propagates; on the `last_attempt` (inline, or RQ's final retry) the import is first marked
    `failed`, so no import stays `running` with no one left to finish it."""
    try:
        return _run_import(transfer_id)
    except Exception as exc:
        db.session.rollback()
        if last_attempt:
            fail_transfer(transfer_id=transfer_id, reason=f"The import stopped on an error ({type(exc).__name__}).")
        raise


def _run_import(transfer_id: int) -> ContactTransfer:
    transfer = db.session.get(ContactTransfer, transfer_id)
    if transfer is None or transfer.status in (TransferStatus.COMPLETED, TransferStatus.FAILED):
        raise NotFound("No such pending import.")
    shop = db.session.get(Shop, transfer.shop_id)
    assert shop is not None
    transfer.status = TransferStatus.RUNNING
    db.session.commit()
    reader = csv.DictReader(_lines(read_chunks(transfer)))
    try:
        columns = _header_map(reader.fieldnames)
    except csv.Error as exc:
        return mark_failed(transfer, f"The file is not valid CSV near line {reader.line_num}: {exc}.")
    if "phone" not in columns:
        return mark_failed(transfer, "The file has no phone column (expected one of: phone, mobile, phone number).")
    if "consent" not in columns and transfer.processed_rows == 0:
        add_errors(
            transfer,
            [{"row": 1, "field": "consent", "error": "No consent column: every row is imported without SMS consent."}],
        )
    try:
        return _import_rows(shop, transfer, reader, columns)
    except csv.Error as exc:  # what a shopper's file holds must never crash the job
        db.session.rollback()
        return mark_failed(transfer, f"The file is not valid CSV near line {reader.line_num}: {exc}.")


def _import_rows(
    shop: Shop, transfer: ContactTransfer, reader: csv.DictReader, columns: dict[str, str]
) -> ContactTransfer:
    region = default_region(shop)  # read here, once: preparing touches no database
    contact_rows = NewContactRows(shop.id)
    default_text = f"Consent recorded in the merchant's import ({transfer.filename or 'CSV'})"

    def prepare(batch: _Batch) -> _Prepared:
        return _prepare_batch(batch, region, contact_rows, default_text)

    pipelined(
        _batches(reader, columns, transfer),
        prepare,
        lambda prepared: _import_batch(shop, transfer, prepared, contact_rows),
    )
    transfer.status = TransferStatus.COMPLETED
    transfer.total_rows = transfer.processed_rows
    transfer.finished_at = utcnow()
    # The upload holds shoppers' PII; once imported there is no reason to keep it.
    drop_working_rows(transfer.id)
    db.session.commit()
    log.info(
        "contact_import_completed",
        shop_id=shop.id,
        transfer_id=transfer.id,
        rows=transfer.processed_rows,
        created=transfer.created_count,
        errors=transfer.error_count,
    )
    return transfer


def _batches(reader: csv.DictReader, columns: dict[str, str], transfer: ContactTransfer) -> Iterator[_Batch]:
    """The file's rows after those committed before (a resumed run), BATCH_ROWS at a time."""
    batch = _Batch()
    for index, raw in enumerate(reader):
        row_number = index + 2  # 1-based, after the header
        if index < transfer.processed_rows:
            continue  # resumed run: these rows were committed before
        row = {key: read_cell(raw.get(column) or "").strip() for key, column in columns.items()}
        if nul := [key for key, value in row.items() if "\x00" in value]:
            # PostgreSQL refuses NUL in text: the row is refused alone, counted like any other.
            batch.errors.extend({"row": row_number, "field": key, "error": "Contains a NUL byte."} for key in nul)
            batch.skipped += 1
        else:
            batch.rows.append((row_number, row))
        if len(batch.rows) + batch.skipped >= BATCH_ROWS:
            yield batch
            batch = _Batch()
    if batch.rows or batch.skipped:
        yield batch


@dataclass
class _Prepared:
    """A batch parsed and sealed, ready to store: each new row with its digest, its row number,
    tags and consent text; the errors so far; how many file rows it stands for."""

    rows: list[PreparedRow]
    errors: list[dict[str, Any]]
    count: int


def _prepare_batch(batch: _Batch, region: str | None, contact_rows: NewContactRows, default_text: str) -> _Prepared:
    """The CPU-bound part of a batch (phone parsing, sealing, hashing): no database, no app
    context, so it can run in the import's preparing thread (pipeline.py)."""
    errors: list[dict[str, Any]] = list(batch.errors)
    prepared = []
    for row_number, row, phone, digest in _parse_batch(region, batch, errors, contact_rows.phone_hash):
        profile, dropped = row_profile(row)
        errors.extend({"row": row_number, "field": name, "error": "Invalid value ignored."} for name in dropped)
        new_row = contact_rows.row(phone, digest, profile, row_consent(row))
        consent_text = row.get("consent_text") or default_text + file_claim(row)
        prepared.append((row_number, new_row, digest, profile["tags"], consent_text))
    return _Prepared(prepared, errors, len(batch.rows) + batch.skipped)


def _parse_batch(
    region: str | None, batch: _Batch, errors: list[dict[str, Any]], phone_hash: Callable[[str], str]
) -> list[tuple[int, dict[str, str], Phone, str]]:
    """Rows with a valid phone not met earlier in the batch, as (row, fields, phone, hash);
    earlier batches are the storing step's to check (`_first_in_file`)."""
    parsed = []
    seen: set[str] = set()
    for row_number, row in batch.rows:
        try:
            phone = normalise_phone(row.get("phone"), default_region=region)
        except ValidationFailed:
            errors.append({"row": row_number, "field": "phone", "error": "Not a valid phone number."})
            continue
        digest = phone_hash(phone.e164)
        if digest in seen:
            errors.append(_duplicate(row_number))
            continue
        seen.add(digest)
        parsed.append((row_number, row, phone, digest))
    return parsed


def _hashes_in(model: Any, shop: Shop, digests: list[str]) -> set[str]:
    if not digests:
        return set()
    return set(
        db.session.scalars(select(model.phone_hash).where(model.shop_id == shop.id, text_in(model.phone_hash, digests)))
    )


def _import_batch(shop: Shop, transfer: ContactTransfer, prepared: _Prepared, contact_rows: NewContactRows) -> None:
    """Store a prepared batch: numbers on the suppression list lose the consent the file gave
    them, new numbers are inserted with their consent events and tags; one commit."""
    errors = prepared.errors
    rows = _first_in_file(transfer, prepared.rows, errors)
    suppressed = _hashes_in(Suppression, shop, [digest for _, _, digest, _, _ in rows])
    new_rows: list[dict[str, Any]] = []
    extras: dict[str, tuple[int, list[str], ConsentState, str]] = {}
    for row_number, sealed, digest, tags, consent_text in rows:
        new_row = sealed
        if sealed["consent_state"] != ConsentState.UNSUBSCRIBED and digest in suppressed:
            reason = "This number opted out before; imported without consent."
            errors.append({"row": row_number, "field": "consent", "error": reason})
            new_row = contact_rows.without_consent(sealed)
        new_rows.append(new_row)
        extras[digest] = (row_number, tags, new_row["consent_state"], consent_text)
    errors.extend(_insert_contacts(shop, transfer, new_rows, extras))
    errors.sort(key=lambda error: error["row"])  # the file's order, whichever step found them
    transfer.processed_rows += prepared.count
    add_errors(transfer, errors)
    db.session.commit()


def _first_in_file(
    transfer: ContactTransfer, rows: list[PreparedRow], errors: list[dict[str, Any]]
) -> list[PreparedRow]:
    """The rows whose number no earlier batch of the file had, recorded in
    `import_seen_numbers` (INSERT … ON CONFLICT DO NOTHING RETURNING: what is not returned was
    met before), so the job's memory does not grow with the file; the others are duplicates."""
    met = [{"transfer_id": transfer.id, "phone_hash": row[2], "shop_id": transfer.shop_id} for row in rows]
    inserted = insert_new(SEEN, met, conflict=("transfer_id", "phone_hash"), returning=("phone_hash",))
    first = {digest for (digest,) in inserted}
    errors.extend(_duplicate(row[0]) for row in rows if row[2] not in first)
    return [row for row in rows if row[2] in first]


def _duplicate(row_number: int) -> dict[str, Any]:
    return {"row": row_number, "field": "phone", "error": "Duplicate of an earlier row."}


def _insert_contacts(
    shop: Shop,
    transfer: ContactTransfer,
    rows: list[dict[str, Any]],
    extras: dict[str, tuple[int, list[str], ConsentState, str]],
) -> list[dict[str, Any]]:
    """Insert the new numbers, then their consent events and tags; returns the errors for
    numbers that were already contacts (their consent changes only through the contact)."""
    inserted = insert_new(Contact.__table__, rows, conflict=("shop_id", "phone_hash"), returning=("id", "phone_hash"))
    events, tags = [], []
    for contact_id, digest in inserted:
        _row_number, tag_names, consent, consent_text = extras.pop(digest)
        if consent != ConsentState.UNSUBSCRIBED:
            events.append(
                {
                    "shop_id": shop.id,
                    "contact_id": contact_id,
                    "state": consent,
                    "source": ConsentSource.IMPORT,
                    "consent_text": consent_text,
                    "occurred_at": utcnow(),
                }
            )
        tags.extend({"contact_id": contact_id, "tag": tag, "shop_id": shop.id} for tag in tag_names)
    bulk_insert(ConsentEvent.__table__, events)
    bulk_insert(ContactTag.__table__, tags)
    tags_added(shop_id=shop.id, added=[(row["contact_id"], row["tag"]) for row in tags])
    transfer.created_count += len(inserted)
    return [
        {"row": row_number, "field": "phone", "error": "Already a contact; left unchanged."}
        for row_number, *_rest in sorted(extras.values())
    ]
