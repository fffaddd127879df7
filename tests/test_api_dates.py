"""One date format everywhere: every timestamp the API answers is ISO 8601 with its UTC offset,
and the OpenAPI document declares each one `format: date-time` (a marshmallow DateTime, never a
preformatted string). Checked on the document, and on real answers of every GET route of it."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

from .conftest import ApiClient
from .test_isolation_matrix import PARAM, api_routes, seed_alpha, value_for

CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")
ISO_8601 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})")
# A timestamp in any shape a JSON encoder produces: ISO (with T or a space), or RFC 1123 (Flask's
# default for a datetime, "Mon, 07 Dec 2026 10:00:00 GMT").
LOOKS_LIKE_A_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}|(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:"
)
# Files for a person (the customer's data export): ISO 8601 too, but not API resources.
DOCUMENTS = frozenset({"/api/privacy/requests/{request_id}/export"})
# GET routes whose answers hold timestamps once the shop has data; each must have had some checked.
DATED = frozenset(
    {
        "/api/audit",
        "/api/automations",
        "/api/billing",
        "/api/campaigns",
        "/api/contacts",
        "/api/contacts/{contact_id}/consent-events",
        "/api/contacts/exports/{transfer_id}",
        "/api/contacts/imports/{transfer_id}",
        "/api/discounts",
        "/api/flows",
        "/api/flows/{flow_id}",
        "/api/flows/{flow_id}/runs",
        "/api/flows/{flow_id}/runs/{run_id}",
        "/api/inbox",
        "/api/inbox/{contact_id}",
        "/api/privacy/requests",
        "/api/privacy/requests/{request_id}/export",
        "/api/segments",
        "/api/senders",
        "/api/shop",
        "/api/templates",
    }
)


def test_every_timestamp_property_in_the_document_is_declared_date_time(app):
    spec = app.test_client().get("/api/openapi.json").get_json()
    declared, wrong = 0, []
    for name, schema in spec["components"]["schemas"].items():
        for prop, definition in schema.get("properties", {}).items():
            if prop.endswith("_at") or definition.get("format") == "date-time":
                declared += 1
                if (definition.get("type"), definition.get("format")) != ("string", "date-time"):
                    wrong.append(f"{name}.{prop}: {definition}")
    assert wrong == []
    assert declared > 30


def resolve(schema: dict[str, Any] | None, spec: dict[str, Any]) -> dict[str, Any] | None:
    while schema is not None and ("$ref" in schema or "allOf" in schema):
        if "$ref" in schema:
            schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        else:
            schema = schema["allOf"][0]
    return schema


def strings(value: Any, schema: dict[str, Any] | None, spec: dict[str, Any], where: str) -> Iterator[tuple]:
    """(where, string, declared format) for every string in an answer, walked beside its schema."""
    schema = resolve(schema, spec)
    if isinstance(value, dict):
        properties = (schema or {}).get("properties", {})
        for key, item in value.items():
            yield from strings(item, properties.get(key), spec, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings(item, (schema or {}).get("items"), spec, f"{where}[{index}]")
    elif isinstance(value, str):
        yield where, value, (schema or {}).get("format")


def test_every_timestamp_in_every_get_answer_is_iso_8601_and_declared(make_app):
    app = make_app(SEND_RATE_PER_ACCOUNT=0, SEND_RATE_PER_SHOP=0)
    with app.app_context():
        ids = seed_alpha(app)  # a row behind every id and listing: ledger, inbox, exports...
        api = ApiClient(app.test_client(), "alpha.myshopify.com")
        spec = api.get("/api/openapi.json").get_json()
        checked: Counter[str] = Counter()
        wrong = []
        for rule, method in api_routes(app):
            if method != "GET" or rule == "/api/openapi.json":
                continue
            response = api.get(PARAM.sub(lambda m, rule=rule: str(value_for(ids, m.group(2), rule)), rule))
            assert response.status_code == 200, rule
            if response.mimetype != "application/json":
                continue
            path = CONVERTER.sub(r"{\1}", rule)
            content = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
            for where, value, declared in strings(response.get_json(), content.get("schema"), spec, path):
                if declared == "date-time" or LOOKS_LIKE_A_TIMESTAMP.match(value):
                    checked[path] += 1
                    if not ISO_8601.fullmatch(value):
                        wrong.append(f"{where} = {value!r} is not ISO 8601 with an offset")
                    elif declared != "date-time" and path not in DOCUMENTS:
                        wrong.append(f"{where} = {value!r} is not declared format: date-time")
        assert wrong == []
        assert DATED - set(checked) == set()
