"""Hostile samples for tests/test_hostile_input.py: one list per class of input no route may
answer with a 500, and valid bodies for the routes, so the one hostile value is what a handler
meets."""

from __future__ import annotations

import base64
import json
from typing import Any

from marshmallow import Schema
from marshmallow import fields as mfields

from shopify_app.services.ops.pagination import encode_cursor


class Raw:
    """A JSON token json.dumps cannot write (1e400, NaN) or raw bytes, spliced into the text."""

    def __init__(self, text: bytes):
        self.text = text


def to_json(value: Any) -> bytes:
    raws: list[Raw] = []

    def default(obj: Any) -> str:
        raws.append(obj)
        return f"__raw{len(raws) - 1}__"

    text = json.dumps(value, default=default).encode()
    for index, raw in enumerate(raws):
        text = text.replace(f'"__raw{index}__"'.encode(), raw.text)
    return text


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


DEEP = 10_000
INVALID_UTF8 = b"\xff\xfe\xc3("
# Query values (bytes: sent percent-encoded, so invalid UTF-8 arrives as it would from a browser).
QUERY_VALUES: list[bytes] = [
    b"a\x00b",
    INVALID_UTF8,
    b"9" * 30,
    b"9223372036854775808",
    b"1e400",
    b"NaN",
    b"0001-01-01T00:00:00+05:00",
    b"9999-12-31T23:59:59-05:00",
    b"0001-01-01",
    b"9999-12-31",
    encode_cursor(10**30).encode(),
    b64('{"id": Infinity}').encode(),
    b64('{"id": true}').encode(),
    b64('{"id": ' + "[" * 140 + "]" * 140 + "}").encode(),
]
NUL_OR_BAD_UTF8 = (QUERY_VALUES[0], QUERY_VALUES[1])

DEEP_LIST = Raw(b"[" * DEEP + b"]" * DEEP)
# Values put in one body field at a time (the rest of the body valid).
BODY_VALUES: list[Any] = [
    "a\x00b",
    "\udc80",
    ["ok", "a\x00"],
    {"k\x00": "v"},
    {"k": ["x", {"y": "z\x00"}]},
    2**63,
    10**30,
    1e300,
    Raw(b"1e400"),
    Raw(b"NaN"),
    "99999999999999999999999",
    "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00",
    "0001-01-01",
    "9999-12-31",
    Raw(b'"' + INVALID_UTF8 + b'"'),
    DEEP_LIST,
]
# Whole bodies.
RAW_BODIES: list[bytes] = [
    b"[" * DEEP + b"]" * DEEP,
    b'{"a":' * DEEP + b"1" + b"}" * DEEP,
    b'{"\\u0000": 1}',
    b'{"name": "a\x00b"}',  # a raw NUL byte inside a JSON string: not JSON
    b'{"name": "' + INVALID_UTF8 + b'"}',
    INVALID_UTF8,
]

# Valid bodies, so that the one hostile field is what the handler meets. Endpoints missing here
# get a body built from their schema (build_body).
BODIES: dict[str, dict[str, Any]] = {
    "api.create_template": {"name": "T", "body": "Hi {{first_name}}"},
    "api.update_template": {"name": "T2", "body": "Hello"},
    "api.preview_template": {"body": "Hi {{first_name}}"},
    "api.create_campaign": {"name": "C", "body": "Hello"},
    "api.update_campaign": {"name": "C2"},
    "api.launch_campaign": {"send_at": None},
    "api.create_contact": {"phone": "+14155550177"},
    "api.update_contact": {"first_name": "Ann"},
    "api.add_tags": {"tags": ["vip"]},
    "api.create_segment": {"name": "S", "filters": {"tags_any": ["vip"]}},
    "api.update_segment": {"name": "S2"},
    "api.count_filters": {"tags_any": ["vip"]},
    "api.update_settings": {"sender_id": "Blossom"},
    "api.update_automation": {"enabled": False},
    "api.create_discount": {"title": "D", "kind": "shared", "code": "SAVE10", "value_type": "percentage", "value": 10},
    "api.subscribe": {"plan": "starter"},
    "api.buy_credit_pack": {"pack": "small"},
    "api.reply_to_contact": {"text": "Thanks!"},
    "api.request_customer_export": {"phone": "+14155550101"},
    "api.erase_customer": {"phone": "+14155550188"},
    "proxy.subscribe": {"phone": "+14155550166", "consent": "yes", "first_name": "Zed"},
    "proxy.back_in_stock": {"phone": "+14155550155", "consent": "yes", "variant_id": 42, "product_title": "Mug"},
    "mitto.delivery_reports": {"messageId": "m-1", "deliveryStatus": "delivered", "updatedAt": "2026-11-20T12:00:00Z"},
    "mitto.inbound_sms": {"from": "+14155550101", "to": "12345", "text": "HELLO", "messageId": "in-1"},
}
# Query parameters of the routes outside /api (the /api ones come from spec.OPERATIONS).
QUERY_PARAMS: dict[str, tuple[str, ...]] = {
    "auth.begin": ("shop", "hmac", "redirect_uri", "timestamp"),
    "auth.callback": ("code", "shop", "state", "timestamp"),
    "embedded.load": ("shop", "host", "id_token"),
    "ops.list_failed_jobs": ("queue",),
}
PROXY_QUERY = ("t", "shop", "timestamp", "logged_in_customer_id")
GENERIC_QUERY = ("cursor", "t")


def build_body(schema: Schema) -> dict[str, Any]:
    """A plausible body for a schema nobody wrote one for (a new route): one value per field."""
    samples = {
        mfields.Integer: 1,
        mfields.Boolean: True,
        mfields.Decimal: 1,
        mfields.Email: "a@example.com",
        mfields.DateTime: "2030-01-01T00:00:00+00:00",
        mfields.Date: "2030-01-01",
        mfields.List: [],
        mfields.Dict: {},
        mfields.Nested: {},
    }
    body = {}
    for name, field in schema.load_fields.items():
        body[field.data_key or name] = next((v for t, v in samples.items() if isinstance(field, t)), "x")
    return body
