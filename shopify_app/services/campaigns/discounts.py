"""Discount codes made in the shop through Admin GraphQL, filled into `{{discount_code}}`.

A shared discount is one code for everyone. A unique discount is a Shopify code discount whose
codes are one per recipient: the launch gives every message row its own code
and each send batch adds its codes to the discount (`discountRedeemCodeBulkAdd`, 250 per call)
before the texts go out, so no shopper receives a code Shopify does not know. A Shopify failure
puts the batch back (nothing sent); THROTTLED is waited out by the GraphQL client.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import select

from ...clients.shopify import ShopifyError
from ...errors import Conflict, ValidationFailed
from ...extensions import db
from ...models import Discount, DiscountKind, DiscountValueType, Shop
from ...models.types import utcnow
from ..ops.pagination import page
from ..shops.owned import owned
from ..shops.tokens import admin_query

log = structlog.get_logger(__name__)

CODES_PER_CALL = 250

CODE_BY_NAME = """
query DiscountByCode($code: String!) {
  codeDiscountNodeByCode(code: $code) { id }
}
"""

CREATE_BASIC = """
mutation DiscountCreate($basicCodeDiscount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $basicCodeDiscount) {
    codeDiscountNode { id }
    userErrors { field code message }
  }
}
"""

ADD_CODES = """
mutation DiscountCodesAdd($discountId: ID!, $codes: [DiscountRedeemCodeInput!]!) {
  discountRedeemCodeBulkAdd(discountId: $discountId, codes: $codes) {
    bulkCreation { id }
    userErrors { field code message }
  }
}
"""


def _customer_gets(value_type: DiscountValueType, value: Decimal) -> dict[str, Any]:
    if value_type == DiscountValueType.PERCENTAGE:
        amount: dict[str, Any] = {"percentage": float(value / 100)}
    else:
        amount = {"discountAmount": {"amount": str(value), "appliesOnEachItem": False}}
    return {"value": amount, "items": {"all": True}}


def create_discount(*, shop: Shop, data: Mapping[str, Any]) -> Discount:
    kind = DiscountKind(data["kind"])
    code = str(data["code"]).upper()
    existing = db.session.scalar(select(Discount).where(Discount.shop_id == shop.id, Discount.title == data["title"]))
    if existing is not None:
        raise Conflict(
            "A discount with this title exists.",
            code="discount_exists",
            details={"field": "title", "discount_id": existing.id},
        )
    shopify_code = code if kind == DiscountKind.SHARED else f"{code}-{secrets.token_hex(8).upper()}"
    if kind == DiscountKind.SHARED:
        node = (admin_query(shop, CODE_BY_NAME, {"code": code}) or {}).get("codeDiscountNodeByCode")
        if node:
            raise Conflict(
                "This code already exists in the shop.",
                code="discount_code_taken",
                details={"field": "code", "code": code, "shopify_id": node.get("id")},
            )
    value_type = DiscountValueType(data["value_type"])
    value = Decimal(str(data["value"])).quantize(Decimal("0.01"))
    details: dict[str, Any] = {
        "title": data["title"],
        "code": shopify_code,
        "startsAt": utcnow().isoformat(),
        "endsAt": data["ends_at"].isoformat() if data.get("ends_at") else None,
        "customerSelection": {"all": True},
        "customerGets": _customer_gets(value_type, value),
        "appliesOncePerCustomer": True,
    }
    if kind == DiscountKind.UNIQUE:
        details["usageLimit"] = 1  # the seed code; each recipient's code is added at send time
    result = (admin_query(shop, CREATE_BASIC, {"basicCodeDiscount": details}) or {}).get(
        "discountCodeBasicCreate"
    ) or {}
    errors = result.get("userErrors") or []
    if any(error.get("code") == "TAKEN" for error in errors):
        raise Conflict("This code already exists in the shop.", code="discount_code_taken", details={"code": code})
    if errors:
        fields = {".".join(map(str, e.get("field") or ["discount"])): [str(e.get("message"))] for e in errors}
        raise ValidationFailed(details={"fields": fields})
    discount = Discount(
        shop_id=shop.id,
        title=data["title"],
        kind=kind,
        code=code,
        value_type=value_type,
        value=value,
        ends_at=data.get("ends_at"),
        shopify_id=(result.get("codeDiscountNode") or {}).get("id"),
    )
    db.session.add(discount)
    db.session.commit()
    log.info("discount_created", shop_id=shop.id, discount_id=discount.id, kind=kind.value)
    return discount


def get_discount(*, shop: Shop, discount_id: int) -> Discount:
    return owned(Discount, shop=shop, row_id=discount_id, what="discount")


def list_discounts(*, shop: Shop, limit: int, cursor: str | None) -> tuple[list[Discount], str | None]:
    return page(select(Discount).where(Discount.shop_id == shop.id), Discount.id, limit=limit, cursor=cursor)


def push_codes(*, shop: Shop, discount: Discount, codes: list[str]) -> None:
    """Add recipients' unique codes to the Shopify discount (raises ShopifyError on failure)."""
    for start in range(0, len(codes), CODES_PER_CALL):
        chunk = codes[start : start + CODES_PER_CALL]
        variables = {"discountId": discount.shopify_id, "codes": [{"code": code} for code in chunk]}
        result = (admin_query(shop, ADD_CODES, variables) or {}).get("discountRedeemCodeBulkAdd") or {}
        if result.get("userErrors"):
            raise ShopifyError(f"discountRedeemCodeBulkAdd refused {len(chunk)} codes", status=200)
