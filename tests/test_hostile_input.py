"""No input gives a 500. Every route in the URL map (enumerated, so a new route is covered the
day it lands) is called with valid credentials (session token, signed proxy query, webhook HMAC,
Mitto path secret, operator token, OAuth HMAC), so the request reaches its handler, and gets each
class of hostile input in every query parameter, body field and path segment it takes: NUL
characters (PostgreSQL refuses them), lone surrogates and invalid UTF-8, numbers past 64 bits,
non-finite numbers, dates at years 1 and 9999 with offsets that overflow, cursors that decode to
such numbers, and JSON nested 10,000 deep. The answer is a success or an error in the JSON
shape, never a 500; NUL and invalid UTF-8 in a URL are always a 400.
"""

from __future__ import annotations

import io
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, quote

import pytest
import werkzeug.urls  # noqa: F401  (registers the "werkzeug.url_quote" codec error handler)
from marshmallow import Schema
from sqlalchemy import select

from shopify_app.blueprints.api.spec import OPERATIONS
from shopify_app.extensions import db
from shopify_app.models import Shop, WebhookEvent, WebhookStatus
from shopify_app.security.hmac import oauth_sign_query, sign_proxy_query
from shopify_app.services.ops.pagination import encode_cursor

from .conftest import TEST_API_SECRET, settle_jobs
from .hostile_samples import (
    BODIES,
    BODY_VALUES,
    DEEP,
    DEEP_LIST,
    GENERIC_QUERY,
    INVALID_UTF8,
    NUL_OR_BAD_UTF8,
    PROXY_QUERY,
    QUERY_PARAMS,
    QUERY_VALUES,
    RAW_BODIES,
    b64,
    build_body,
    to_json,
)
from .payloads import CUSTOMER, ORDER
from .shopify_signing import bearer, webhook_request
from .test_isolation_matrix import seed_alpha

PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
OPERATOR_TOKEN = "operator-token-for-the-hostile-input-tests"
MITTO_SECRET = "mitto-path-secret-for-the-hostile-input-tests"
SHOP = "alpha.myshopify.com"
ALWAYS_400 = "always 400"


@pytest.fixture
def world(make_app, fake_shopify) -> Iterator[dict[str, Any]]:
    app = make_app(
        OPERATOR_TOKEN=OPERATOR_TOKEN,
        MITTO_WEBHOOK_SECRET=MITTO_SECRET,
        SHOPIFY_ADMIN_BASE_URL=fake_shopify.admin_base_url,
        SEND_RATE_PER_ACCOUNT=0,
        SEND_RATE_PER_SHOP=0,
    )
    with app.app_context():
        ids = seed_alpha(app)
        shop = db.session.scalar(select(Shop).where(Shop.domain == SHOP))
        shop.access_token = fake_shopify.issue_access_token(SHOP)
        db.session.commit()
        ids |= {"secret": MITTO_SECRET, "code": "abcdefgh", "job_id": "no-such-job", "filename": "x.js"}
        yield {"app": app, "client": app.test_client(), "ids": ids}


def routes(app) -> list[tuple[str, str, str]]:
    """(rule, method, endpoint) for every route; deleting routes last so the others find rows."""
    found = [
        (rule.rule, method, rule.endpoint)
        for rule in app.url_map.iter_rules()
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]
    return sorted(found, key=lambda item: (item[1] == "DELETE", item[0], item[1]))


def path_for(rule: str, ids: dict[str, Any]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(2)
        found = ids.get(name, 1 if match.group(1) == "int" else "x")
        if isinstance(found, dict):
            found = next((v for key, v in found.items() if key in rule), found["default"])
        return quote(str(found), safe="")

    return PARAM.sub(value, rule)


def query_names(endpoint: str) -> tuple[str, ...]:
    if endpoint.startswith("api."):
        schema = OPERATIONS.get(endpoint, {}).get("query")
        # A route with no query schema reads no query; the "x" parameter still checks the door.
        return tuple(f.data_key or n for n, f in schema().load_fields.items()) if schema else ()
    if endpoint.startswith("proxy."):
        return PROXY_QUERY
    return QUERY_PARAMS.get(endpoint, GENERIC_QUERY)


def signed_query(endpoint: str, pairs: list[tuple[str, bytes]]) -> str:
    """Percent-encode `pairs` and sign them the way the route's caller does (Shopify for the
    proxy and OAuth): over the values as the server decodes them, so the request gets through."""
    if endpoint.startswith("proxy."):
        base = {"shop": SHOP, "path_prefix": "/apps/sms", "timestamp": str(int(time.time()))}
        given = dict(pairs)
        pairs = [(k, v.encode()) for k, v in base.items() if k not in given] + pairs
    elif endpoint == "auth.callback":
        base = {"code": "c0de", "shop": SHOP, "state": "st4te", "timestamp": str(int(time.time()))}
        given = dict(pairs)
        pairs = [(k, v.encode()) for k, v in base.items() if k not in given] + pairs
    raw = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)
    if endpoint.startswith("proxy.") or endpoint == "auth.callback":
        decoded = dict(parse_qsl(raw, keep_blank_values=True, errors="werkzeug.url_quote"))
        if endpoint.startswith("proxy."):
            raw += "&signature=" + sign_proxy_query(decoded, TEST_API_SECRET)
        else:
            raw += "&hmac=" + oauth_sign_query(decoded, TEST_API_SECRET)
    return raw


def headers_for(endpoint: str) -> dict[str, str]:
    if endpoint.startswith("api."):
        return bearer(SHOP)
    if endpoint.startswith("ops."):
        return {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    return {"Accept": "application/json"}  # the storefront proxy answers JSON clients in JSON


def problem(response: Any, label: str, expect: str | None = None) -> str | None:
    """What is wrong with an answer to hostile input, or None."""
    status = response.status_code
    if expect == ALWAYS_400 and status != 400:
        return f"{label} -> {status} (expected 400)"
    if status == 500 or status > 503:
        return f"{label} -> {status}"
    if status >= 400:
        body = response.get_json(silent=True)
        if not (
            isinstance(body, dict) and set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"])
        ):
            return f"{label} -> {status} not in the error shape"
    return None


def call(client: Any, method: str, path: str, endpoint: str, **kwargs: Any) -> Any:
    headers = {**headers_for(endpoint), **kwargs.pop("headers", {})}
    response = client.open(path, method=method, headers=headers, **kwargs)
    response.get_data()  # a streamed answer (a CSV download) runs to its end, then closes
    response.close()
    return response


def test_every_query_parameter_of_every_route_survives_hostile_values(world):
    client, ids, wrong, sent = world["client"], world["ids"], [], 0
    for rule, method, endpoint in routes(world["app"]):
        path = path_for(rule, ids)
        for name in (*query_names(endpoint), "x"):
            for value in QUERY_VALUES if name != "x" else NUL_OR_BAD_UTF8:
                query = signed_query(endpoint, [(name, value)])
                response = call(client, method, f"{path}?{query}", endpoint)
                sent += 1
                expect = ALWAYS_400 if value in NUL_OR_BAD_UTF8 else None
                if found := problem(response, f"{method} {rule}?{name}={value[:40]!r}", expect):
                    wrong.append(found)
    assert not wrong, "\n".join(wrong)
    assert sent > 1000


def test_every_path_segment_of_every_route_survives_hostile_values(world):
    client, ids, wrong = world["client"], world["ids"], []
    for rule, method, endpoint in routes(world["app"]):
        for value in (b"a\x00b", INVALID_UTF8):
            # Percent-decoded bytes in PATH_INFO, as a WSGI server hands them over.
            raw = (path_for(rule, ids) + "/").replace("/", "/" + value.decode("latin-1"), 1).rstrip("/")
            in_parameters = PARAM.sub(value.decode("latin-1"), rule)
            for target in {raw, in_parameters} if in_parameters != rule else {raw}:
                response = call(client, method, "/", endpoint, environ_overrides={"PATH_INFO": target})
                if found := problem(response, f"{method} {rule} path={target!r}", ALWAYS_400):
                    wrong.append(found)
        for name in PARAM.findall(rule):
            if name[0] == "int":
                huge = PARAM.sub(
                    lambda m, n=name[1]: str(2**70) if m.group(2) == n else path_for(m.group(0), ids), rule
                )
                if found := problem(call(client, method, huge, endpoint), f"{method} {huge}"):
                    wrong.append(found)
    assert not wrong, "\n".join(wrong)


def body_routes(app: Any) -> list[tuple[str, str, str]]:
    return [(r, m, e) for r, m, e in routes(app) if m in ("POST", "PATCH", "PUT") and e != "webhooks.receive"]


def baseline(endpoint: str) -> dict[str, Any]:
    if endpoint in BODIES:
        return dict(BODIES[endpoint])
    schema = OPERATIONS.get(endpoint, {}).get("body")
    return build_body(schema()) if schema else {"name": "x", "text": "x", "id": 1}


def reads_json_body(endpoint: str) -> bool:
    return "body" in OPERATIONS.get(endpoint, {})


def test_every_body_field_of_every_route_survives_hostile_values(world):
    client, ids, wrong, sent = world["client"], world["ids"], [], 0
    for rule, method, endpoint in body_routes(world["app"]):
        path = path_for(rule, ids)
        if endpoint.startswith("proxy."):
            path += "?" + signed_query(endpoint, [])
        body = baseline(endpoint)
        for name in body:
            for value in BODY_VALUES:
                data = to_json({**body, name: value})
                response = call(client, method, path, endpoint, data=data, content_type="application/json")
                sent += 1
                label = f"{method} {rule} {name}={to_json(value)[:40]!r}"
                if found := problem(response, label):
                    wrong.append(found)
                elif reads_json_body(endpoint) and response.status_code < 400 and _always_refused(value):
                    # NUL, surrogates, bad UTF-8, deep nesting: never accepted where a body is parsed
                    wrong.append(f"{label} -> {response.status_code} (accepted)")
        for raw in RAW_BODIES:
            response = call(client, method, path, endpoint, data=raw, content_type="application/json")
            sent += 1
            if found := problem(response, f"{method} {rule} body={raw[:30]!r}"):
                wrong.append(found)
            elif reads_json_body(endpoint) and response.status_code != 400:
                wrong.append(f"{method} {rule} body={raw[:30]!r} -> {response.status_code} (expected 400)")
        for name in body:
            for value in NUL_OR_BAD_UTF8:
                form = "&".join(
                    f"{quote(k, safe='')}={quote(value if k == name else str(v).encode(), safe='')}"
                    for k, v in body.items()
                )
                response = call(
                    client, method, path, endpoint, data=form, content_type="application/x-www-form-urlencoded"
                )
                sent += 1
                if found := problem(response, f"{method} {rule} form {name}={value!r}", ALWAYS_400):
                    wrong.append(found)
    assert not wrong, "\n".join(wrong)
    assert sent > 1000


def _always_refused(value: Any) -> bool:
    if isinstance(value, int | float):
        return False
    text = to_json(value)
    return b"\\u0000" in text or b"\\udc80" in text or INVALID_UTF8 in text or value is DEEP_LIST


def test_uploads_with_nul_bytes_are_refused_or_reported_never_500(world):
    client, wrong = world["client"], []
    uploads = [
        (b"phone,consent,tags\n+14155550144,yes,a\x00b\n", "contacts.csv"),
        (b"phone,first_name\n+14155550145,A\x00nn\n", "contacts.csv"),
        ("phone\n+14155550146\n".encode("utf-16"), "utf16.csv"),
        (b"phone\n+14155550147\n", "con\x00tacts.csv"),
        (b"phone\n+14155550148\n", b"bad\xff\xfe.csv".decode("latin-1")),
    ]
    for content, filename in uploads:
        response = call(
            client,
            "POST",
            "/api/contacts/imports",
            "api.create_import",
            data={"consent_attestation": "true", "file": (io.BytesIO(content), filename), "note": "a\x00b"},
            content_type="multipart/form-data",
        )
        if found := problem(response, f"import {content[:30]!r} {filename!r}"):
            wrong.append(found)
    assert not wrong, "\n".join(wrong)


def mutate(value: Any, leaf: Any) -> Any:
    """`value` with every string (and number, for numeric leaves) replaced by `leaf`."""
    if isinstance(value, dict):
        return {k: mutate(v, leaf) for k, v in value.items()}
    if isinstance(value, list):
        return [mutate(v, leaf) for v in value]
    if isinstance(value, str) and callable(leaf):
        return leaf(value)
    if isinstance(value, int) and not isinstance(value, bool) and isinstance(leaf, int):
        return leaf
    return value


def test_signed_webhooks_with_hostile_payloads_are_recorded_and_fail_once_without_retrying(world):
    """A valid HMAC over a hostile body: intake answers without a 500; the processing job treats
    the payload as bad input (failed at once, not retried); a depth bomb is a 400."""
    app, client, wrong = world["app"], world["client"], []
    payloads = {
        "customers/create": CUSTOMER,
        "orders/create": ORDER,
        "shop/update": {"name": "Alpha", "email": "a@example.com", "iana_timezone": "UTC", "currency": "USD"},
        "customers/redact": {"shop_domain": SHOP, "customer": {"id": 1, "phone": "+14155550101"}},
    }
    hostile = {
        "nul": lambda s: s + "\x00",
        "surrogate": lambda s: s + "\udc80",
        "huge int": 2**70,
        "dates": lambda s: "9999-12-31T23:59:59-05:00" if "T" in s and s[:2] == "20" else s,
        "year one": lambda s: "0001-01-01T00:00:00+05:00" if "T" in s and s[:2] == "20" else s,
    }
    for topic, payload in payloads.items():
        for label, leaf in hostile.items():
            mutated = mutate(payload, leaf)
            if topic == "customers/redact":
                mutated["shop_domain"] = SHOP
            kwargs = webhook_request(topic, None, shop=SHOP, body=to_json(mutated))
            response = client.post("/webhooks/shopify", **kwargs)
            if found := problem(response, f"webhook {topic} {label}"):
                wrong.append(found)
    for raw in (b"[" * DEEP + b"]" * DEEP, b'{"a":' * DEEP + b"1" + b"}" * DEEP):
        response = client.post("/webhooks/shopify", **webhook_request("orders/create", None, shop=SHOP, body=raw))
        if response.status_code != 400:
            wrong.append(f"webhook depth bomb -> {response.status_code}")
    assert not wrong, "\n".join(wrong)
    settle_jobs(app)
    events = db.session.scalars(select(WebhookEvent)).all()
    assert len(events) == len(payloads) * len(hostile)
    for event in events:
        assert event.status in (WebhookStatus.PROCESSED, WebhookStatus.FAILED), event.topic
        assert event.attempts == 1, (event.topic, event.attempts, event.error)


def test_a_nul_in_a_json_body_is_a_400_naming_the_problem(world):
    response = call(
        world["client"],
        "POST",
        "/api/contacts",
        "api.create_contact",
        data=to_json({"phone": "+14155550123", "tags": ["a\x00"]}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_input"


def test_a_json_body_nested_too_deep_is_400_invalid_json(world):
    response = call(
        world["client"],
        "POST",
        "/api/segments/count",
        "api.count_filters",
        data=b'{"tags_any": ' + b"[" * 100 + b"]" * 100 + b"}",
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_json"


def test_a_cursor_past_the_bigint_range_is_400_invalid_cursor(world):
    for cursor in (encode_cursor(2**63), b64('{"id": Infinity}'), b64('{"id": 1.5}'), b64('{"id": true}')):
        response = call(world["client"], "GET", f"/api/campaigns?cursor={cursor}", "api.list_campaigns")
        assert response.status_code == 400, cursor
        assert response.get_json()["error"]["code"] == "invalid_cursor"


@pytest.mark.parametrize(
    "value", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "1899-12-31T00:00:00+00:00"]
)
def test_dates_outside_the_supported_years_are_422_naming_the_field(world, value):
    response = call(
        world["client"],
        "POST",
        "/api/campaigns",
        "api.create_campaign",
        json={"name": f"C {uuid.uuid4().hex[:6]}", "body": "Hi", "send_at": value},
    )
    assert response.status_code == 422
    assert "send_at" in response.get_json()["error"]["details"]["fields"]


def test_every_schema_checks_what_it_loaded():
    """Every schema derives from schemas.base.Schema (NUL, 64-bit integers, date range after
    loading), so a new schema cannot skip the check; nor can a body or query of the API."""
    import importlib
    import pkgutil

    import shopify_app.schemas as package
    from shopify_app.schemas.base import Schema as CheckedSchema

    unchecked = []
    for module_info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{module_info.name}")
        for name, value in vars(module).items():
            ours = isinstance(value, type) and issubclass(value, Schema) and value.__module__ == module.__name__
            if ours and not issubclass(value, CheckedSchema):
                unchecked.append(f"{module.__name__}.{name}")
    for endpoint, entry in OPERATIONS.items():
        for kind in ("body", "query"):
            if kind in entry and not issubclass(entry[kind], CheckedSchema):
                unchecked.append(f"{endpoint} {kind}")
    assert unchecked == []


def test_a_multipart_part_werkzeug_cannot_name_is_no_500(api):
    # Found by schemathesis: a part named "" beside odd names left a None key among the form's
    # texts, and the NUL/surrogate check raised TypeError (a 500) before the view ran.
    data = {
        "}\x9f£-ï\n\x9a": "{}",
        "": "g",
        "file": (io.BytesIO("\ufffd8".encode()), "file"),
        "consent_attestation": "yes",
    }
    response = api.post("/api/contacts/imports", data=data, content_type="multipart/form-data")
    assert response.status_code == 201
    assert response.get_json()["status"] == "failed"  # no phone column: told, not crashed
