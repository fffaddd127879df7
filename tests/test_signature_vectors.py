"""Known-answer vectors for the three signature schemes: Shopify's published examples, messages
pinned by hand and signed here with `hmac.new` (not with the code under test), and the Python
ShopifyAPI library's own OAuth signer as a second opinion on the escaping rules."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from shopify import Session as ShopifyApiSession

from shopify_app.security.hmac import (
    oauth_query_is_valid,
    oauth_sign_query,
    proxy_signature_is_valid,
    sign_proxy_query,
    sign_webhook,
    webhook_hmac_is_valid,
)

SECRET = "hush"


def hex_hmac(message: str, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def shopify_api_hmac(params: dict[str, str]) -> str:
    """What ShopifyAPI (`shopify.Session.calculate_hmac`) computes for these decoded params."""
    ShopifyApiSession.secret = SECRET
    try:
        return ShopifyApiSession.calculate_hmac(params)
    finally:
        ShopifyApiSession.secret = None


# --- OAuth ------------------------------------------------------------------------------------

# shopify.dev, "Verify the installation request": the example query and its hmac (secret "hush").
DOCS_PARAMS = {
    "code": "0907a61c0c8d55e99db179b68161bc00",
    "shop": "some-shop.myshopify.com",
    "state": "0.6784241404160823",
    "timestamp": "1337178173",
}
DOCS_MESSAGE = (
    "code=0907a61c0c8d55e99db179b68161bc00&shop=some-shop.myshopify.com&state=0.6784241404160823&timestamp=1337178173"
)
DOCS_HMAC = "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf"


def test_the_docs_example_is_the_hmac_of_its_sorted_pairs() -> None:
    assert hex_hmac(DOCS_MESSAGE) == DOCS_HMAC == shopify_api_hmac(DOCS_PARAMS)
    assert oauth_sign_query(DOCS_PARAMS, SECRET) == DOCS_HMAC
    assert oauth_sign_query({**DOCS_PARAMS, "hmac": "ignored", "signature": "ignored"}, SECRET) == DOCS_HMAC
    assert oauth_query_is_valid([*DOCS_PARAMS.items(), ("hmac", DOCS_HMAC)], secrets=[SECRET])


# (decoded params, the exact message Shopify signs). Keys: % -> %25, = -> %3D, & -> %26;
# values: % -> %25, & -> %26 (a value's "=" stays: the key's first "=" is the separator).
ESCAPING_VECTORS = [
    ({"a": "1", "b": "2"}, "a=1&b=2"),
    ({"a": "1&b=2"}, "a=1%26b=2"),
    ({"a": "b=c"}, "a=b=c"),
    ({"a=b": "c"}, "a%3Db=c"),
    ({"a&b": "c"}, "a%26b=c"),
    ({"a%b": "c"}, "a%25b=c"),
    ({"a": "%26"}, "a=%2526"),
    ({"a": "100%"}, "a=100%25"),
    ({"a%3Db": "c"}, "a%253Db=c"),
    ({"k": "a&b&c", "j": "%=&"}, "j=%25=%26&k=a%26b%26c"),
    ({"b": "", "a": ""}, "a=&b="),
    ({"shop": "ü.myshopify.com"}, "shop=ü.myshopify.com"),  # UTF-8, not percent-encoded
    ({"B": "1", "a": "2", "_": "3"}, "B=1&_=3&a=2"),  # sorted by code point, upper case first
]


@pytest.mark.parametrize(("params", "message"), ESCAPING_VECTORS)
def test_oauth_messages_escape_delimiters_as_shopify_does(params: dict[str, str], message: str) -> None:
    expected = hex_hmac(message)
    assert shopify_api_hmac(params) == expected  # the reference library agrees with the vector
    assert oauth_sign_query(params, SECRET) == expected
    assert oauth_query_is_valid([*params.items(), ("hmac", expected)], secrets=[SECRET])


@pytest.mark.parametrize(
    ("signed", "forged"),
    [
        ({"a": "1", "b": "2"}, {"a": "1&b=2"}),  # a=1&b=2 must not verify one param "1&b=2"
        ({"a": "1&b=2"}, {"a": "1", "b": "2"}),
        ({"a": "b=c"}, {"a=b": "c"}),
        ({"a=b": "c"}, {"a": "b=c"}),
        ({"a": "&"}, {"a": "%26"}),
        ({"a": "%26"}, {"a": "&"}),
        ({"a%3Db": "c"}, {"a=b": "c"}),
        ({"a&b": "c"}, {"a": "", "b": "c"}),
    ],
)
def test_a_signature_does_not_verify_params_that_print_alike(signed: dict, forged: dict[str, str]) -> None:
    signature = oauth_sign_query(signed, SECRET)
    assert not oauth_query_is_valid([*forged.items(), ("hmac", signature)], secrets=[SECRET])


def test_array_params_are_signed_as_a_json_list_under_the_bare_name() -> None:
    message = 'ids=["1", "2"]&shop=some-shop.myshopify.com'
    pairs = [("ids[]", "1"), ("ids[]", "2"), ("shop", "some-shop.myshopify.com")]
    assert oauth_query_is_valid([*pairs, ("hmac", hex_hmac(message))], secrets=[SECRET])
    # json.dumps escapes the quotes of a value, then the usual escaping applies.
    message = 'ids=["a\\"b", "c%25d", "e%26f"]'
    pairs = [("ids[]", 'a"b'), ("ids[]", "c%d"), ("ids[]", "e&f")]
    assert oauth_query_is_valid([*pairs, ("hmac", hex_hmac(message))], secrets=[SECRET])
    assert oauth_sign_query({"ids[]": ['a"b', "c%d", "e&f"]}, SECRET) == hex_hmac(message)


def test_a_key_that_only_looks_like_an_array_is_signed_as_written() -> None:
    assert oauth_sign_query({"ids[": "1"}, SECRET) == hex_hmac("ids[=1")
    assert oauth_sign_query({"ids]": "1"}, SECRET) == hex_hmac("ids]=1")


def test_oauth_hmac_is_compared_exactly() -> None:
    pairs = list(DOCS_PARAMS.items())
    for provided in (DOCS_HMAC.upper(), DOCS_HMAC[:-1], DOCS_HMAC + "0", " " + DOCS_HMAC, "é" + DOCS_HMAC[1:]):
        assert not oauth_query_is_valid([*pairs, ("hmac", provided)], secrets=[SECRET])


def test_an_array_key_may_repeat_but_a_plain_key_may_not() -> None:
    pairs = [("ids[]", "1"), ("ids[]", "1")]
    assert oauth_query_is_valid([*pairs, ("hmac", hex_hmac('ids=["1", "1"]'))], secrets=[SECRET])
    pairs = [("id", "1"), ("id", "1")]
    assert not oauth_query_is_valid([*pairs, ("hmac", hex_hmac("id=1"))], secrets=[SECRET])
    assert not oauth_query_is_valid([*pairs, ("hmac", hex_hmac("id=1&id=1"))], secrets=[SECRET])


def test_query_pairs_of_non_strings_are_signed_as_their_text() -> None:
    assert oauth_query_is_valid([("a", 1), ("hmac", hex_hmac("a=1"))], secrets=[SECRET])  # type: ignore[list-item]
    assert oauth_query_is_valid({"a": "1", "hmac": hex_hmac("a=1")}, secrets=[SECRET])  # type: ignore[arg-type]


def test_every_secret_is_tried_and_empty_ones_are_skipped() -> None:
    pairs = [("a", "1"), ("hmac", hex_hmac("a=1", "second"))]
    assert oauth_query_is_valid(pairs, secrets=["first", "", "second"])
    assert not oauth_query_is_valid([("a", "1"), ("hmac", hex_hmac("a=1", ""))], secrets=["", ""])


# --- Webhooks ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"", b'{"foo": "bar"}', b"\xff\xfe not utf-8", "Ελένη 🌸".encode(), b"a" * 100_000],
)
def test_webhook_signature_is_base64_of_the_hmac_of_the_raw_bytes(body: bytes) -> None:
    expected = base64.b64encode(hmac.new(b"whsec", body, hashlib.sha256).digest()).decode()
    assert sign_webhook(body, "whsec") == expected
    assert webhook_hmac_is_valid(body, expected, secrets=["whsec"])
    assert webhook_hmac_is_valid(bytearray(body), expected, secrets=["whsec"])
    assert not webhook_hmac_is_valid(body + b" ", expected, secrets=["whsec"])


def test_webhook_secret_is_its_utf8_bytes() -> None:
    expected = base64.b64encode(hmac.new("sécret".encode(), b"{}", hashlib.sha256).digest()).decode()
    assert webhook_hmac_is_valid(b"{}", expected, secrets=["sécret"])


def test_a_webhook_body_that_is_not_bytes_is_invalid() -> None:
    signature = sign_webhook(b"{}", "whsec")
    assert not webhook_hmac_is_valid("{}", signature, secrets=["whsec"])  # type: ignore[arg-type]


# --- App proxy --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"shop": "a.myshopify.com", "timestamp": "1"}, "shop=a.myshopify.comtimestamp=1"),
        ({"extra": ["1", "2"], "a": "x"}, "a=xextra=1,2"),
        ({"b": "", "a": ""}, "a=b="),
        # No escaping: the proxy scheme concatenates the decoded values as they are.
        ({"q": "a&b=c%d"}, "q=a&b=c%d"),
        ({"path_prefix": "/apps/sms"}, "path_prefix=/apps/sms"),
    ],
)
def test_proxy_signature_is_the_hex_hmac_of_the_sorted_pairs_concatenated(params: dict, message: str) -> None:
    expected = hex_hmac(message)
    assert sign_proxy_query(params, SECRET) == expected
    assert sign_proxy_query({**params, "signature": "ignored"}, SECRET) == expected
    pairs = [(key, value) for key, values in params.items() for value in ([] if isinstance(values, str) else values)]
    pairs += [(key, value) for key, value in params.items() if isinstance(value, str)]
    assert proxy_signature_is_valid([*pairs, ("signature", expected)], secrets=[SECRET])


def test_proxy_signature_is_compared_exactly() -> None:
    signature = hex_hmac("a=1")
    for provided in (signature.upper(), signature[:-1], signature + "0"):
        assert not proxy_signature_is_valid([("a", "1"), ("signature", provided)], secrets=[SECRET])
    assert proxy_signature_is_valid([("a", "1"), ("signature", signature)], secrets=["", "other", SECRET])


# --- Inputs -----------------------------------------------------------------------------------


def test_a_werkzeug_multidict_keeps_every_value_of_a_repeated_key() -> None:
    from werkzeug.datastructures import MultiDict

    signature = hex_hmac('ids=["1", "2"]')
    assert oauth_query_is_valid(MultiDict([("ids[]", "1"), ("ids[]", "2"), ("hmac", signature)]), secrets=[SECRET])
    repeated = MultiDict([("id", "1"), ("id", "2"), ("hmac", hex_hmac("id=1"))])
    assert not oauth_query_is_valid(repeated, secrets=[SECRET])
    proxy = MultiDict([("extra", "1"), ("extra", "2"), ("signature", hex_hmac("extra=1,2"))])
    assert proxy_signature_is_valid(proxy, secrets=[SECRET])


@pytest.mark.parametrize("secrets", ["hush", b"hush"])
def test_one_secret_passed_bare_is_a_type_error_naming_the_mistake(secrets: object) -> None:
    with pytest.raises(TypeError, match=r"^secrets must be a sequence of secrets, not a single string$"):
        oauth_query_is_valid([("a", "1"), ("hmac", hex_hmac("a=1"))], secrets=secrets)  # type: ignore[arg-type]
