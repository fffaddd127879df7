"""Shopify's three signature schemes, one function each, plus request-timestamp freshness.

- OAuth / install query: `hmac` = hex HMAC-SHA256 of the sorted `key=value` pairs joined by `&`.
- Webhook: `X-Shopify-Hmac-Sha256` = base64 HMAC-SHA256 of the raw request body.
- App proxy: `signature` = hex HMAC-SHA256 of the sorted `key=value` pairs (multi-values joined
  by `,`, blank values kept) concatenated with no separator.

Every check takes the secrets to try (current first, then the previous one during a rotation),
compares with `hmac.compare_digest` on bytes, and answers False rather than raising on any
malformed input: the caller decides between 400 and 401. The `sign_*` helpers sign exactly as
Shopify does and exist for tests and benches.
"""

from __future__ import annotations

import base64
import hashlib
import hmac as _hmac
import json
import re
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from werkzeug.datastructures import MultiDict

QueryInput = Sequence[tuple[str, str]] | MultiDict[str, str]

_OAUTH_EXCLUDED = frozenset({"hmac", "signature"})
_ARRAY_SUFFIX = "[]"
_EPOCH_SECONDS = re.compile(r"[0-9]{1,12}")


# --- OAuth / install query --------------------------------------------------------------------


def oauth_query_is_valid(query: QueryInput, *, secrets: Sequence[str]) -> bool:
    """Verify the `hmac` parameter of an OAuth callback or install request (decoded values).

    A key that appears twice is refused unless it is array-style (`ids[]`): Shopify never signs
    repeated plain keys, and accepting them would leave which value we act on ambiguous.
    """
    pairs = _as_pairs(query)
    counts = Counter(key for key, _ in pairs)
    if any(count > 1 and not key.endswith(_ARRAY_SUFFIX) for key, count in counts.items()):
        return False
    provided = next((value for key, value in pairs if key == "hmac"), None)
    if not provided:
        return False
    grouped = _group_values([(key, value) for key, value in pairs if key not in _OAUTH_EXCLUDED])
    message = _oauth_message(grouped)
    return any(_matches(provided, _hex_hmac(secret, message)) for secret in _usable(secrets))


def oauth_sign_query(params: Mapping[str, str | list[str]], secret: str) -> str:
    """The `hmac` Shopify would put on a query with these (decoded) parameters."""
    grouped = {
        key: value if isinstance(value, list) else [value]
        for key, value in params.items()
        if key not in _OAUTH_EXCLUDED
    }
    return _hex_hmac(secret, _oauth_message(grouped))


def _oauth_message(grouped: dict[str, list[str]]) -> str:
    # Shopify's reference implementations: `ids[]=1&ids[]=2` is signed as `ids=["1", "2"]`, and
    # `%`, `&` and `=` are escaped so one signed query cannot be re-split into different params.
    encoded = []
    for key, values in grouped.items():
        if key.endswith(_ARRAY_SUFFIX):
            name, value = key[: -len(_ARRAY_SUFFIX)], json.dumps(values)
        else:
            name, value = key, values[0]
        name = name.replace("%", "%25").replace("=", "%3D")
        encoded.append(f"{name}={value.replace('%', '%25')}".replace("&", "%26"))
    return "&".join(sorted(encoded))


# --- Webhooks ---------------------------------------------------------------------------------


def webhook_hmac_is_valid(body: bytes, header_value: str | None, *, secrets: Sequence[str]) -> bool:
    """Verify `X-Shopify-Hmac-Sha256` against the raw body, before anything parses it."""
    if not header_value or not isinstance(body, bytes | bytearray):
        return False
    return any(_matches(header_value, sign_webhook(bytes(body), secret)) for secret in _usable(secrets))


def sign_webhook(body: bytes, secret: str) -> str:
    """The `X-Shopify-Hmac-Sha256` header Shopify would send with this body."""
    digest = _hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


# --- App proxy --------------------------------------------------------------------------------


def proxy_signature_is_valid(query_pairs: QueryInput, *, secrets: Sequence[str]) -> bool:
    """Verify the `signature` Shopify adds to app-proxy requests (decoded values, blanks kept)."""
    pairs = _as_pairs(query_pairs)
    signatures = [value for key, value in pairs if key == "signature"]
    if len(signatures) != 1 or not signatures[0]:
        return False
    message = _proxy_message(_group_values([(key, value) for key, value in pairs if key != "signature"]))
    return any(_matches(signatures[0], _hex_hmac(secret, message)) for secret in _usable(secrets))


def sign_proxy_query(params: Mapping[str, str | list[str]], secret: str) -> str:
    """The `signature` Shopify would add to a proxied request with these parameters."""
    grouped = {
        key: value if isinstance(value, list) else [value] for key, value in params.items() if key != "signature"
    }
    return _hex_hmac(secret, _proxy_message(grouped))


def _proxy_message(grouped: dict[str, list[str]]) -> str:
    # Shopify sorts the joined `key=value` strings, then concatenates them with no separator.
    return "".join(sorted(f"{key}={','.join(values)}" for key, values in grouped.items()))


# --- Timestamps -------------------------------------------------------------------------------


def timestamp_is_fresh(raw: str | None, *, max_age_seconds: int, now: float | None = None) -> bool:
    """Whether `raw` (integer epoch seconds) is within `max_age_seconds` of now, either way."""
    if not isinstance(raw, str) or not _EPOCH_SECONDS.fullmatch(raw):
        return False
    current = time.time() if now is None else now
    return abs(current - int(raw)) <= max_age_seconds


# --- Shared -----------------------------------------------------------------------------------


def _as_pairs(query: QueryInput) -> list[tuple[str, str]]:
    if isinstance(query, MultiDict):
        return list(query.items(multi=True))
    if isinstance(query, Mapping):
        return list(query.items())
    return [(str(key), str(value)) for key, value in query]


def _group_values(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Values per key in arrival order: Shopify signs multi-values in the order it sent them."""
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    return grouped


def _usable(secrets: Sequence[str]) -> list[str]:
    # A bare string is a Sequence[str] too: iterating it would try each character as a secret.
    if isinstance(secrets, str | bytes):
        raise TypeError("secrets must be a sequence of secrets, not a single string")
    return [secret for secret in secrets if secret]


def _hex_hmac(secret: str, message: str) -> str:
    return _hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def _matches(provided: str, expected: str) -> bool:
    return _hmac.compare_digest(provided.encode("utf-8"), expected.encode("ascii"))
