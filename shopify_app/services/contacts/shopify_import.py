"""Shopify's existing SMS subscribers, imported as contacts: one bulk operation, polled, streamed.

    start (API, install) -> job begin: bulkOperationRunQuery over the shop's customers
                         -> job poll: `node(id:)`, re-enqueued with backoff while it runs
                         -> COMPLETED: its JSONL streamed from `url`, CHUNK_LINES lines a chunk

An import is a `ContactTransfer` of kind `shopify_import`, so the admin follows it like a CSV
import (GET /api/contacts/imports/<id>). One runs at a time per shop (a partial unique index);
starting again while one runs answers the running one. Nothing waits in a web request: every
Shopify call happens in a job, and a poll that finds the operation still running enqueues the
next poll instead of sleeping.

Only customers whose SMS `marketingState` is SUBSCRIBED and whose phone parses become contacts,
subscribed with source `shopify` and Shopify's consent time. Idempotent: a re-run (or a resumed
chunk) finds the numbers already subscribed and changes nothing. A number that opted out here
(or was suppressed after opting out) is never resubscribed by an import: Shopify's record may be
older than the shopper's STOP, and a fresh opt-in reaches us through its own webhook instead.
Invalid phones are counted as errors on their line, never a crash.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

import requests
import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ...bulk import bulk_insert, insert_new
from ...errors import ValidationFailed
from ...extensions import db, redis_ext
from ...job_names import SHOPIFY_IMPORT_BEGIN, SHOPIFY_IMPORT_POLL
from ...models import (
    ConsentEvent,
    ConsentSource,
    ConsentState,
    Contact,
    ContactTransfer,
    Shop,
    Suppression,
    TransferKind,
    TransferStatus,
)
from ...models.types import utcnow
from ...queueing import JobRef
from ..shops.settings import default_region
from .contact_transfers import TRANSFER_JOB_TIMEOUT, add_errors, fail_transfer, new_contact_row
from .contacts import ConsentChange, apply_consent
from .phones import Phone, normalise_phone
from .pii import phone_hash
from .shopify_customers import parse_shopify_time

log = structlog.get_logger(__name__)

CHUNK_LINES = 1000
MAX_POLLS = 240  # with waits capped at POLL_MAX_WAIT: about four hours
POLL_MAX_WAIT = 60
DOWNLOAD_TIMEOUT = (3.05, 60.0)  # connect, and between bytes of the stream
STILL_RUNNING = frozenset({"CREATED", "RUNNING"})
CONSENT_TEXT = "Subscribed to SMS marketing in Shopify ({level}); imported from Shopify"

# Shopify's customer search has no documented SMS-consent filter (and a filter it did not know
# would quietly export nobody), so every customer is exported and the streaming skips the rest.
BULK_QUERY = (
    "{ customers { edges { node { id phone "
    "smsMarketingConsent { marketingState marketingOptInLevel consentUpdatedAt } } } } }"
)
RUN_BULK = (
    "mutation RunBulkQuery($query: String!) { bulkOperationRunQuery(query: $query) { "
    "bulkOperation { id status } userErrors { field message code } } }"
)
BULK_STATUS = (
    "query BulkOperationStatus($id: ID!) { node(id: $id) { ... on BulkOperation { "
    "id status errorCode objectCount url } } }"
)
CURRENT_BULK = "query CurrentBulkOperation { currentBulkOperation(type: QUERY) { id status query } }"

NEEDS_REAUTH = "Shopify no longer accepts the app's access to this shop; open the app in Shopify and try again."


class ImportFailed(Exception):
    """Shopify answered in a way no retry changes: the import ends `failed` with this reason."""


class DownloadInterrupted(Exception):
    """The JSONL could not be read to its end; a later poll resumes after the last committed chunk."""


# --- starting ------------------------------------------------------------------------------------


def running_import(*, shop_id: int) -> ContactTransfer | None:
    return db.session.scalar(
        select(ContactTransfer).where(
            ContactTransfer.shop_id == shop_id,
            ContactTransfer.kind == TransferKind.SHOPIFY_IMPORT,
            ContactTransfer.status.in_([TransferStatus.QUEUED, TransferStatus.RUNNING]),
        )
    )


def latest_import(*, shop: Shop) -> ContactTransfer | None:
    """The shop's newest Shopify import (the one started at install, or by the merchant), so the
    admin can follow one it did not start."""
    return db.session.scalar(
        select(ContactTransfer)
        .where(ContactTransfer.shop_id == shop.id, ContactTransfer.kind == TransferKind.SHOPIFY_IMPORT)
        .order_by(ContactTransfer.id.desc())
        .limit(1)
    )


def start(*, shop: Shop) -> tuple[ContactTransfer, bool]:
    """Queue an import of the shop's Shopify SMS subscribers; (transfer, started). While one is
    queued or running, that one is returned and nothing new starts."""
    if (running := running_import(shop_id=shop.id)) is not None:
        return running, False
    transfer = ContactTransfer(shop_id=shop.id, kind=TransferKind.SHOPIFY_IMPORT, filename="Shopify customers")
    try:
        with db.session.begin_nested():
            db.session.add(transfer)
    except IntegrityError:  # a concurrent start won the race: answer its import
        running = running_import(shop_id=shop.id)
        assert running is not None
        return running, False
    db.session.commit()
    _enqueue(SHOPIFY_IMPORT_BEGIN, transfer.id, shop_id=shop.id)
    log.info("shopify_import_queued", shop_id=shop.id, transfer_id=transfer.id)
    return transfer, True


def start_at_install(*, shop: Shop) -> None:
    """An install or reinstall: the import runs as a job, never inside the install request.
    A reinstall imports again too: subscribers may have joined in Shopify meanwhile, the shop's
    contacts may have been erased (shop/redact), and the import adds nothing twice."""
    from ...config import current_config

    if current_config()["SHOPIFY_IMPORT_ON_INSTALL"]:
        start(shop=shop)


def _enqueue(job: JobRef, *args: Any, shop_id: int, delay: timedelta | None = None) -> None:
    # Without Redis the queue would run the job inside this request: a delay sends it to the
    # scheduled registry instead (the periodic scheduler promotes it), so nobody waits on Shopify.
    if delay is None and not redis_ext.queue("default").is_async:
        delay = timedelta(seconds=1)
    job.delay(*args, delay=delay, scope=shop_id, job_timeout=TRANSFER_JOB_TIMEOUT)


def poll_wait(attempt: int) -> timedelta:
    return timedelta(seconds=min(2**attempt, POLL_MAX_WAIT))


# --- the jobs ------------------------------------------------------------------------------------


def begin(*, transfer_id: int, last_attempt: bool = True) -> str:
    """Ask Shopify for the bulk export; then poll it. Throttling and outages raise (RQ retries)."""
    transfer, shop = _load(transfer_id, TransferStatus.QUEUED)
    if transfer is None or shop is None:
        return "not_queued"
    operation_id: str | None = None
    with _ending_on_failure(transfer, last_attempt):
        operation_id = _run_bulk_query(shop)
    if operation_id is None:
        return "failed"
    transfer.bulk_operation_id = operation_id
    transfer.status = TransferStatus.RUNNING
    db.session.commit()
    _enqueue(SHOPIFY_IMPORT_POLL, transfer.id, 1, shop_id=shop.id, delay=poll_wait(1))
    log.info("shopify_import_bulk_started", shop_id=shop.id, transfer_id=transfer.id)
    return "running"


def poll(*, transfer_id: int, attempt: int, last_attempt: bool = True) -> str:
    """Look at the bulk operation once: still running -> the next poll later; completed -> stream
    its JSONL into contacts; failed, cancelled or expired -> the import fails saying why."""
    transfer, shop = _load(transfer_id, TransferStatus.RUNNING)
    if transfer is None or shop is None or transfer.bulk_operation_id is None:
        return "not_running"
    with _ending_on_failure(transfer, last_attempt):
        node = _query(shop, BULK_STATUS, {"id": transfer.bulk_operation_id}).get("node")
        status = str((node or {}).get("status") or "")
        if status in STILL_RUNNING:
            if attempt >= MAX_POLLS:
                raise ImportFailed("Shopify's export of its customers did not finish in time; try again later.")
            _enqueue(SHOPIFY_IMPORT_POLL, transfer.id, attempt + 1, shop_id=shop.id, delay=poll_wait(attempt + 1))
            return "waiting"
        if status != "COMPLETED":
            code = str((node or {}).get("errorCode") or "no error code")
            raise ImportFailed(f"Shopify's export of its customers ended {status or 'unknown'} ({code}).")
        assert node is not None
        transfer.total_rows = max(int(node.get("objectCount") or 0), transfer.processed_rows)
        db.session.commit()
        if node.get("url"):  # no url: the shop has no customers to export
            try:
                import_jsonl(shop, transfer, str(node["url"]))
            except DownloadInterrupted as interrupted:
                # A dropped stream or an expired link: the next poll gets a fresh link and
                # resumes after the chunks already committed.
                db.session.rollback()
                log.warning("shopify_import_download_interrupted", transfer_id=transfer.id, error=str(interrupted))
                if attempt >= MAX_POLLS:
                    raise ImportFailed("Shopify's export of its customers could not be downloaded.") from None
                _enqueue(SHOPIFY_IMPORT_POLL, transfer.id, attempt + 1, shop_id=shop.id, delay=poll_wait(attempt + 1))
                return "download_interrupted"
    if transfer.status != TransferStatus.RUNNING:
        return transfer.status.value
    transfer.status = TransferStatus.COMPLETED
    transfer.total_rows = transfer.processed_rows
    transfer.finished_at = utcnow()
    db.session.commit()
    log.info(
        "shopify_import_completed",
        shop_id=shop.id,
        transfer_id=transfer.id,
        lines=transfer.processed_rows,
        created=transfer.created_count,
        updated=transfer.updated_count,
        errors=transfer.error_count,
    )
    return "completed"


def stop_for_uninstall(*, shop: Shop) -> bool:
    """app/uninstalled: the shop's token is gone, so a running import cannot finish."""
    running = running_import(shop_id=shop.id)
    return running is not None and fail_transfer(
        transfer_id=running.id, reason="The app was uninstalled.", commit=False
    )


def _load(transfer_id: int, status: TransferStatus) -> tuple[ContactTransfer | None, Shop | None]:
    transfer = db.session.get(ContactTransfer, transfer_id)
    if transfer is None or transfer.kind != TransferKind.SHOPIFY_IMPORT or transfer.status != status:
        return None, None  # ended meanwhile (uninstall, stall sweep) or run twice: nothing to do
    return transfer, db.session.get(Shop, transfer.shop_id)


@contextmanager
def _ending_on_failure(transfer: ContactTransfer, last_attempt: bool) -> Iterator[None]:
    """Inside: ImportFailed ends the import `failed` (and goes no further); anything else (throttled,
    unavailable, an interrupted download) propagates for RQ to retry, ending the import first
    when this is the job's last attempt, so no import stays `running` with no one to finish it."""
    transfer_id = transfer.id
    try:
        yield
    except ImportFailed as failed:
        db.session.rollback()
        fail_transfer(transfer_id=transfer_id, reason=str(failed))
    except Exception as exc:
        db.session.rollback()
        if last_attempt:
            reason = f"Shopify could not be reached to finish the import ({type(exc).__name__}); try again later."
            fail_transfer(transfer_id=transfer_id, reason=reason)
        log.warning("shopify_import_deferred", transfer_id=transfer_id, error=type(exc).__name__)
        raise


def _query(shop: Shop, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """One Admin GraphQL call; permanent refusals become ImportFailed, transient ones propagate."""
    from ...clients.shopify import (
        ShopifyError,
        ShopifyGraphQLError,
        ShopifyRateLimited,
        ShopifyTimeout,
        ShopifyUnavailable,
    )
    from ..shops.auth import ShopNeedsReauth, admin_query

    try:
        return dict(admin_query(shop, query, variables))
    except ShopNeedsReauth:
        raise ImportFailed(NEEDS_REAUTH) from None
    except (ShopifyRateLimited, ShopifyUnavailable, ShopifyTimeout):
        raise
    except ShopifyGraphQLError as exc:  # e.g. ACCESS_DENIED without read_customers; codes only, never messages
        codes = sorted({str((error.get("extensions") or {}).get("code", "unknown")) for error in exc.errors})
        raise ImportFailed(f"Shopify refused the export of its customers ({', '.join(codes)}).") from None
    except ShopifyError as exc:
        raise ImportFailed(f"Shopify refused the export of its customers ({type(exc).__name__}).") from None


def _run_bulk_query(shop: Shop) -> str:
    payload = _query(shop, RUN_BULK, {"query": BULK_QUERY}).get("bulkOperationRunQuery") or {}
    operation_id = (payload.get("bulkOperation") or {}).get("id")
    if operation_id and not payload.get("userErrors"):
        return str(operation_id)
    # "A bulk query operation for this app and shop is already in progress": ours, when an
    # earlier attempt of this job started it and died before saving its id; then it is adopted.
    current = _query(shop, CURRENT_BULK).get("currentBulkOperation") or {}
    if current.get("status") in STILL_RUNNING and "smsMarketingConsent" in str(current.get("query") or ""):
        return str(current["id"])
    codes = sorted({str(error.get("code") or "user_error") for error in payload.get("userErrors") or []})
    if current.get("status") in STILL_RUNNING:
        raise ImportFailed("Shopify is already running another bulk export for this app; try again when it ends.")
    raise ImportFailed(f"Shopify did not start the export of its customers ({', '.join(codes) or 'no operation'}).")


# --- streaming the JSONL -------------------------------------------------------------------------


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
    digests = [subscriber[2] for subscriber in subscribers]
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
    new_rows, events = [], {}
    for line_number, phone, digest, customer_id, consented_at, level in subscribers:
        contact = existing.get(digest)
        if digest in suppressed or (
            contact is not None and contact.consent_state == ConsentState.UNSUBSCRIBED and contact.unsubscribed_at
        ):
            # Opted out here: never resubscribed by an import (see the module docstring).
            errors.append({"row": line_number, "field": "consent", "error": "Unsubscribed here; left unsubscribed."})
        elif contact is None:
            row = new_contact_row(shop, phone, digest, {}, ConsentState.SUBSCRIBED)
            row.update(consent_source=ConsentSource.SHOPIFY, consented_at=consented_at, shopify_customer_id=customer_id)
            new_rows.append(row)
            events[digest] = CONSENT_TEXT.format(level=level)
        else:
            transfer.updated_count += _subscribe_existing(contact, customer_id, consented_at, level)
    inserted = insert_new(
        Contact.__table__, new_rows, conflict=("shop_id", "phone_hash"), returning=("id", "phone_hash")
    )
    now = utcnow()
    bulk_insert(
        ConsentEvent.__table__,
        [
            {
                "shop_id": shop.id,
                "contact_id": contact_id,
                "state": ConsentState.SUBSCRIBED,
                "source": ConsentSource.SHOPIFY,
                "consent_text": events[digest],
                "occurred_at": now,
            }
            for contact_id, digest in inserted
        ],
    )
    transfer.created_count += len(inserted)
    transfer.processed_rows += len(lines)
    add_errors(transfer, errors)
    db.session.commit()
    log.info(
        "shopify_import_chunk",
        shop_id=shop.id,
        transfer_id=transfer.id,
        lines=len(lines),
        created=len(inserted),
        errors=len(errors),
    )


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
