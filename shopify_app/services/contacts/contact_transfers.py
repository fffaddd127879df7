"""CSV import and export of contacts, streamed through encrypted chunks in the database.

Imports read the upload in 1 MB pieces, seal each piece, and process rows in batches of 1,000
with one query per batch to find existing numbers and bulk INSERTs for new contacts, consent
events and tags, so memory stays flat whatever the file size. A run resumes after the last
committed batch. Only rows with explicit consent become `subscribed`; numbers that opted out
before (the suppression list) never do through an import. Our own export imports back: every
column it writes is read (or, for our own ids and dates, deliberately left), its `consent_state`
is the consent column, and its spreadsheet escapes are undone.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, Any

import structlog
from flask import current_app
from sqlalchemy import delete, select

from ...bulk import bulk_insert, insert_new
from ...config import current_config
from ...errors import Gone, NotFound, ValidationFailed
from ...extensions import db
from ...models import (
    ConsentEvent,
    ConsentSource,
    ConsentState,
    Contact,
    ContactTag,
    ContactTransfer,
    Shop,
    Suppression,
    TransferChunk,
    TransferKind,
    TransferStatus,
)
from ...models.types import utcnow
from ...schemas.contacts import ContactListQuerySchema, validate_birthday
from ...security.crypto import normalise_email
from ...tenancy import shop_scope
from ..shops.settings import default_region
from .contacts import contact_query, contact_view, month_day
from .phones import Phone, normalise_phone
from .pii import email_hash, phone_hash, seal, unseal
from .spreadsheet import read_cell, safe_cell

log = structlog.get_logger(__name__)

CHUNK_BYTES = 1024 * 1024
BATCH_ROWS = 1000
INLINE_MAX_ROWS = 1000
MAX_STORED_ERRORS = 1000
CONSENT_YES = frozenset({"yes", "y", "true", "1", "subscribed", "opted_in", "opt_in"})
CONSENT_PENDING = "pending"  # asked for texts, not confirmed yet: kept so, never texted marketing
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
# from the number.
EXPORT_ONLY_COLUMNS = ("id", "country_code", "created_at")
EXPORT_COLUMNS = (
    "id",
    "phone",
    "first_name",
    "last_name",
    "email",
    "birthday",
    "tags",
    "consent_state",
    "consent_source",
    "consented_at",
    "country_code",
    "created_at",
)


def chunk_aad(*, transfer_id: int, shop_id: int) -> dict[str, Any]:
    """Where a chunk's ciphertext is bound: its transfer, so chunks cannot be swapped between files."""
    return {"table": "contact_transfer_chunks", "column": f"transfer_{transfer_id}", "shop_id": shop_id}


def get_transfer(
    *, shop: Shop, transfer_id: int, kind: TransferKind, also: tuple[TransferKind, ...] = ()
) -> ContactTransfer:
    """The shop's transfer of `kind` (or of a kind in `also`); another shop's is a 404."""
    transfer = db.session.scalar(
        select(ContactTransfer).where(
            ContactTransfer.id == transfer_id,
            ContactTransfer.shop_id == shop.id,
            ContactTransfer.kind.in_([kind, *also]),
        )
    )
    if transfer is None:
        raise NotFound(f"No such {kind.value}.", code=f"{kind.value}_not_found")
    return transfer


# --- storing files -----------------------------------------------------------------------------


def _store_chunks(transfer: ContactTransfer, pieces: Iterable[bytes]) -> None:
    for seq, piece in enumerate(pieces):
        text = piece.decode("latin-1")  # bytes carried losslessly; decoded as UTF-8 when read
        db.session.add(
            TransferChunk(
                transfer_id=transfer.id,
                seq=seq,
                shop_id=transfer.shop_id,
                ciphertext=seal(text, **chunk_aad(transfer_id=transfer.id, shop_id=transfer.shop_id)) or "",
            )
        )
        db.session.flush()


def _read_chunks(transfer: ContactTransfer) -> Iterator[bytes]:
    return _read_chunk_ids(transfer.id, transfer.shop_id)


def _read_chunk_ids(transfer_id: int, shop_id: int) -> Iterator[bytes]:
    last = -1
    while True:
        chunk = db.session.scalar(
            select(TransferChunk)
            .where(TransferChunk.transfer_id == transfer_id, TransferChunk.seq > last)
            .order_by(TransferChunk.seq)
            .limit(1)
        )
        if chunk is None:
            return
        last = chunk.seq
        yield (unseal(chunk.ciphertext, **chunk_aad(transfer_id=transfer_id, shop_id=shop_id)) or "").encode("latin-1")


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


# --- import --------------------------------------------------------------------------------------


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

    _store_chunks(transfer, pieces())
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
    reader = csv.DictReader(_lines(_read_chunks(transfer)))
    try:
        columns = _header_map(reader.fieldnames)
    except csv.Error as exc:
        return _fail(transfer, f"The file is not valid CSV near line {reader.line_num}: {exc}.")
    if "phone" not in columns:
        return _fail(transfer, "The file has no phone column (expected one of: phone, mobile, phone number).")
    if "consent" not in columns and transfer.processed_rows == 0:
        add_errors(
            transfer,
            [{"row": 1, "field": "consent", "error": "No consent column: every row is imported without SMS consent."}],
        )
    try:
        return _import_rows(shop, transfer, reader, columns)
    except csv.Error as exc:  # what a shopper's file holds must never crash the job
        db.session.rollback()
        return _fail(transfer, f"The file is not valid CSV near line {reader.line_num}: {exc}.")


def _import_rows(
    shop: Shop, transfer: ContactTransfer, reader: csv.DictReader, columns: dict[str, str]
) -> ContactTransfer:
    batch = _Batch()
    seen: set[str] = set()
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
            _import_batch(shop, transfer, batch, seen)
            batch = _Batch()
    _import_batch(shop, transfer, batch, seen)
    transfer.status = TransferStatus.COMPLETED
    transfer.total_rows = transfer.processed_rows
    transfer.finished_at = utcnow()
    # The upload holds shoppers' PII; once imported there is no reason to keep it.
    db.session.execute(delete(TransferChunk).where(TransferChunk.transfer_id == transfer.id))
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


def _fail(transfer: ContactTransfer, reason: str, *, commit: bool = True) -> ContactTransfer:
    """A terminal state: nothing will read the stored file (or an export's filter, which may
    name a phone) again, so both go at once."""
    transfer.status = TransferStatus.FAILED
    transfer.failure = reason
    transfer.filters = None
    transfer.finished_at = utcnow()
    db.session.execute(delete(TransferChunk).where(TransferChunk.transfer_id == transfer.id))
    if commit:
        db.session.commit()
    log.info("contact_transfer_failed", shop_id=transfer.shop_id, transfer_id=transfer.id, kind=transfer.kind.value)
    return transfer


def fail_transfer(*, transfer_id: int, reason: str, commit: bool = True) -> bool:
    """Mark a queued or running transfer `failed` (a dead job, a stall); False if it had ended."""
    transfer = db.session.get(ContactTransfer, transfer_id)
    if transfer is None or transfer.status not in (TransferStatus.QUEUED, TransferStatus.RUNNING):
        return False
    _fail(transfer, reason, commit=commit)
    return True


# A transfer job runs at most JOB_MAX_ATTEMPTS times, each killed by RQ after TRANSFER_JOB_TIMEOUT,
# with backoffs of at most 15 minutes between runs: past that (plus an hour's slack for a busy
# queue) no worker is still on it, and it would otherwise stay `running` forever.
TRANSFER_JOB_TIMEOUT = 3600


def stall_deadline() -> timedelta:
    attempts = int(current_config()["JOB_MAX_ATTEMPTS"])
    return attempts * timedelta(seconds=TRANSFER_JOB_TIMEOUT, minutes=15) + timedelta(hours=1)


def fail_stalled_transfers(*, now: datetime | None = None) -> int:
    """Periodic: imports and exports queued or running past `stall_deadline()` end `failed`,
    reason `stalled` (their job died: a worker crash, a flushed Redis)."""
    cutoff = (now or utcnow()) - stall_deadline()
    stalled = db.session.scalars(
        select(ContactTransfer.id).where(
            ContactTransfer.status.in_([TransferStatus.QUEUED, TransferStatus.RUNNING]),
            ContactTransfer.created_at < cutoff,
        )
    ).all()
    return sum(fail_transfer(transfer_id=transfer_id, reason="stalled") for transfer_id in stalled)


def add_errors(transfer: ContactTransfer, errors: list[dict[str, Any]]) -> None:
    transfer.error_count += len(errors)
    room = MAX_STORED_ERRORS - len(transfer.errors or [])
    if room > 0 and errors:
        transfer.errors = [*(transfer.errors or []), *errors[:room]]


def _row_profile(row: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Validated optional fields, and the names of the fields that were dropped as invalid."""
    profile: dict[str, Any] = {}
    dropped: list[str] = []
    for name in ("first_name", "last_name"):
        if row.get(name):
            profile[name] = row[name][:100]
    if row.get("email"):
        if "@" in row["email"] and len(row["email"]) <= 254:
            profile["email"] = normalise_email(row["email"])
        else:
            dropped.append("email")
    if row.get("birthday"):
        try:
            validate_birthday(row["birthday"])
            profile["birthday"] = row["birthday"]
        except Exception:  # marshmallow.ValidationError; the row still imports without it
            dropped.append("birthday")
    tags = [tag.strip()[:64] for tag in row.get("tags", "").split(",") if tag.strip()]
    profile["tags"] = list(dict.fromkeys(tags))[:50]
    return profile, dropped


def _parse_batch(
    shop: Shop, batch: _Batch, seen: set[str], errors: list[dict[str, Any]]
) -> list[tuple[int, dict[str, str], Phone, str]]:
    """Rows with a valid phone not seen earlier in the file, as (row, fields, phone, hash)."""
    parsed = []
    region = default_region(shop)  # once per batch: it loads the shop's settings
    for row_number, row in batch.rows:
        try:
            phone = normalise_phone(row.get("phone"), default_region=region)
        except ValidationFailed:
            errors.append({"row": row_number, "field": "phone", "error": "Not a valid phone number."})
            continue
        digest = phone_hash(phone.e164, shop_id=shop.id)
        if digest in seen:
            errors.append({"row": row_number, "field": "phone", "error": "Duplicate of an earlier row."})
            continue
        seen.add(digest)
        parsed.append((row_number, row, phone, digest))
    return parsed


def _hashes_in(model: Any, shop: Shop, digests: list[str]) -> set[str]:
    if not digests:
        return set()
    return set(
        db.session.scalars(select(model.phone_hash).where(model.shop_id == shop.id, model.phone_hash.in_(digests)))
    )


def _row_consent(row: Mapping[str, str]) -> ConsentState:
    """Explicit consent only: a yes (or an export's `subscribed`) subscribes, `pending` stays
    pending (the shopper asked and has not confirmed), anything else is no consent."""
    value = row.get("consent", "").lower()
    if value in CONSENT_YES:
        return ConsentState.SUBSCRIBED
    return ConsentState.PENDING if value == CONSENT_PENDING else ConsentState.UNSUBSCRIBED


def _file_claim(row: Mapping[str, str]) -> str:
    """How and when the file (our export) says consent was first given, when it names a known
    source and a real time; only those two, never free text from the file."""
    source, when = row.get("consent_source", ""), row.get("consented_at", "")
    if source not in {known.value for known in ConsentSource}:
        return ""
    try:
        at = datetime.fromisoformat(when)
    except ValueError:
        return ""
    return f"; the file says it was given via {source} at {at.isoformat()}"


def new_contact_row(
    shop: Shop, phone: Phone, digest: str, profile: dict[str, Any], consent: ConsentState
) -> dict[str, Any]:
    """Column values for a bulk INSERT, sealed through the model's own `Sealed` attributes."""
    now = utcnow()
    sealed = Contact(shop_id=shop.id)
    sealed.phone = phone.e164
    for name in ("email", "first_name", "last_name", "birthday"):
        setattr(sealed, name, profile.get(name))
    birth_month, birth_day = month_day(profile.get("birthday"))
    return {
        "shop_id": shop.id,
        "phone_ciphertext": sealed.phone_ciphertext,
        "phone_hash": digest,
        "email_ciphertext": sealed.email_ciphertext,
        "email_hash": email_hash(profile["email"], shop_id=shop.id) if profile.get("email") else None,
        "first_name_ciphertext": sealed.first_name_ciphertext,
        "last_name_ciphertext": sealed.last_name_ciphertext,
        "birthday_ciphertext": sealed.birthday_ciphertext,
        "first_name_len": sealed.first_name_len or 0,
        "last_name_len": sealed.last_name_len or 0,
        "names_ucs2": bool(sealed.names_ucs2),
        "birth_month": birth_month,
        "birth_day": birth_day,
        "country_code": phone.region,
        "timezone": phone.timezone,
        "consent_state": consent,
        "consent_source": None if consent == ConsentState.UNSUBSCRIBED else ConsentSource.IMPORT,
        "consented_at": now if consent == ConsentState.SUBSCRIBED else None,
        "order_count": 0,
        "created_at": now,
        "updated_at": now,
    }


def _import_batch(shop: Shop, transfer: ContactTransfer, batch: _Batch, seen: set[str]) -> None:
    if not batch.rows and not batch.skipped:
        return
    errors: list[dict[str, Any]] = list(batch.errors)
    parsed = _parse_batch(shop, batch, seen, errors)
    suppressed = _hashes_in(Suppression, shop, [digest for *_, digest in parsed])
    new_rows: list[dict[str, Any]] = []
    extras: dict[str, tuple[int, list[str], ConsentState, str]] = {}
    default_text = f"Consent recorded in the merchant's import ({transfer.filename or 'CSV'})"
    for row_number, row, phone, digest in parsed:
        profile, dropped = _row_profile(row)
        errors.extend({"row": row_number, "field": name, "error": "Invalid value ignored."} for name in dropped)
        consent = _row_consent(row)
        if consent != ConsentState.UNSUBSCRIBED and digest in suppressed:
            reason = "This number opted out before; imported without consent."
            errors.append({"row": row_number, "field": "consent", "error": reason})
            consent = ConsentState.UNSUBSCRIBED
        new_rows.append(new_contact_row(shop, phone, digest, profile, consent))
        consent_text = row.get("consent_text") or default_text + _file_claim(row)
        extras[digest] = (row_number, profile["tags"], consent, consent_text)
    errors.extend(_insert_contacts(shop, transfer, new_rows, extras))
    transfer.processed_rows += len(batch.rows) + batch.skipped
    add_errors(transfer, errors)
    db.session.commit()


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
    transfer.created_count += len(inserted)
    return [
        {"row": row_number, "field": "phone", "error": "Already a contact; left unchanged."}
        for row_number, *_rest in sorted(extras.values())
    ]


# --- export --------------------------------------------------------------------------------------


def start_export(*, shop: Shop, query: Mapping[str, str]) -> ContactTransfer:
    """The export's filter (already validated) is sealed in its row: the job takes only the id,
    so a phone filter never sits in Redis."""
    transfer = ContactTransfer(shop_id=shop.id, kind=TransferKind.EXPORT, filename="contacts.csv")
    transfer.filters = json.dumps(dict(query)) if query else None
    db.session.add(transfer)
    db.session.commit()
    return transfer


def run_export(*, transfer_id: int, legacy_query: Mapping[str, str] | None = None) -> ContactTransfer:
    """`legacy_query`: only from jobs an earlier release enqueued with the filter as an argument."""
    transfer = db.session.get(ContactTransfer, transfer_id)
    if transfer is None:
        raise NotFound("No such export.")
    shop = db.session.get(Shop, transfer.shop_id)
    assert shop is not None
    query = json.loads(transfer.filters) if transfer.filters else dict(legacy_query or {})
    filters = ContactListQuerySchema().load(query)["filters"]
    transfer.status = TransferStatus.RUNNING
    db.session.execute(TransferChunk.__table__.delete().where(TransferChunk.transfer_id == transfer.id))
    db.session.commit()

    def pieces() -> Iterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(EXPORT_COLUMNS)
        last_id = 0
        while True:
            query = contact_query(shop=shop, **filters).where(Contact.id > last_id).order_by(Contact.id).limit(500)
            rows = list(db.session.scalars(query))
            if not rows:
                break
            for contact in rows:
                view = contact_view(contact)
                # The phone is our own E.164 ("+" and digits), kept as is so a re-import reads it;
                # every other text came from a shopper or a merchant and may be a formula.
                writer.writerow(
                    [
                        view["id"],
                        contact.phone,
                        *(
                            safe_cell(value)
                            for value in (
                                view["first_name"],
                                view["last_name"],
                                view["email"],
                                view["birthday"],
                                ",".join(view["tags"]),
                                view["consent_state"],
                                view["consent_source"],
                                view["consented_at"],
                                view["country_code"],
                                view["created_at"],
                            )
                        ),
                    ]
                )
                transfer.processed_rows += 1
            last_id = rows[-1].id
            if buffer.tell() >= CHUNK_BYTES:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode("utf-8")

    _store_chunks(transfer, pieces())
    transfer.total_rows = transfer.processed_rows
    transfer.filters = None  # the file is what was asked for; the filter (maybe a phone) is kept no longer
    transfer.status = TransferStatus.COMPLETED
    transfer.finished_at = utcnow()
    db.session.commit()
    return transfer


def export_stream(transfer: ContactTransfer) -> Iterator[bytes]:
    """The export's bytes, read while the response streams: after the view has returned, so
    with plain ids, in an app context and the shop's database scope of its own (the request's
    session and scope are gone by then)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    transfer_id, shop_id = transfer.id, transfer.shop_id
    if db.session.scalar(select(TransferChunk.seq).where(TransferChunk.transfer_id == transfer_id).limit(1)) is None:
        # Even an empty export has its header: no chunk means the file was deleted (after 7
        # days, or by a customer's erasure).
        raise Gone("This export's file was deleted; export again.", code="export_gone")

    def stream() -> Iterator[bytes]:
        with app.app_context(), shop_scope(shop_id):
            yield from _read_chunk_ids(transfer_id, shop_id)

    return stream()


EXPORT_RETENTION_DAYS = 7


def delete_expired_files() -> int:
    """Export files are downloadable for a week, then deleted (the progress row stays)."""
    cutoff = utcnow() - timedelta(days=EXPORT_RETENTION_DAYS)
    expired = select(ContactTransfer.id).where(
        ContactTransfer.kind == TransferKind.EXPORT, ContactTransfer.finished_at < cutoff
    )
    result = db.session.execute(delete(TransferChunk).where(TransferChunk.transfer_id.in_(expired)))
    db.session.commit()
    return int(result.rowcount or 0)
