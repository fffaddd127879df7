"""Shopify's existing SMS subscribers, imported as contacts: one bulk operation, polled, streamed.

    start (API, install) -> job begin: bulkOperationRunQuery over the shop's customers
                         -> job poll: `node(id:)`, re-enqueued with backoff while it runs
                         -> COMPLETED: its JSONL streamed from `url` (shopify_jsonl.py)

This module owns the bulk operation: starting it, polling it, and ending the import. An import
is a `ContactTransfer` of kind `shopify_import`, so the admin follows it like a CSV import
(GET /api/contacts/imports/<id>). One runs at a time per shop (a partial unique index);
starting again while one runs answers the running one. Nothing waits in a web request: every
Shopify call happens in a job, and a poll that finds the operation still running enqueues the
next poll instead of sleeping. Which customers become contacts, and how, is shopify_jsonl.py's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from ...clients.shopify import ShopifyError, ShopifyGraphQLError, ShopifyRateLimited, ShopifyTimeout, ShopifyUnavailable
from ...config import current_config
from ...extensions import db, redis_ext
from ...job_names import SHOPIFY_IMPORT_BEGIN, SHOPIFY_IMPORT_POLL
from ...models import ContactTransfer, Shop, TransferKind, TransferStatus
from ...models.types import utcnow
from ...queueing import JobRef
from ..shops.tokens import ShopNeedsReauth, admin_query
from .shopify_jsonl import DownloadInterrupted, import_jsonl
from .transfers import TRANSFER_JOB_TIMEOUT, fail_transfer

log = structlog.get_logger(__name__)

MAX_POLLS = 240  # with waits capped at POLL_MAX_WAIT: about four hours
POLL_MAX_WAIT = 60
STILL_RUNNING = frozenset({"CREATED", "RUNNING"})

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


# --- starting ------------------------------------------------------------------------------------


def _imports(shop_id: int) -> Select[tuple[ContactTransfer]]:
    """The shop's Shopify imports."""
    return select(ContactTransfer).where(
        ContactTransfer.shop_id == shop_id, ContactTransfer.kind == TransferKind.SHOPIFY_IMPORT
    )


def running_import(*, shop_id: int) -> ContactTransfer | None:
    """The one queued or running (a partial unique index allows one at a time)."""
    return db.session.scalar(
        _imports(shop_id).where(ContactTransfer.status.in_([TransferStatus.QUEUED, TransferStatus.RUNNING]))
    )


def latest_import(*, shop: Shop) -> ContactTransfer | None:
    """The shop's newest Shopify import (the one started at install, or by the merchant), so the
    admin can follow one it did not start."""
    return db.session.scalar(_imports(shop.id).order_by(ContactTransfer.id.desc()).limit(1))


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
