"""CSV export of contacts: the shop's contacts (under the list's filters) written as a CSV file
into sealed chunks by a job (transfers.py), then streamed to the merchant, and deleted after a
week. Its columns are the ones csv_import.py reads back.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, select

from ...errors import Gone, NotFound
from ...extensions import db
from ...models import Contact, ContactTransfer, Shop, TransferChunk, TransferKind, TransferStatus
from ...models.types import utcnow
from ...schemas.contacts import ContactListQuerySchema
from ...tenancy import shop_scope
from .contacts import contact_query, contact_view
from .spreadsheet import safe_cell
from .transfers import CHUNK_BYTES, read_chunk_ids, store_chunks

EXPORT_PAGE = 500
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
    store_chunks(transfer, _csv_pieces(shop, transfer, filters))
    transfer.total_rows = transfer.processed_rows
    transfer.filters = None  # the file is what was asked for; the filter (maybe a phone) is kept no longer
    transfer.status = TransferStatus.COMPLETED
    transfer.finished_at = utcnow()
    db.session.commit()
    return transfer


def _csv_pieces(shop: Shop, transfer: ContactTransfer, filters: Mapping[str, Any]) -> Iterator[bytes]:
    """The file in pieces of about CHUNK_BYTES, contacts read by id in pages; counts the rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    last_id = 0
    while True:
        query = contact_query(shop=shop, **filters).where(Contact.id > last_id).order_by(Contact.id).limit(EXPORT_PAGE)
        rows = list(db.session.scalars(query))
        if not rows:
            break
        for contact in rows:
            writer.writerow(_csv_row(contact))
            transfer.processed_rows += 1
        last_id = rows[-1].id
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def _csv_row(contact: Contact) -> list[Any]:
    view = contact_view(contact)
    # The phone is our own E.164 ("+" and digits), kept as is so a re-import reads it;
    # every other text came from a shopper or a merchant and may be a formula.
    return [
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
            yield from read_chunk_ids(transfer_id, shop_id)

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
