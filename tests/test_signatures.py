"""Shopify's signature schemes, shop domains and the `host` parameter, checked against the
vectors Shopify publishes and, beside each, the forged / tampered / stale case."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import parse_qsl

import pytest
from werkzeug.datastructures import MultiDict

from shopify_app import errors
from shopify_app.security.hmac import (
    oauth_query_is_valid,
    oauth_sign_query,
    proxy_signature_is_valid,
    sign_proxy_query,
    sign_webhook,
    timestamp_is_fresh,
    webhook_hmac_is_valid,
)
from shopify_app.security.shop_domain import host_matches_shop, normalise_shop_domain, shop_from_host

DOCS_SECRET = "hush"


def query(raw: str) -> list[tuple[str, str]]:
    """Decode a query string the way werkzeug does for `request.args`: blank values kept."""
    return parse_qsl(raw, keep_blank_values=True, strict_parsing=True)


def replace_value(pairs: list[tuple[str, str]], key: str, value: str) -> list[tuple[str, str]]:
    return [(k, value if k == key else v) for k, v in pairs]


def b64(text: str, *, padded: bool = True) -> str:
    encoded = base64.b64encode(text.encode()).decode()
    return encoded if padded else encoded.rstrip("=")


# --- Webhooks ---------------------------------------------------------------------------------

WEBHOOK_SECRET = "test_secret_key"
WEBHOOK_BODY = b'{"foo": "bar"}'
WEBHOOK_HMAC = "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g="


def test_sign_webhook_reproduces_the_published_vector() -> None:
    assert sign_webhook(WEBHOOK_BODY, WEBHOOK_SECRET) == WEBHOOK_HMAC


def test_webhook_with_published_hmac_is_valid() -> None:
    assert webhook_hmac_is_valid(WEBHOOK_BODY, WEBHOOK_HMAC, secrets=[WEBHOOK_SECRET])


def test_webhook_hmac_covers_the_raw_bytes_not_the_parsed_json() -> None:
    reserialised = b'{"foo":"bar"}'
    assert not webhook_hmac_is_valid(reserialised, WEBHOOK_HMAC, secrets=[WEBHOOK_SECRET])


def test_webhook_with_tampered_body_is_invalid() -> None:
    assert not webhook_hmac_is_valid(b'{"foo": "baz"}', WEBHOOK_HMAC, secrets=[WEBHOOK_SECRET])


def test_webhook_with_wrong_secret_is_invalid() -> None:
    assert not webhook_hmac_is_valid(WEBHOOK_BODY, WEBHOOK_HMAC, secrets=["another_secret"])


def test_webhook_signed_with_previous_secret_is_valid_during_rotation() -> None:
    assert webhook_hmac_is_valid(WEBHOOK_BODY, WEBHOOK_HMAC, secrets=["new_secret", WEBHOOK_SECRET])


@pytest.mark.parametrize("header", [None, "", " ", "not-base64", WEBHOOK_HMAC.lower(), WEBHOOK_HMAC + " ", "é"])
def test_webhook_with_missing_or_malformed_header_is_invalid(header: str | None) -> None:
    assert not webhook_hmac_is_valid(WEBHOOK_BODY, header, secrets=[WEBHOOK_SECRET])


def test_webhook_with_no_usable_secret_is_invalid() -> None:
    empty_secret_signature = sign_webhook(WEBHOOK_BODY, "")
    assert not webhook_hmac_is_valid(WEBHOOK_BODY, empty_secret_signature, secrets=[""])
    assert not webhook_hmac_is_valid(WEBHOOK_BODY, WEBHOOK_HMAC, secrets=[])


def test_a_single_string_passed_as_secrets_is_refused() -> None:
    # Iterating "hush" would try "h", "u", "s", "h" as secrets: trivially forgeable.
    with pytest.raises(TypeError):
        webhook_hmac_is_valid(WEBHOOK_BODY, WEBHOOK_HMAC, secrets=WEBHOOK_SECRET)
    with pytest.raises(TypeError):
        oauth_query_is_valid(OAUTH_DOCS_PAIRS, secrets=DOCS_SECRET)


# --- OAuth / install query --------------------------------------------------------------------

OAUTH_DOCS_QUERY = (
    "code=0907a61c0c8d55e99db179b68161bc00&shop=some-shop.myshopify.com&state=0.6784241404160823"
    "&timestamp=1337178173&hmac=700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf"
)
OAUTH_DOCS_PAIRS = query(OAUTH_DOCS_QUERY)


def test_oauth_query_from_shopify_docs_is_valid() -> None:
    assert oauth_query_is_valid(OAUTH_DOCS_PAIRS, secrets=[DOCS_SECRET])


def test_oauth_query_is_accepted_as_a_werkzeug_multidict() -> None:
    assert oauth_query_is_valid(MultiDict(OAUTH_DOCS_PAIRS), secrets=[DOCS_SECRET])


def test_oauth_sign_query_reproduces_the_published_hmac() -> None:
    params = dict(OAUTH_DOCS_PAIRS)
    assert oauth_sign_query(params, DOCS_SECRET) == params["hmac"]


@pytest.mark.parametrize("key", ["code", "shop", "state", "timestamp"])
def test_oauth_query_with_any_tampered_value_is_invalid(key: str) -> None:
    tampered = replace_value(OAUTH_DOCS_PAIRS, key, "1")
    assert not oauth_query_is_valid(tampered, secrets=[DOCS_SECRET])


def test_oauth_query_with_an_added_param_is_invalid() -> None:
    assert not oauth_query_is_valid([*OAUTH_DOCS_PAIRS, ("embedded", "1")], secrets=[DOCS_SECRET])


def test_oauth_query_with_wrong_secret_is_invalid() -> None:
    assert not oauth_query_is_valid(OAUTH_DOCS_PAIRS, secrets=["not-hush"])


def test_oauth_query_signed_with_previous_secret_is_valid_during_rotation() -> None:
    assert oauth_query_is_valid(OAUTH_DOCS_PAIRS, secrets=["new-secret", DOCS_SECRET])


def test_oauth_query_without_hmac_is_invalid() -> None:
    without = [(k, v) for k, v in OAUTH_DOCS_PAIRS if k != "hmac"]
    assert not oauth_query_is_valid(without, secrets=[DOCS_SECRET])
    assert not oauth_query_is_valid(replace_value(OAUTH_DOCS_PAIRS, "hmac", ""), secrets=[DOCS_SECRET])


def test_oauth_query_ignores_a_signature_param() -> None:
    assert oauth_query_is_valid([*OAUTH_DOCS_PAIRS, ("signature", "anything")], secrets=[DOCS_SECRET])


@pytest.mark.parametrize("repeated", [("shop", "evil-shop.myshopify.com"), ("shop", "some-shop.myshopify.com")])
def test_oauth_query_with_a_repeated_plain_key_is_invalid(repeated: tuple[str, str]) -> None:
    assert not oauth_query_is_valid([*OAUTH_DOCS_PAIRS, repeated], secrets=[DOCS_SECRET])


def test_oauth_query_with_two_hmac_params_is_invalid() -> None:
    assert not oauth_query_is_valid([*OAUTH_DOCS_PAIRS, ("hmac", "0" * 64)], secrets=[DOCS_SECRET])


def test_oauth_array_params_are_signed_as_shopify_signs_them() -> None:
    # Shopify signs `ids[]=1&ids[]=2` as `ids=["1", "2"]`.
    message = 'ids=["1", "2"]&shop=some-shop.myshopify.com'
    expected = hmac.new(DOCS_SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()
    assert oauth_sign_query({"ids[]": ["1", "2"], "shop": "some-shop.myshopify.com"}, DOCS_SECRET) == expected

    pairs = [("ids[]", "1"), ("ids[]", "2"), ("shop", "some-shop.myshopify.com"), ("hmac", expected)]
    assert oauth_query_is_valid(pairs, secrets=[DOCS_SECRET])
    reordered = [("ids[]", "2"), ("ids[]", "1"), *pairs[2:]]
    assert not oauth_query_is_valid(reordered, secrets=[DOCS_SECRET])


def test_oauth_signed_value_cannot_be_resplit_into_other_params() -> None:
    signed = oauth_sign_query({"state": "1&shop=evil-shop.myshopify.com"}, DOCS_SECRET)
    resplit = [("state", "1"), ("shop", "evil-shop.myshopify.com"), ("hmac", signed)]
    assert not oauth_query_is_valid(resplit, secrets=[DOCS_SECRET])
    whole = [("state", "1&shop=evil-shop.myshopify.com"), ("hmac", signed)]
    assert oauth_query_is_valid(whole, secrets=[DOCS_SECRET])


# --- App proxy --------------------------------------------------------------------------------

# shopify.dev "Authenticate app proxies" (current page, with logged_in_customer_id).
PROXY_DOCS_QUERY = (
    "extra=1&extra=2&shop=shop-name.myshopify.com&logged_in_customer_id=1&path_prefix=%2Fapps%2Fawesome_reviews"
    "&timestamp=1317327555&signature=4c68c8624d737112c91818c11017d24d334b524cb5c2b8ba08daa056f7395ddb"
)
# The same example as the docs printed it before logged_in_customer_id was added.
PROXY_LEGACY_DOCS_QUERY = (
    "extra=1&extra=2&shop=shop-name.myshopify.com&path_prefix=%2Fapps%2Fawesome_reviews"
    "&timestamp=1317327555&signature=a9718877bea71c2484f91608a7eaea1532bdf71f5c56825065fa4ccabe549ef3"
)
PROXY_DOCS_PAIRS = query(PROXY_DOCS_QUERY)


@pytest.mark.parametrize("raw", [PROXY_DOCS_QUERY, PROXY_LEGACY_DOCS_QUERY])
def test_proxy_queries_from_shopify_docs_are_valid(raw: str) -> None:
    assert proxy_signature_is_valid(query(raw), secrets=[DOCS_SECRET])


def test_proxy_query_is_accepted_as_a_werkzeug_multidict() -> None:
    assert proxy_signature_is_valid(MultiDict(PROXY_DOCS_PAIRS), secrets=[DOCS_SECRET])


def test_sign_proxy_query_reproduces_the_published_signature() -> None:
    params = {
        "extra": ["1", "2"],
        "shop": "shop-name.myshopify.com",
        "logged_in_customer_id": "1",
        "path_prefix": "/apps/awesome_reviews",
        "timestamp": "1317327555",
    }
    assert sign_proxy_query(params, DOCS_SECRET) == dict(PROXY_DOCS_PAIRS)["signature"]


@pytest.mark.parametrize("key", ["extra", "shop", "logged_in_customer_id", "path_prefix", "timestamp"])
def test_proxy_query_with_any_tampered_value_is_invalid(key: str) -> None:
    tampered = replace_value(PROXY_DOCS_PAIRS, key, "3")
    assert not proxy_signature_is_valid(tampered, secrets=[DOCS_SECRET])


def test_proxy_query_with_an_added_param_is_invalid() -> None:
    # The legacy signature does not cover logged_in_customer_id: adding it must break it.
    legacy_signature = dict(query(PROXY_LEGACY_DOCS_QUERY))["signature"]
    forged = replace_value(PROXY_DOCS_PAIRS, "signature", legacy_signature)
    assert not proxy_signature_is_valid(forged, secrets=[DOCS_SECRET])


def test_proxy_query_with_multi_values_reordered_is_invalid() -> None:
    reordered = [("extra", "2"), ("extra", "1"), *[(k, v) for k, v in PROXY_DOCS_PAIRS if k != "extra"]]
    assert not proxy_signature_is_valid(reordered, secrets=[DOCS_SECRET])


def test_proxy_query_keeps_blank_values_in_the_signature() -> None:
    params = {"shop": "shop-name.myshopify.com", "logged_in_customer_id": "", "timestamp": "1317327555"}
    signature = sign_proxy_query(params, DOCS_SECRET)
    pairs = query(f"shop=shop-name.myshopify.com&logged_in_customer_id=&timestamp=1317327555&signature={signature}")
    assert proxy_signature_is_valid(pairs, secrets=[DOCS_SECRET])

    dropped = [(k, v) for k, v in pairs if k != "logged_in_customer_id"]
    assert not proxy_signature_is_valid(dropped, secrets=[DOCS_SECRET])


def test_proxy_query_with_wrong_secret_is_invalid() -> None:
    assert not proxy_signature_is_valid(PROXY_DOCS_PAIRS, secrets=["not-hush"])


def test_proxy_query_signed_with_previous_secret_is_valid_during_rotation() -> None:
    assert proxy_signature_is_valid(PROXY_DOCS_PAIRS, secrets=["new-secret", DOCS_SECRET])


def test_proxy_query_without_signature_is_invalid() -> None:
    without = [(k, v) for k, v in PROXY_DOCS_PAIRS if k != "signature"]
    assert not proxy_signature_is_valid(without, secrets=[DOCS_SECRET])
    assert not proxy_signature_is_valid(replace_value(PROXY_DOCS_PAIRS, "signature", ""), secrets=[DOCS_SECRET])


def test_proxy_query_with_two_signatures_is_invalid() -> None:
    doubled = [*PROXY_DOCS_PAIRS, ("signature", "0" * 64)]
    assert not proxy_signature_is_valid(doubled, secrets=[DOCS_SECRET])


# --- Timestamps -------------------------------------------------------------------------------

NOW = 1_700_000_000.0
MAX_AGE = 90


@pytest.mark.parametrize(
    ("offset", "fresh"),
    [(0, True), (-MAX_AGE, True), (-MAX_AGE - 1, False), (MAX_AGE, True), (MAX_AGE + 1, False)],
)
def test_timestamp_is_fresh_up_to_max_age_either_side_of_now(offset: int, fresh: bool) -> None:
    raw = str(int(NOW) + offset)
    assert timestamp_is_fresh(raw, max_age_seconds=MAX_AGE, now=NOW) is fresh


def test_timestamp_freshness_uses_the_clock_by_default() -> None:
    assert timestamp_is_fresh(str(int(time.time())), max_age_seconds=MAX_AGE)
    assert not timestamp_is_fresh("1317327555", max_age_seconds=MAX_AGE)


@pytest.mark.parametrize(
    "raw",
    [None, "", "abc", "1700000000.0", "-1700000000", "+1700000000", " 1700000000", "1_700_000_000", "\u0661\u0667"],
)
def test_timestamp_that_is_not_integer_epoch_seconds_is_not_fresh(raw: str | None) -> None:
    assert not timestamp_is_fresh(raw, max_age_seconds=10**12, now=NOW)


# --- Shop domains -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("my-shop.myshopify.com", "my-shop.myshopify.com"),
        ("  MY-SHOP.MYSHOPIFY.COM  ", "my-shop.myshopify.com"),
        ("shop1.myshopify.com", "shop1.myshopify.com"),
        # Surrounding whitespace, a trailing newline included, is trimmed before the check.
        ("a.myshopify.com\n", "a.myshopify.com"),
    ],
)
def test_shop_domain_is_trimmed_and_lower_cased(raw: str, expected: str) -> None:
    assert normalise_shop_domain(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "evil.com",
        "myshopify.com",
        ".myshopify.com",
        "x.myshopify.com.evil.com",
        "X.MYSHOPIFY.COM/../",
        "https://a.myshopify.com",
        "a.myshopify.com:443",
        "user@a.myshopify.com",
        "-a.myshopify.com",
        "a..myshopify.com",
        "a.b.myshopify.com",
        "a_b.myshopify.com",
        "a.myshopify.com\nevil.com",
        "a.myshopify.com/admin",
        "ä.myshopify.com",
        "a.myshopifyXcom",
        "",
        "   ",
        None,
    ],
)
def test_shop_domain_that_is_not_a_bare_myshopify_domain_is_400(raw: str | None) -> None:
    with pytest.raises(errors.BadRequest) as excinfo:
        normalise_shop_domain(raw)
    assert excinfo.value.code == "invalid_shop"


def test_invalid_shop_error_does_not_echo_the_value() -> None:
    with pytest.raises(errors.BadRequest) as excinfo:
        normalise_shop_domain("<script>alert(1)</script>.myshopify.com")
    assert "<script>" not in excinfo.value.message
    assert not excinfo.value.details


# --- Host parameter ---------------------------------------------------------------------------


@pytest.mark.parametrize("padded", [True, False])
def test_host_of_unified_admin_names_the_store_handle(padded: bool) -> None:
    host = b64("admin.shopify.com/store/my-shop", padded=padded)
    assert shop_from_host(host) == "my-shop.myshopify.com"
    assert host_matches_shop(host, "my-shop.myshopify.com")


@pytest.mark.parametrize("padded", [True, False])
def test_legacy_host_names_the_myshopify_domain(padded: bool) -> None:
    host = b64("my-store.myshopify.com/admin", padded=padded)
    assert shop_from_host(host) == "my-store.myshopify.com"
    assert host_matches_shop(host, "my-store.myshopify.com")


def test_host_is_accepted_in_the_urlsafe_alphabet() -> None:
    host = base64.urlsafe_b64encode(b"admin.shopify.com/store/my-shop").decode().rstrip("=")
    assert shop_from_host(host) == "my-shop.myshopify.com"


def test_host_match_normalises_the_shop() -> None:
    assert host_matches_shop(b64("admin.shopify.com/store/my-shop"), "  MY-SHOP.myshopify.com ")


@pytest.mark.parametrize(
    "host",
    [b64("admin.shopify.com/store/other-shop"), b64("other-shop.myshopify.com/admin")],
)
def test_host_of_another_shop_does_not_match(host: str) -> None:
    assert not host_matches_shop(host, "my-shop.myshopify.com")


@pytest.mark.parametrize(
    "host",
    [
        "",
        "not base64!",
        "YWRtaW4",  # base64 of "admin"
        "Y",  # a length no base64 text has
        b64("evil.com/admin"),
        b64("admin.shopify.com/store/"),
        b64("admin.shopify.com/store/../evil"),
        b64("admin.shopify.com/store/my-shop/extra"),
        b64("evil.com/admin.shopify.com/store/my-shop"),
        b64("my-shop.myshopify.com.evil.com/admin"),
        b64("https://my-shop.myshopify.com/admin"),
        base64.b64encode(b"\xff\xfe/admin").decode(),
        "A" * 10_000,
    ],
)
def test_garbage_host_is_400(host: str) -> None:
    with pytest.raises(errors.BadRequest) as excinfo:
        shop_from_host(host)
    assert excinfo.value.code == "invalid_host"


def test_host_match_with_garbage_host_is_400_not_a_mismatch() -> None:
    with pytest.raises(errors.BadRequest) as excinfo:
        host_matches_shop("not base64!", "my-shop.myshopify.com")
    assert excinfo.value.code == "invalid_host"


def test_host_match_with_invalid_shop_is_400() -> None:
    with pytest.raises(errors.BadRequest) as excinfo:
        host_matches_shop(b64("admin.shopify.com/store/my-shop"), "my-shop.evil.com")
    assert excinfo.value.code == "invalid_shop"
