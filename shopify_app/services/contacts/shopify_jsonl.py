"""A finished bulk operation's JSONL, streamed into contacts (shopify_import.py runs the bulk
operation and calls `import_jsonl` once it completed).

The file is read from Shopify's signed link as a stream, never whole in memory, CHUNK_LINES
lines at a time, each chunk committed with the transfer's progress, so a retry resumes after
the committed lines. Only customers whose SMS `marketingState` is SUBSCRIBED and whose phone
parses become contacts, subscribed with source `shopify` and Shopify's consent time.
Idempotent: a re-run (or a resumed chunk) finds the numbers already subscribed and changes
nothing. A number that opted out here (or was suppressed after opting out) is never
resubscribed by an import: Shopify's record may be older than the shopper's STOP, and a fresh
opt-in reaches us through its own webhook instead. Invalid phones are counted as errors on
their line, never a crash.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import Any

import requests
import structlog
from sqlalchemy import select

from ...bulk import bulk_insert, insert_new
from ...errors import ValidationFailed
from ...extensions import db
from ...models import ConsentEvent, ConsentSource, ConsentState, Contact, ContactTransfer, Shop, Suppression
from ...models.types import utcnow
from ..shops.settings import default_region
from .contacts import ConsentChange, apply_consent
from .phones import Phone, normalise_phone
from .pii import phone_hash
from .shopify_customers import parse_shopify_time
from .transfers import NewContactRows, add_errors

log = structlog.get_logger(__name__)

CHUNK_LINES = 1000
DOWNLOAD_TIMEOUT = (3.05, 60.0)  # connect, and between bytes of the stream
CONSENT_TEXT = "Subscribed to SMS marketing in Shopify ({level}); imported from Shopify"


class DownloadInterrupted(Exception):
    """The JSONL could not be read to its end; a later poll resumes after the last committed chunk."""


def import_jsonl(shop: Shop, transfer: ContactTransfer, url: str) -> None:
    """Stream the operation's JSONL (never the whole file in memory), CHUNK_LINES lines at a
    time, each chunk committed with the progress; a retry resumes after the committed lines.
    The URL is a signed download link: it gets no access token."""
    try:
        with requests.get(url, stream=True, timeout=DOWNLOAD_TIMEOUT) as response:
            if response.status_code != 200:  # an expired link: the next poll asks for a new one
                raise DownloadInterrupted(f"HTTP {response.status_code}")
            lines = islice(jsonl_lines(response), transfer.processed_rows, None)
            for chunk in chunked(lines, CHUNK_LINES):
                import_chunk(shop, transfer, chunk)
    except requests.RequestException as exc:
        raise DownloadInterrupted(type(exc).__name__) from None


def jsonl_lines(response: requests.Response) -> Iterator[bytes]:
    for line in response.iter_lines(chunk_size=64 * 1024):
        if line.strip():
            yield line


def chunked(lines: Iterable[bytes], size: int) -> Iterator[list[bytes]]:
    chunk: list[bytes] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def import_chunk(shop: Shop, transfer: ContactTransfer, lines: list[bytes]) -> None:
    """One chunk of JSONL lines in one transaction: new numbers inserted in bulk, existing
    contacts subscribed unless they opted out here, then the progress committed."""
    first_line = transfer.processed_rows + 1
    errors: list[dict[str, Any]] = []
    subscribers = _subscribers(shop, lines, first_line, errors)
    existing, suppressed = _known_numbers(shop, [subscriber[2] for subscriber in subscribers])
    new_rows, events, contact_rows = [], {}, NewContactRows(shop.id)
    for line_number, phone, digest, customer_id, consented_at, level in subscribers:
        contact = existing.get(digest)
        if digest in suppressed or (
            contact is not None and contact.consent_state == ConsentState.UNSUBSCRIBED and contact.unsubscribed_at
        ):
            # Opted out here: never resubscribed by an import (see the module docstring).
            errors.append({"row": line_number, "field": "consent", "error": "Unsubscribed here; left unsubscribed."})
        elif contact is None:
            row = contact_rows.row(phone, digest, {}, ConsentState.SUBSCRIBED)
            row.update(consent_source=ConsentSource.SHOPIFY, consented_at=consented_at, shopify_customer_id=customer_id)
            new_rows.append(row)
            events[digest] = CONSENT_TEXT.format(level=level)
        else:
            transfer.updated_count += _subscribe_existing(contact, customer_id, consented_at, level)
    inserted = _insert_subscribers(shop, new_rows, events)
    transfer.created_count += inserted
    transfer.processed_rows += len(lines)
    add_errors(transfer, errors)
    db.session.commit()
    log.info(
        "shopify_import_chunk",
        shop_id=shop.id,
        transfer_id=transfer.id,
        lines=len(lines),
        created=inserted,
        errors=len(errors),
    )


def _known_numbers(shop: Shop, digests: list[str]) -> tuple[dict[str, Contact], set[str]]:
    """The chunk's numbers that are contacts already (by blind index), and those suppressed."""
    existing = {
        contact.phone_hash: contact
        for contact in db.session.scalars(
            select(Contact).where(Contact.shop_id == shop.id, Contact.phone_hash.in_(digests))
        )
    }
    suppressed = set(
        db.session.scalars(
            select(Suppression.phone_hash).where(Suppression.shop_id == shop.id, Suppression.phone_hash.in_(digests))
        )
    )
    return existing, suppressed


def _insert_subscribers(shop: Shop, rows: list[dict[str, Any]], consent_texts: dict[str, str]) -> int:
    """The new numbers in bulk (a number inserted meanwhile is skipped), each with its consent
    event; returns how many were inserted."""
    inserted = insert_new(Contact.__table__, rows, conflict=("shop_id", "phone_hash"), returning=("id", "phone_hash"))
    now = utcnow()
    bulk_insert(
        ConsentEvent.__table__,
        [
            {
                "shop_id": shop.id,
                "contact_id": contact_id,
                "state": ConsentState.SUBSCRIBED,
                "source": ConsentSource.SHOPIFY,
                "consent_text": consent_texts[digest],
                "occurred_at": now,
            }
            for contact_id, digest in inserted
        ],
    )
    return len(inserted)


def _subscribers(
    shop: Shop, lines: list[bytes], first_line: int, errors: list[dict[str, Any]]
) -> list[tuple[int, Phone, str, int | None, datetime, str]]:
    """The chunk's SMS subscribers with a valid phone, each number once:
    (line, phone, blind index, customer id, consent time, opt-in level)."""
    region = default_region(shop)
    now = utcnow()
    found, seen = [], set()
    for offset, raw in enumerate(lines):
        line_number = first_line + offset
        try:
            customer = json.loads(raw)
        except ValueError:
            errors.append({"row": line_number, "field": "line", "error": "Not a JSON object."})
            continue
        consent = customer.get("smsMarketingConsent") if isinstance(customer, dict) else None
        if not isinstance(consent, dict) or consent.get("marketingState") != "SUBSCRIBED":
            continue  # not an SMS subscriber in Shopify: nothing to import
        try:
            phone = normalise_phone(customer.get("phone"), default_region=region)
        except ValidationFailed:
            errors.append({"row": line_number, "field": "phone", "error": "Not a valid phone number."})
            continue
        digest = phone_hash(phone.e164, shop_id=shop.id)
        if digest in seen:
            continue
        seen.add(digest)
        consented_at = min(parse_shopify_time(consent.get("consentUpdatedAt")) or now, now)
        level = str(consent.get("marketingOptInLevel") or "opt-in level unknown")[:32]
        found.append((line_number, phone, digest, _customer_id(customer.get("id")), consented_at, level))
    return found


def _subscribe_existing(contact: Contact, customer_id: int | None, consented_at: datetime, level: str) -> bool:
    """An existing contact who never opted out here (no consent yet, or a pending double opt-in):
    subscribed with Shopify's consent time; True if so. One already subscribed stays as it is,
    so a re-run changes nothing."""
    if contact.shopify_customer_id is None and customer_id is not None:
        contact.shopify_customer_id = customer_id
    if contact.consent_state == ConsentState.SUBSCRIBED:
        return False
    text = CONSENT_TEXT.format(level=level)
    apply_consent(
        contact, ConsentChange(state=ConsentState.SUBSCRIBED, source=ConsentSource.SHOPIFY, consent_text=text)
    )
    contact.consented_at = consented_at
    return True


def _customer_id(gid: object) -> int | None:
    tail = str(gid or "").rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() and len(tail) < 19 else None
