"""One-time credit packs (`appPurchaseOneTimeCreate`): bought, then granted once Shopify
confirms them (`app_purchases_one_time/update`), once per charge id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from sqlalchemy import select

from ...errors import ValidationFailed
from ...extensions import db
from ...models import CreditPurchase, PurchaseStatus, Shop
from ...models.types import utcnow
from . import credits
from .plans import PACKS
from .shopify_billing import PURCHASE_CREATE, BillingFailed, charges_are_tests, money, mutation, return_url

log = structlog.get_logger(__name__)


def buy_pack(*, shop: Shop, pack_key: str) -> dict[str, Any]:
    pack = PACKS.get(pack_key)
    if pack is None:
        raise ValidationFailed(details={"fields": {"pack": [f"Choose one of {', '.join(PACKS)}."]}})
    data = mutation(
        shop,
        PURCHASE_CREATE,
        {
            "name": f"{pack.credits:,} SMS credits",
            "price": money(pack.price),
            "returnUrl": return_url(shop),
            "test": charges_are_tests(),
        },
        "appPurchaseOneTimeCreate",
    )
    charge_id = str((data.get("appPurchaseOneTime") or {}).get("id") or "")
    if not charge_id:
        raise BillingFailed("Shopify did not return the purchase.")
    db.session.add(
        CreditPurchase(shop_id=shop.id, charge_id=charge_id, pack=pack.key, credits=pack.credits, price=pack.price)
    )
    db.session.commit()
    log.info("credit_pack_created", shop_id=shop.id, pack=pack.key)
    return {"confirmation_url": data.get("confirmationUrl"), "charge_id": charge_id, "pack": pack.key}


PURCHASE_STATUSES = {
    "ACTIVE": PurchaseStatus.ACTIVE,
    "DECLINED": PurchaseStatus.DECLINED,
    "EXPIRED": PurchaseStatus.EXPIRED,
}


def purchase_updated(*, shop: Shop, payload: Mapping[str, Any]) -> bool:
    """app_purchases_one_time/update: ACTIVE grants the pack's credits, once per charge id.
    True when credits were granted now."""
    purchase = payload.get("app_purchase_one_time")
    if not isinstance(purchase, Mapping):
        return False
    charge_id = str(purchase.get("admin_graphql_api_id") or "")
    record = db.session.scalar(
        select(CreditPurchase).where(CreditPurchase.shop_id == shop.id, CreditPurchase.charge_id == charge_id)
    )
    if record is None:
        log.warning("credit_purchase_unknown", shop_id=shop.id)
        return False
    status = PURCHASE_STATUSES.get(str(purchase.get("status") or "").upper())
    if status is None:
        return False
    if status != PurchaseStatus.ACTIVE:
        if record.status == PurchaseStatus.PENDING:
            record.status = status
        return False
    granted = credits.grant(
        shop_id=shop.id, amount=record.credits, key=f"purchase:{charge_id}", note=f"credit pack {record.pack}"
    )
    record.status = PurchaseStatus.ACTIVE
    record.granted_at = record.granted_at or utcnow()
    if granted:
        log.info("credit_pack_granted", shop_id=shop.id, credits=record.credits)
    return granted
