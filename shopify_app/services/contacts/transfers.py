"""What CSV imports, CSV exports and Shopify imports share: the `ContactTransfer` row and its
lifecycle (found per shop, failed, swept when stalled), its file stored as sealed chunks, its
capped error list, and the bulk INSERT row of a new contact.

A transfer's file (an upload, or an export being written) is stored in `CHUNK_BYTES` pieces,
each sealed with AES-GCM and bound to its transfer, so no chunk can be moved to another file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import delete, select

from ...config import current_config
from ...errors import NotFound
from ...extensions import db
from ...gsm import UCS2, measure
from ...models import (
    ConsentSource,
    ConsentState,
    Contact,
    ContactTransfer,
    ImportSeenNumber,
    Shop,
    TransferChunk,
    TransferKind,
    TransferStatus,
)
from ...models.types import utcnow
from ...security.crypto import aad_for, keyring, normalise_email
from .contacts import month_day
from .phones import Phone
from .pii import seal, unseal

log = structlog.get_logger(__name__)

CHUNK_BYTES = 1024 * 1024
MAX_STORED_ERRORS = 1000


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


def store_chunks(transfer: ContactTransfer, pieces: Iterable[bytes]) -> None:
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


def read_chunks(transfer: ContactTransfer) -> Iterator[bytes]:
    return read_chunk_ids(transfer.id, transfer.shop_id)


def read_chunk_ids(transfer_id: int, shop_id: int) -> Iterator[bytes]:
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


# --- ending ------------------------------------------------------------------------------------


def mark_failed(transfer: ContactTransfer, reason: str, *, commit: bool = True) -> ContactTransfer:
    """A terminal state: nothing will read the stored file (or an export's filter, which may
    name a phone) again, so both go at once."""
    transfer.status = TransferStatus.FAILED
    transfer.failure = reason
    transfer.filters = None
    transfer.finished_at = utcnow()
    drop_working_rows(transfer.id)
    if commit:
        db.session.commit()
    log.info("contact_transfer_failed", shop_id=transfer.shop_id, transfer_id=transfer.id, kind=transfer.kind.value)
    return transfer


def drop_working_rows(transfer_id: int) -> None:
    """An ended transfer's stored file chunks and the numbers its import met: both hold what
    shoppers' PII came from, and nothing reads them again."""
    db.session.execute(delete(TransferChunk).where(TransferChunk.transfer_id == transfer_id))
    db.session.execute(delete(ImportSeenNumber).where(ImportSeenNumber.transfer_id == transfer_id))


def fail_transfer(*, transfer_id: int, reason: str, commit: bool = True) -> bool:
    """Mark a queued or running transfer `failed` (a dead job, a stall); False if it had ended."""
    transfer = db.session.get(ContactTransfer, transfer_id)
    if transfer is None or transfer.status not in (TransferStatus.QUEUED, TransferStatus.RUNNING):
        return False
    mark_failed(transfer, reason, commit=commit)
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


class NewContactRows:
    """Column values of a shop's new contacts for a bulk INSERT, sealed and indexed as the
    model's `Sealed` attributes and `pii.email_hash` would, without building a `Contact` per
    row (half of an import's per-row time) and with each column's sealer made once."""

    SEALED = ("phone", "email", "first_name", "last_name", "birthday")

    def __init__(self, shop_id: int) -> None:
        ring = keyring()
        self.shop_id = shop_id
        self._seal = {
            name: ring.sealer(aad=aad_for(table=Contact.__tablename__, column=name, shop_id=shop_id))
            for name in self.SEALED
        }
        self.phone_hash = ring.blind_indexer(kind="phone", shop_id=shop_id)
        self._email_hash = ring.blind_indexer(kind="email", shop_id=shop_id)

    def _sealed(self, name: str, value: Any) -> str | None:
        return None if value in (None, "") else self._seal[name](str(value))

    def row(self, phone: Phone, digest: str, profile: dict[str, Any], consent: ConsentState) -> dict[str, Any]:
        now = utcnow()
        first, last, email = profile.get("first_name"), profile.get("last_name"), profile.get("email")
        first_unit, first_len = measure(first) if first else (None, 0)
        last_unit, last_len = measure(last) if last else (None, 0)
        birth_month, birth_day = month_day(profile.get("birthday"))
        return {
            "shop_id": self.shop_id,
            "phone_ciphertext": self._sealed("phone", phone.e164),
            "phone_hash": digest,
            "email_ciphertext": self._sealed("email", email),
            "email_hash": self._email_hash(normalise_email(email)) if email else None,
            "first_name_ciphertext": self._sealed("first_name", first),
            "last_name_ciphertext": self._sealed("last_name", last),
            "birthday_ciphertext": self._sealed("birthday", profile.get("birthday")),
            "first_name_len": first_len,
            "last_name_len": last_len,
            "names_ucs2": UCS2 in (first_unit, last_unit),
            "birth_month": birth_month,
            "birth_day": birth_day,
            "country_code": phone.region,
            "timezone": phone.timezone,
            **self._consent(consent, now),
            "order_count": 0,
            "created_at": now,
            "updated_at": now,
        }

    def without_consent(self, row: dict[str, Any]) -> dict[str, Any]:
        """The row imported without consent (its number opted out before)."""
        return row | self._consent(ConsentState.UNSUBSCRIBED, row["created_at"])

    @staticmethod
    def _consent(consent: ConsentState, now: datetime) -> dict[str, Any]:
        return {
            "consent_state": consent,
            "consent_source": None if consent == ConsentState.UNSUBSCRIBED else ConsentSource.IMPORT,
            "consented_at": now if consent == ConsentState.SUBSCRIBED else None,
        }
