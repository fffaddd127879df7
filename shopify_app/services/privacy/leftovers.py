"""What an erasure deletes besides the customer's rows: the files and caches that may hold them.

There is no file store on disk: contact CSVs (imports and exports) and privacy exports live
sealed in the database, caches in Redis.

- Contact CSV files: which rows a stored file holds is not indexed, so every import and export
  file of the shop goes (the merchant exports again). A queued or running import ends `failed`,
  reason `erased`, as it could re-create the customer; an export's download answers 410.
- Privacy exports (Shopify data requests, merchant exports, a pending export's lookup) that name
  the customer are deleted with their request row.
- Redis: the shop's cached reports are invalidated, the customer's number leaves the sign-up
  limiter; a shop's redaction drops every cached report of the shop.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from sqlalchemy import delete, select

from ...extensions import db, redis_ext
from ...models import ContactTransfer, PrivacyRequest, PrivacyRequestKind, Shop, TransferChunk, TransferStatus
from ...security.crypto import normalise_email
from ..campaigns import report_cache
from ..contacts import signup
from ..contacts.transfers import fail_transfer

ERASED = "erased"


def forget_customer(
    *, shop: Shop, contact_ids: Collection[int], customer_ids: Collection[int], phones: set[str], emails: set[str]
) -> dict[str, int]:
    """Delete the files and cache entries that may hold the customer; counts, no PII."""
    emails = {normalise_email(email) for email in emails if email}
    counts = {
        "contact_files": _delete_contact_files(shop),
        "privacy_exports": _delete_privacy_exports(shop, set(contact_ids), set(customer_ids), phones, emails),
    }
    for e164 in phones:
        signup.forget_phone(shop_id=shop.id, e164=e164)
    report_cache.invalidate(shop.id)
    return counts


def forget_shop(*, shop_id: int) -> None:
    """Redis entries of a redacted shop (its database rows are deleted by the caller)."""
    client = redis_ext.client()
    keys = [report_cache.GENERATION_KEY.format(shop_id=shop_id)]
    keys += list(client.scan_iter(match=report_cache.CACHE_KEY.format(shop_id=shop_id, generation="*", query="*")))
    keys += list(client.scan_iter(match=f"{signup.RATE_KEY_PREFIX}signup:*:{shop_id}:*"))
    client.delete(*keys)


def _delete_contact_files(shop: Shop) -> int:
    pending = db.session.scalars(
        select(ContactTransfer.id).where(
            ContactTransfer.shop_id == shop.id,
            ContactTransfer.status.in_([TransferStatus.QUEUED, TransferStatus.RUNNING]),
        )
    ).all()
    for transfer_id in pending:  # an export still being written is refused too: it may hold them
        fail_transfer(transfer_id=transfer_id, reason=ERASED, commit=False)
    result = db.session.execute(delete(TransferChunk).where(TransferChunk.shop_id == shop.id))
    return int(result.rowcount or 0)


def _names_customer(
    request: PrivacyRequest, contact_ids: set[int], customer_ids: set[int], phones: set[str], emails: set[str]
) -> bool:
    if request.shopify_customer_id in customer_ids:
        return True
    if request.export_ciphertext is None:
        return False
    document: dict[str, Any] = json.loads(request.export or "{}")
    lookup = document.get("lookup", {}).get("customer", {})  # a merchant export not built yet
    people = [lookup, *document.get("contacts", [])]
    return document.get("shopify_customer_id") in customer_ids or any(
        person.get("id") in contact_ids
        or person.get("phone") in phones
        or normalise_email(person.get("email") or "") in emails
        for person in people
    )


def _delete_privacy_exports(
    shop: Shop, contact_ids: set[int], customer_ids: set[int], phones: set[str], emails: set[str]
) -> int:
    requests = db.session.scalars(
        select(PrivacyRequest).where(
            PrivacyRequest.shop_id == shop.id,
            PrivacyRequest.kind.in_([PrivacyRequestKind.DATA_REQUEST, PrivacyRequestKind.MERCHANT_EXPORT]),
        )
    ).all()
    doomed = [r.id for r in requests if _names_customer(r, contact_ids, customer_ids, phones, emails)]
    if doomed:
        db.session.execute(delete(PrivacyRequest).where(PrivacyRequest.id.in_(doomed)))
    return len(doomed)
