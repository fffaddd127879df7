"""Shop domains and the `host` parameter at their length limits and character edges (the
everyday cases are in test_signatures.py)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from shopify_app import errors
from shopify_app.security.shop_domain import host_matches_shop, normalise_shop_domain, shop_from_host

LONGEST_HANDLE = "a" * 62 + "9"  # a DNS label holds at most 63 characters


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@contextmanager
def refused(code: str) -> Iterator[None]:
    with pytest.raises(errors.BadRequest) as caught:
        yield
    assert caught.value.code == code
    assert caught.value.status == 400


def test_a_handle_of_63_characters_is_a_shop_and_64_is_not() -> None:
    assert normalise_shop_domain(f"{LONGEST_HANDLE}.myshopify.com") == f"{LONGEST_HANDLE}.myshopify.com"
    with refused("invalid_shop"):
        normalise_shop_domain(f"a{LONGEST_HANDLE}.myshopify.com")


@pytest.mark.parametrize("handle", ["a", "0", "a-", "a--b", "9-9"])
def test_short_and_dashed_handles_are_shops(handle: str) -> None:
    assert normalise_shop_domain(f"{handle}.myshopify.com") == f"{handle}.myshopify.com"


@pytest.mark.parametrize(
    "raw", ["-.myshopify.com", "a.myshopify.co", "a.myshopify.comm", "amyshopify.com", "a.myshopify-com"]
)
def test_a_domain_off_by_one_character_is_not_a_shop(raw: str) -> None:
    with refused("invalid_shop"):
        normalise_shop_domain(raw)


def test_unified_admin_host_with_the_longest_handle_names_its_shop_and_one_more_is_400() -> None:
    assert shop_from_host(b64(f"admin.shopify.com/store/{LONGEST_HANDLE}")) == f"{LONGEST_HANDLE}.myshopify.com"
    with refused("invalid_host"):
        shop_from_host(b64(f"admin.shopify.com/store/a{LONGEST_HANDLE}"))


def test_legacy_host_with_the_longest_handle_names_its_shop_and_one_more_is_400() -> None:
    assert shop_from_host(b64(f"{LONGEST_HANDLE}.myshopify.com/admin")) == f"{LONGEST_HANDLE}.myshopify.com"
    with refused("invalid_host"):
        shop_from_host(b64(f"a{LONGEST_HANDLE}.myshopify.com/admin"))


def test_a_host_parameter_of_512_characters_is_read_and_513_is_refused_unread() -> None:
    host = b64("admin.shopify.com/store/my-shop")
    at_limit = host + " " * (512 - len(host))  # surrounding spaces are trimmed after the length check
    assert len(at_limit) == 512
    assert shop_from_host(at_limit) == "my-shop.myshopify.com"
    with refused("invalid_host"):
        shop_from_host(at_limit + " ")


def test_host_letters_are_compared_lower_cased() -> None:
    assert shop_from_host(b64("ADMIN.SHOPIFY.COM/STORE/My-Shop")) == "my-shop.myshopify.com"
    assert shop_from_host(b64("My-Shop.MyShopify.com/Admin")) == "my-shop.myshopify.com"
    assert b64("admin.shopify.com/store/abW").endswith("X")  # padding is trimmed, letters are not
    assert shop_from_host(b64("admin.shopify.com/store/abW")) == "abw.myshopify.com"


@pytest.mark.parametrize("padding", ["", "=", "=="])
def test_host_padding_is_optional_but_never_more_than_two(padding: str) -> None:
    host = b64("admin.shopify.com/store/ab").rstrip("=")
    assert shop_from_host(host + padding) == "ab.myshopify.com"
    with refused("invalid_host"):
        shop_from_host(host + "===")


@pytest.mark.parametrize("padding", ["", "=", "=="])
def test_host_padding_is_ignored_even_where_none_was_due(padding: str) -> None:
    host = b64("admin.shopify.com/store/aaa")
    assert "=" not in host
    assert shop_from_host(host + padding) == "aaa.myshopify.com"


@pytest.mark.parametrize("host", [None, 42, b"YWRtaW4="])
def test_a_host_that_is_not_text_is_400(host: object) -> None:
    with refused("invalid_host"):
        shop_from_host(host)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "host",
    [
        b64("admin.shopify.com/store/my-shop") + "!",
        "=" + b64("admin.shopify.com/store/my-shop"),
        b64("admin.shopify.com/store/my-shop")[:10] + " " + b64("admin.shopify.com/store/my-shop")[10:],
        b64("admin.shopify.com/store/my-shop\n"),
        b64("admin.shopify.com/store/my_shop"),
        b64("admin-shopify.com/store/my-shop"),
        b64("my-shop.myshopify.com/admin/"),
        b64("my-shop.myshopify.com/adminx"),
    ],
)
def test_a_host_with_one_stray_character_is_400(host: str) -> None:
    with refused("invalid_host"):
        shop_from_host(host)


def test_host_and_shop_errors_say_what_is_wrong_without_echoing_it() -> None:
    with pytest.raises(errors.BadRequest) as caught:
        shop_from_host(b64("<b>evil</b>"))
    assert caught.value.message == "The host parameter is not a valid Shopify admin host."
    with pytest.raises(errors.BadRequest) as caught:
        normalise_shop_domain("<b>evil</b>")
    assert caught.value.message == "The shop must be a <name>.myshopify.com domain."


def test_host_matches_only_its_own_shop() -> None:
    host = b64("admin.shopify.com/store/my-shop")
    assert host_matches_shop(host, "my-shop.myshopify.com") is True
    assert host_matches_shop(host, "my-shop2.myshopify.com") is False
