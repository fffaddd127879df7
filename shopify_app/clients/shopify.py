"""HTTP client for Shopify: the OAuth token endpoint and the Admin GraphQL API.

Only HTTP lives here (no Flask, no database, no business rules): every call has a connect and
a read timeout, and every failure leaves as one of the typed `ShopifyError`s below. Messages
and logs name the shop, path, status and attempt, never a token, code, or the client secret.

Retry policy (both clients, up to `max_attempts` requests in all, waits through the injected
`sleep`):

- 429: wait `Retry-After` seconds (1 s when absent); then `ShopifyRateLimited`.
- GraphQL THROTTLED (a 200 with `errors[].extensions.code == "THROTTLED"`): wait until the
  bucket refills, `(requestedQueryCost - currentlyAvailable) / restoreRate`; then
  `ShopifyRateLimited`.
- 502/503/504 and failures to connect: exponential backoff with jitter; then
  `ShopifyUnavailable`.
- Only idempotent requests (GraphQL queries) also retry a 500, a dropped connection and, once,
  a read timeout. The OAuth endpoint and GraphQL mutations do not: Shopify may already have
  consumed the code, rotated the refresh token or applied the mutation.
- A wait longer than `max_retry_wait` is not slept: `ShopifyRateLimited(retry_after)` is raised
  at once so a job can be rescheduled instead of holding a worker.

Redirects are never followed: requests would resend `X-Shopify-Access-Token` to the new host.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlencode

import requests
import structlog

from ._http import json_object, never_connected, retry_after_seconds

log = structlog.get_logger(__name__)

T = TypeVar("T")

TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105 (a URN, not a secret)
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"  # noqa: S105
OFFLINE_ACCESS_TOKEN_TYPE = "urn:shopify:params:oauth:token-type:offline-access-token"  # noqa: S105
SHOP_DETAILS_QUERY = (
    "query ShopDetails { shop { name email currencyCode ianaTimezone "
    "billingAddress { countryCodeV2 } plan { displayName } } }"
)
_RETRYABLE_GATEWAY_STATUSES = frozenset({502, 503, 504})
_MUTATION = re.compile(r"\s*(?:#[^\n]*\s*)*mutation\b")


class ShopifyError(Exception):
    """Base of every error raised here; `status` is the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


class ShopifyUnauthorized(ShopifyError):
    """401/403 from the Admin API: the access token was revoked, expired or is invalid."""


class ShopifyRejected(ShopifyError):
    """A 4xx that retrying cannot fix; `error` is Shopify's "error" field (e.g. invalid_grant)."""

    def __init__(self, message: str, *, status: int, error: str | None = None):
        super().__init__(message, status=status)
        self.status: int = status
        self.error = error


class ShopifyRateLimited(ShopifyError):
    """429 or THROTTLED after the retries; `retry_after` is the last wait Shopify asked for."""

    def __init__(self, message: str, *, retry_after: float, status: int | None = None):
        super().__init__(message, status=status)
        self.retry_after = retry_after


class ShopifyUnavailable(ShopifyError):
    """5xx, or no connection, after the retries the request allows."""


class ShopifyTimeout(ShopifyError):
    """Shopify accepted the connection but did not answer within the read timeout."""


class ShopifyGraphQLError(ShopifyError):
    """A 200 whose top-level `errors` are not THROTTLED. Mutation `userErrors` are data, not this."""

    def __init__(self, message: str, *, errors: list[dict[str, Any]]):
        super().__init__(message, status=200)
        self.errors = errors


@dataclass(frozen=True)
class OfflineToken:
    access_token: str = field(repr=False)
    scope: str
    expires_in: int | None  # seconds; None for a non-expiring token
    refresh_token: str | None = field(repr=False)
    refresh_token_expires_in: int | None


@dataclass(frozen=True)
class ShopDetails:
    name: str
    email: str | None
    currency: str | None
    timezone: str | None  # IANA name, from ianaTimezone
    country_code: str | None  # billingAddress.countryCodeV2
    plan: str | None  # plan.displayName


@dataclass(frozen=True)
class ShopifySettings:
    api_key: str
    api_secret: str = field(repr=False)
    api_version: str
    admin_base_url: str  # contains "{shop}": "https://{shop}", or a loopback fake's URL
    connect_timeout: float = 3.05
    read_timeout: float = 10.0
    max_attempts: int = 4  # requests in all, for 429 / 5xx / THROTTLED / connection failures
    max_retry_wait: float = 30.0  # a longer wait is not slept: ShopifyRateLimited is raised
    backoff_base: float = 0.5  # first 5xx/connection wait is 0.5-1x this, doubling per attempt

    def __post_init__(self) -> None:
        if "{shop}" not in self.admin_base_url:
            raise ValueError("SHOPIFY_ADMIN_BASE_URL must contain the {shop} placeholder")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ShopifySettings:
        return cls(
            api_key=config["SHOPIFY_API_KEY"],
            api_secret=config["SHOPIFY_API_SECRET"],
            api_version=config["SHOPIFY_API_VERSION"],
            admin_base_url=config.get("SHOPIFY_ADMIN_BASE_URL") or "https://{shop}",
        )


class _Retry(Exception):
    """One attempt failed in a way a later attempt may not: wait, then try again or raise `final`."""

    def __init__(self, final: ShopifyError, *, wait: float | None = None, once: bool = False):
        super().__init__(type(final).__name__)
        self.final = final
        self.wait = wait  # None: exponential backoff with jitter
        self.once = once  # retried at most once per call (read timeouts)


class _ShopifyHTTP:
    """The transport both clients share: one POST per attempt, the retry loop, the status map."""

    def __init__(
        self,
        settings: ShopifySettings,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.settings = settings
        self._session = session or requests.Session()
        self._sleep = sleep

    def admin_url(self, shop: str, path: str) -> str:
        return self.settings.admin_base_url.format(shop=shop) + path

    def _with_retries(self, attempt: Callable[[], T], *, shop: str, path: str) -> T:
        settings = self.settings
        retried_once: set[str] = set()
        for number in range(1, settings.max_attempts + 1):
            try:
                return attempt()
            except _Retry as retry:
                final, reason = retry.final, type(retry.final).__name__
                wait = self._backoff_wait(number) if retry.wait is None else retry.wait
                fields = {"shop": shop, "path": path, "status": final.status, "reason": reason, "attempt": number}
                last = number == settings.max_attempts or (retry.once and reason in retried_once)
                if last or wait > settings.max_retry_wait:
                    log.warning("shopify_gave_up", **fields)
                    raise final from retry.__cause__
                if retry.once:
                    retried_once.add(reason)
                log.info("shopify_retry", wait=round(wait, 3), **fields)
                self._sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _send(self, shop: str, path: str, *, idempotent: bool, **kwargs: Any) -> requests.Response:
        """One POST. Transport failures, 429 and 5xx leave as typed errors, wrapped in `_Retry`
        when another attempt is safe; any other response is returned."""
        settings = self.settings
        try:
            response = self._session.post(
                self.admin_url(shop, path),
                timeout=(settings.connect_timeout, settings.read_timeout),
                allow_redirects=False,
                **kwargs,
            )
        except requests.ReadTimeout as exc:
            timeout = ShopifyTimeout(f"Shopify did not answer {path} for {shop} within {settings.read_timeout}s")
            raise (_Retry(timeout, once=True) if idempotent else timeout) from exc
        except requests.ConnectionError as exc:
            unavailable = ShopifyUnavailable(f"Could not reach Shopify at {path} for {shop}")
            raise (_Retry(unavailable) if idempotent or never_connected(exc) else unavailable) from exc
        except requests.RequestException as exc:
            raise ShopifyError(f"Request to Shopify {path} for {shop} failed: {type(exc).__name__}") from exc
        status = response.status_code
        if status == 429:
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            raise _Retry(
                ShopifyRateLimited(f"Shopify rate-limited {path} for {shop}", retry_after=wait, status=429), wait=wait
            )
        if status >= 500:
            unavailable = ShopifyUnavailable(f"Shopify answered HTTP {status} to {path} for {shop}", status=status)
            retryable = status in _RETRYABLE_GATEWAY_STATUSES or (status == 500 and idempotent)
            raise _Retry(unavailable) if retryable else unavailable
        return response

    def _backoff_wait(self, attempt: int) -> float:
        delay = min(self.settings.backoff_base * 2 ** (attempt - 1), self.settings.max_retry_wait)
        return delay * (0.5 + random.random() / 2)  # noqa: S311 (jitter, not cryptography)


class ShopifyOAuth(_ShopifyHTTP):
    """Obtains and refreshes offline access tokens at `/admin/oauth/access_token`."""

    TOKEN_PATH = "/admin/oauth/access_token"  # noqa: S105 (a path)

    def authorize_url(self, shop: str, *, scopes: str, redirect_uri: str, state: str) -> str:
        query = urlencode(
            {"client_id": self.settings.api_key, "scope": scopes, "redirect_uri": redirect_uri, "state": state}
        )
        return self.admin_url(shop, f"/admin/oauth/authorize?{query}")

    def exchange_code(self, shop: str, code: str) -> OfflineToken:
        return self._token_request(shop, {"code": code, "expiring": "1"})

    def exchange_session_token(self, shop: str, session_token: str) -> OfflineToken:
        return self._token_request(
            shop,
            {
                "grant_type": TOKEN_EXCHANGE_GRANT,
                "subject_token": session_token,
                "subject_token_type": ID_TOKEN_TYPE,
                "requested_token_type": OFFLINE_ACCESS_TOKEN_TYPE,
                "expiring": "1",
            },
        )

    def refresh(self, shop: str, refresh_token: str) -> OfflineToken:
        return self._token_request(shop, {"grant_type": "refresh_token", "refresh_token": refresh_token})

    def _token_request(self, shop: str, grant: dict[str, str]) -> OfflineToken:
        path = self.TOKEN_PATH
        payload = {"client_id": self.settings.api_key, "client_secret": self.settings.api_secret, **grant}

        def attempt() -> OfflineToken:
            response = self._send(shop, path, idempotent=False, json=payload, headers={"Accept": "application/json"})
            if response.status_code != 200:
                _raise_rejected(response, f"Shopify rejected the token request for {shop}")
            return _offline_token(_json_object(response, shop=shop, path=path))

        return self._with_retries(attempt, shop=shop, path=path)


class AdminGraphQL(_ShopifyHTTP):
    """The Admin GraphQL API of one shop, with its offline access token."""

    def __init__(
        self,
        settings: ShopifySettings,
        shop: str,
        access_token: str,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        super().__init__(settings, session=session, sleep=sleep)
        self.shop = shop
        self._access_token = access_token

    def __repr__(self) -> str:
        return f"AdminGraphQL(shop={self.shop!r})"

    @property
    def path(self) -> str:
        return f"/admin/api/{self.settings.api_version}/graphql.json"

    def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run one document and return its `data`. Queries are retried; see the module docstring."""
        shop, path = self.shop, self.path
        idempotent = not _MUTATION.match(query)
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = variables
        headers = {"Accept": "application/json", "X-Shopify-Access-Token": self._access_token}

        def attempt() -> dict[str, Any]:
            response = self._send(shop, path, idempotent=idempotent, json=payload, headers=headers)
            if response.status_code in (401, 403):
                raise ShopifyUnauthorized(
                    f"Shopify refused the access token of {shop} (HTTP {response.status_code})",
                    status=response.status_code,
                )
            if response.status_code != 200:
                _raise_rejected(response, f"Shopify rejected the GraphQL request for {shop}")
            body = _json_object(response, shop=shop, path=path)
            errors = _graphql_errors(body.get("errors"))
            if any((error.get("extensions") or {}).get("code") == "THROTTLED" for error in errors):
                wait = _throttle_wait(body)
                raise _Retry(ShopifyRateLimited(f"Shopify throttled {shop}", retry_after=wait, status=200), wait=wait)
            if errors:
                # Codes only: Shopify's messages can echo variables (customer phone numbers, emails).
                codes = sorted({str((error.get("extensions") or {}).get("code", "unknown")) for error in errors})
                message = f"{len(errors)} GraphQL error(s) for {shop}: {', '.join(codes)}"
                raise ShopifyGraphQLError(message, errors=errors)
            data = body.get("data")
            if not isinstance(data, dict):
                raise ShopifyError(f"GraphQL response for {shop} has no data", status=200)
            return data

        return self._with_retries(attempt, shop=shop, path=path)

    def shop_details(self) -> ShopDetails:
        shop = self.execute(SHOP_DETAILS_QUERY).get("shop")
        if not isinstance(shop, dict):
            raise ShopifyError(f"GraphQL response for {self.shop} has no shop", status=200)
        return ShopDetails(
            name=shop.get("name") or "",
            email=shop.get("email"),
            currency=shop.get("currencyCode"),
            timezone=shop.get("ianaTimezone"),
            country_code=(shop.get("billingAddress") or {}).get("countryCodeV2"),
            plan=(shop.get("plan") or {}).get("displayName"),
        )


def _throttle_wait(body: dict[str, Any]) -> float:
    """Seconds until the leaky bucket holds the requested cost again."""
    cost = (body.get("extensions") or {}).get("cost") or {}
    throttle = cost.get("throttleStatus") or {}
    try:
        requested = float(cost.get("requestedQueryCost", throttle.get("requestedQueryCost")))
        available = float(throttle["currentlyAvailable"])
        restore_rate = float(throttle["restoreRate"])
    except (KeyError, TypeError, ValueError):
        return 1.0
    if restore_rate <= 0:
        return 1.0
    return max(0.0, (requested - available) / restore_rate)


def _json_object(response: requests.Response, *, shop: str, path: str) -> dict[str, Any]:
    body = json_object(response)
    if body is None:
        raise ShopifyError(f"Shopify answered {path} for {shop} with a non-JSON body", status=response.status_code)
    return body


def _raise_rejected(response: requests.Response, message: str) -> NoReturn:
    status = response.status_code
    if 300 <= status < 400:
        raise ShopifyError(f"{message} (HTTP {status}: redirects are not followed)", status=status)
    error = (json_object(response) or {}).get("error")
    error = error if isinstance(error, str) else None
    raise ShopifyRejected(f"{message} (HTTP {status}, {error or 'no error code'})", status=status, error=error)


def _graphql_errors(raw: Any) -> list[dict[str, Any]]:
    if not raw:
        return []
    items = raw if isinstance(raw, list) else [raw]
    return [item if isinstance(item, dict) else {"message": str(item)} for item in items]


def _optional_int(raw: Any) -> int | None:
    try:
        return int(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None


def _offline_token(body: dict[str, Any]) -> OfflineToken:
    access_token = body.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise ShopifyError("Shopify's token response has no access_token", status=200)
    refresh_token = body.get("refresh_token")
    return OfflineToken(
        access_token=access_token,
        scope=str(body.get("scope") or ""),
        expires_in=_optional_int(body.get("expires_in")),
        refresh_token=refresh_token if isinstance(refresh_token, str) and refresh_token else None,
        refresh_token_expires_in=_optional_int(body.get("refresh_token_expires_in")),
    )
