"""What the web pixel (`extensions/sms-blossom-pixel/src/index.js`) posts for one product view.

The body is ours end to end, so it is strict: an unknown field (an email, a phone, a name a
future pixel version might add by mistake) is a 422, not silently kept or dropped. Product and
variant ids arrive as the pixel has them, digits or a `gid://shopify/Product/<id>`.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import RAISE, ValidationError, fields, validate, validates_schema

from .base import Schema

_ID = re.compile(r"^(?:gid://shopify/[A-Za-z]+/)?([0-9]{1,19})$")
MAX_PATH = 512


class ShopifyId(fields.Field):
    """A Shopify resource id as digits, or its gid; loaded as an int."""

    default_error_messages = {"invalid": "Not a Shopify id."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        match = _ID.match(str(value)) if isinstance(value, str | int) and not isinstance(value, bool) else None
        if match is None or int(match.group(1)) >= 2**63:
            raise self.make_error("invalid")
        return int(match.group(1))


class PixelEventSchema(Schema):
    class Meta:
        unknown = RAISE

    event_id = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.:-]{1,64}$"))
    occurred_at = fields.AwareDateTime(required=True)
    shop = fields.String(required=True, validate=validate.Length(min=1, max=255))
    product_id = ShopifyId(required=True)
    variant_id = ShopifyId(load_default=None, allow_none=True)
    product_title = fields.String(required=True, validate=validate.Length(min=1, max=255))
    url_path = fields.String(required=True, validate=validate.Length(min=1, max=2048))
    customer_id = ShopifyId(load_default=None, allow_none=True)
    token = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=512))

    @validates_schema
    def _path_is_a_path(self, data: dict[str, Any], **_: Any) -> None:
        if not str(data.get("url_path", "/")).startswith("/"):
            raise ValidationError("Must be a path starting with /.", "url_path")


def path_only(url_path: str) -> str:
    """The path without query or fragment, cut to what the column holds."""
    return re.split(r"[?#]", url_path, maxsplit=1)[0][:MAX_PATH] or "/"
