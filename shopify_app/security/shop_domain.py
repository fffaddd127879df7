"""Shop domains and Shopify's `host` parameter.

A shop domain is only ever `<handle>.myshopify.com`: no scheme, path, port or userinfo, so
nothing built from it (API URLs, redirects, CSP frame-ancestors) can be pointed elsewhere.
Errors never echo the raw value: it is attacker-controlled and may end up in HTML or logs.
"""

from __future__ import annotations

import base64
import binascii
import re

from shopify_app import errors

# A handle is one DNS label: at most 63 characters (RFC 1035), so a domain fits its column.
_SHOP_HANDLE = r"[a-z0-9][a-z0-9-]{0,62}"
_SHOP_DOMAIN = re.compile(rf"{_SHOP_HANDLE}\.myshopify\.com")
# Today's embedded admin: admin.shopify.com/store/<handle>. Before 2023: <shop>.myshopify.com/admin.
_UNIFIED_ADMIN_HOST = re.compile(rf"admin\.shopify\.com/store/({_SHOP_HANDLE})")
_LEGACY_ADMIN_HOST = re.compile(rf"({_SHOP_HANDLE}\.myshopify\.com)/admin")
# Either base64 alphabet (Shopify uses the standard one and drops the padding).
_BASE64_TEXT = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")
# Real host values are well under 100 characters; refuse to decode anything large.
_MAX_HOST_PARAM_LENGTH = 512


def normalise_shop_domain(raw: str | None) -> str:
    """Trim and lower-case `raw`, then accept only `<handle>.myshopify.com`."""
    if not isinstance(raw, str):
        raise _invalid_shop()
    candidate = raw.strip().lower()
    if not _SHOP_DOMAIN.fullmatch(candidate):
        raise _invalid_shop()
    return candidate


def shop_from_host(host_param: str) -> str:
    """The shop domain named by Shopify's base64 `host` query parameter."""
    decoded = _decode_host(host_param).lower()
    if match := _UNIFIED_ADMIN_HOST.fullmatch(decoded):
        return f"{match.group(1)}.myshopify.com"
    if match := _LEGACY_ADMIN_HOST.fullmatch(decoded):
        return match.group(1)
    raise _invalid_host()


def host_matches_shop(host_param: str, shop: str) -> bool:
    """Whether `host` names `shop`. A malformed host or shop is a 400, not a mismatch."""
    return shop_from_host(host_param) == normalise_shop_domain(shop)


def _decode_host(host_param: str) -> str:
    if not isinstance(host_param, str) or len(host_param) > _MAX_HOST_PARAM_LENGTH:
        raise _invalid_host()
    text = host_param.strip()
    if not _BASE64_TEXT.fullmatch(text):
        raise _invalid_host()
    unpadded = text.rstrip("=").translate(str.maketrans("-_", "+/"))
    try:
        raw = base64.b64decode(unpadded + "=" * (-len(unpadded) % 4), validate=True)
        return raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _invalid_host() from None


def _invalid_shop() -> errors.BadRequest:
    return errors.BadRequest("The shop must be a <name>.myshopify.com domain.", code="invalid_shop")


def _invalid_host() -> errors.BadRequest:
    return errors.BadRequest("The host parameter is not a valid Shopify admin host.", code="invalid_host")
