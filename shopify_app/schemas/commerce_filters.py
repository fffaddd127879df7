"""The commerce filters of a segment (what contacts bought, spent, clicked and received), part of
the one segment filters schema (segments.py), and the product picker's and order backfill's
request and response shapes."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, ValidationError, fields, validate, validates_schema

from ..models.commerce_facts import MAX_CODE_LENGTH, normalise_code
from .base import Schema

MAX_ORDERS = 1_000_000
MAX_MONEY = 10**11  # what Numeric(14, 2) holds, rounded down
MAX_DAYS = 3650
MAX_LIST = 50

DAYS = validate.Range(min=1, max=MAX_DAYS)


def _money() -> fields.Decimal:
    """An amount in the shop's currency: two places, stored as a string (JSON has no decimals)."""
    return fields.Decimal(places=2, as_string=True, validate=validate.Range(min=0, max=MAX_MONEY))


class DiscountCode(fields.String):
    """A code as the contacts' codes are stored: trimmed and upper-cased."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        code = normalise_code(super()._deserialize(value, attr, data, **kwargs))
        if code is None:
            raise ValidationError("A discount code cannot be blank.")
        return code


# (minimum, maximum) pairs: the minimum may not exceed the maximum.
RANGES = (("orders_min", "orders_max"), ("total_spent_min", "total_spent_max"), ("aov_min", "aov_max"))


class CommerceFiltersSchema(Schema):
    """Mixed into SegmentFiltersSchema; every key optional, each one more condition (AND)."""

    orders_min = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_ORDERS))
    orders_max = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_ORDERS))
    total_spent_min = _money()
    total_spent_max = _money()
    # Average order value: total spent / number of orders; contacts with no order never match.
    aov_min = _money()
    aov_max = _money()
    last_order_within_days = fields.Integer(strict=True, validate=DAYS)
    last_order_older_than_days = fields.Integer(strict=True, validate=DAYS)
    products_any = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1, max=2**63 - 1)),
        validate=validate.Length(min=1, max=MAX_LIST),
    )
    discount_codes_any = fields.List(
        DiscountCode(validate=validate.Length(max=MAX_CODE_LENGTH)), validate=validate.Length(min=1, max=MAX_LIST)
    )
    clicked_within_days = fields.Integer(strict=True, validate=DAYS)
    received_within_days = fields.Integer(strict=True, validate=DAYS)

    @validates_schema
    def _commerce_ranges(self, data: dict[str, Any], **_: Any) -> None:
        for low, high in RANGES:
            if low in data and high in data and data[low] > data[high]:
                raise ValidationError(f"{low} must not exceed {high}.", low)
        within, older = data.get("last_order_within_days"), data.get("last_order_older_than_days")
        if within is not None and older is not None and older >= within:
            raise ValidationError(
                "last_order_older_than_days must be less than last_order_within_days.", "last_order_older_than_days"
            )


class ProductQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    q = fields.String(load_default="", validate=validate.Length(max=100))
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=50))


class SeenProductSchema(Schema):
    id = fields.Integer(attribute="product_id")
    title = fields.String()


class BackfillStartSchema(Schema):
    class Meta:
        unknown = RAISE

    # More than 60 days needs the read_all_orders scope (Shopify hides older orders without it).
    days = fields.Integer(strict=True, load_default=60, validate=validate.Range(min=1, max=MAX_DAYS))


class OrderBackfillSchema(Schema):
    id = fields.Integer()
    status = fields.String()
    created_from = fields.DateTime()
    created_to = fields.DateTime()
    pages = fields.Integer()
    orders_seen = fields.Integer()
    orders_added = fields.Integer()
    error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
