"""HTTP client for the Mitto SMS gateway: bulk and single submission, and message status.

An MMS is a message with `media_url`: it goes in the same bulk request, in the shape docs/mms.md
records as an assumption to confirm with Mitto (their MMS API is not public).

Only HTTP lives here (no Flask, no database, no business rules): every call has a connect and
a read timeout, and every failure leaves as one of the typed `MittoError`s below. Messages and
logs carry the operation, HTTP status, counts, bulk id and duration, never a phone number, a
message text or the API key.

The client never retries: at most one accepted submission per recipient is the caller's rule,
and only the caller knows what it has recorded. Each error says what the caller may assume:

- `MittoRateLimited` (429) and `MittoUnavailable` (503, refused connection, connect timeout):
  provably nothing was accepted; the same messages may be submitted again later.
- `MittoRejected` (any other 4xx, and 3xx since redirects are never followed): Mitto refused
  the whole request; sending it again unchanged cannot succeed.
- `MittoTimeout` (read timeout, a connection dropped after the request was sent, 500, 502,
  504, an answer that does not match the request): Mitto may have accepted some or all of the
  messages. The outcome is unknown: never resend blindly.

502 and 504 are "unknown", not "unavailable": a gateway answers them when the upstream failed
or went quiet *after* being handed the request, so they do not prove nothing was accepted.

Mitto's words stay here: callers read what an error proves from its attributes
(`nothing_accepted`, `refused`, `provider_failure`, `retry_after`) and a delivery status as our
outcome (`delivery_outcome`: delivered, failed, pending or other), never Mitto's spelling.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import orjson
import requests
import structlog

from ..metrics import PROVIDER_CALLS, PROVIDER_LATENCY
from ._http import json_object, never_connected, retry_after_seconds

log = structlog.get_logger(__name__)

API_PREFIX = "/api/v1.1/Messages"
MAX_BULK_SIZE = 5000
DEFAULT_BASE_URL = "https://messaging.mittoapi.com"
_NOTHING_ACCEPTED_STATUSES = frozenset({503})


class MittoError(Exception):
    """Base of every error raised here; `status` is the HTTP status when there was one.

    What the error proves, in the caller's terms (neither `nothing_accepted` nor `refused`:
    the outcome is unknown, never resend blindly)."""

    nothing_accepted = False  # the same messages may be submitted again later
    refused = False  # the whole request was refused: sending it again unchanged cannot succeed
    provider_failure = True  # the provider itself failed: what a circuit breaker counts
    retry_after = 0.0  # seconds to wait before submitting again

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


ProviderError = MittoError  # the name callers outside the clients catch: any SMS provider failure


class MittoRateLimited(MittoError):
    """429: nothing was accepted; submit again after `retry_after` seconds."""

    nothing_accepted = True
    provider_failure = False  # the provider is fine: we went too fast

    def __init__(self, message: str, *, retry_after: float, status: int | None = 429):
        super().__init__(message, status=status)
        self.retry_after = retry_after


class MittoUnavailable(MittoError):
    """503, or the connection was never established: provably nothing was accepted."""

    nothing_accepted = True


class MittoRejected(MittoError):
    """Mitto refused the whole request (bad key, bad payload, unknown id); `errors` is its answer."""

    refused = True
    provider_failure = False  # the request was at fault

    def __init__(self, message: str, *, status: int, errors: list[dict[str, Any]] | None = None):
        super().__init__(message, status=status)
        self.status: int = status
        self.errors = errors or []


class MittoTimeout(MittoError):
    """The request may have been accepted but no usable answer arrived: the outcome is unknown."""


# Mitto's delivery statuses (as its reports and `status` spell them, case, spaces and
# underscores aside) in our terms: delivered, failed or pending; anything else is "other".
_DELIVERY_STATUSES = {
    "delivered": "delivered",
    "failure": "failed",
    "failed": "failed",
    "undelivered": "failed",
    "undeliverable": "failed",
    "expired": "failed",
    "rejected": "failed",
    "pending": "pending",
    "sent": "pending",
    "buffered": "pending",
    "accepted": "pending",
    "enroute": "pending",
}


def delivery_outcome(status: str) -> str:
    """A delivery status of Mitto's as our outcome: "delivered", "failed", "pending" or "other"."""
    return _DELIVERY_STATUSES.get(status.strip().lower().replace(" ", "").replace("_", ""), "other")


@dataclass(slots=True)  # not frozen: a frozen __init__ costs 2.5 µs, and a batch makes 500
class OutboundSms:
    destination: str = field(repr=False)  # E.164
    text: str = field(repr=False)
    sender: str
    reference: str | None = None  # our own message id, passed to Mitto as reference
    media_url: str | None = field(default=None, repr=False)  # an MMS's image (public HTTPS URL); None: SMS


@dataclass(slots=True)  # not frozen: a frozen __init__ costs 2.5 µs, and a batch makes 500
class SubmitResult:
    reference: str | None
    message_id: str | None  # None when this message was rejected
    error_code: str | None = None
    error_message: str | None = None

    @property
    def accepted(self) -> bool:
        return self.message_id is not None


@dataclass(frozen=True)
class BulkResult:
    bulk_id: str | None
    results: list[SubmitResult]  # same order and length as the request


@dataclass(frozen=True)
class MittoSettings:
    api_key: str = field(repr=False)
    base_url: str  # scheme and host only: https://messaging.mittoapi.com, or a loopback fake's URL
    traffic_account_id: str
    connect_timeout: float = 3.05
    read_timeout: float = 15.0

    def __post_init__(self) -> None:
        if not self.api_key:
            raise ValueError("MITTO_API_KEY is required to send through Mitto")
        if not self.traffic_account_id:
            raise ValueError("MITTO_TRAFFIC_ACCOUNT_ID is required to send through Mitto")
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            raise ValueError("MITTO_BASE_URL must be an http(s) URL without a path, like " + DEFAULT_BASE_URL)
        if parts.query or parts.fragment or "@" in parts.netloc:
            raise ValueError("MITTO_BASE_URL must not carry a query, a fragment or credentials")
        if self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise ValueError("Mitto timeouts must be positive")
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MittoSettings:
        return cls(
            api_key=config.get("MITTO_API_KEY") or "",
            base_url=config.get("MITTO_BASE_URL") or DEFAULT_BASE_URL,
            traffic_account_id=config.get("MITTO_TRAFFIC_ACCOUNT_ID") or "",
            read_timeout=float(config.get("MITTO_READ_TIMEOUT_SECONDS") or 15.0),
        )


def validate_bulk_size(count: int) -> None:
    """Every backend refuses the same batch sizes, so tests on a fake backend catch batching bugs."""
    if not 1 <= count <= MAX_BULK_SIZE:
        raise ValueError(f"A bulk submission takes 1 to {MAX_BULK_SIZE} messages, got {count}")


def _session_for(base_url: str) -> requests.Session:
    """A session that reads the proxy and CA-bundle variables once: by default requests reads
    them from the environment on every request (a scan of every variable, ~0.5 ms a call)."""
    session = requests.Session()
    settings = session.merge_environment_settings(base_url, {}, None, None, None)  # what each call would read
    session.proxies, session.verify = settings["proxies"], settings["verify"]  # NO_PROXY honoured
    session.trust_env = False
    return session


class _Malformed(Exception):
    """An answer that cannot be matched to the request: reported as MittoTimeout, never guessed."""


class MittoClient:
    def __init__(self, settings: MittoSettings, *, session: requests.Session | None = None):
        self.settings = settings
        self._session = session or _session_for(settings.base_url)

    def __repr__(self) -> str:
        return f"MittoClient(base_url={self.settings.base_url!r})"

    def send_bulk(self, messages: Sequence[OutboundSms]) -> BulkResult:
        """Submit 1..5000 messages in one request; results come back in request order."""
        count = len(messages)
        validate_bulk_size(count)
        payload = {"messages": [self._message_payload(message) for message in messages]}
        body, started = self._request("POST", "/sendmessagesbulk", operation="bulk", count=count, payload=payload)
        items = body.get("messages")
        try:
            if not isinstance(items, list) or len(items) != count:
                raise _Malformed
            results = [_submit_result(item, message) for item, message in zip(items, messages, strict=True)]
        except _Malformed:
            reason = f"Mitto's answer does not match the {count} messages sent"
            raise self._unknown("bulk", count, started, reason) from None
        bulk_id = body.get("bulkId")
        result = BulkResult(bulk_id=str(bulk_id) if bulk_id is not None else None, results=results)
        accepted = sum(1 for item in results if item.accepted)
        log.info(
            "mitto_bulk_submitted",
            count=count,
            accepted=accepted,
            rejected=count - accepted,
            bulk_id=result.bulk_id,
            duration_ms=_since(started),
        )
        return result

    def send(self, message: OutboundSms) -> SubmitResult:
        """Submit one message; the error mapping is the same as for `send_bulk`."""
        body, started = self._request(
            "POST", "/send", operation="send", count=1, payload=self._message_payload(message)
        )
        try:
            result = _submit_result(body, message)
        except _Malformed:
            reason = "Mitto's answer to a single send has no messageId or error"
            raise self._unknown("send", 1, started, reason) from None
        log.info("mitto_sent", count=1, accepted=int(result.accepted), duration_ms=_since(started))
        return result

    def status(self, message_id: str) -> dict[str, Any]:
        """Mitto's record of one message (`deliveryStatus` and more); an unknown id is MittoRejected."""
        if not message_id:
            raise ValueError("message_id is required")
        body, started = self._request("GET", "/" + quote(message_id, safe=""), operation="status", count=1)
        log.info("mitto_status_read", status=200, duration_ms=_since(started))
        return body

    def _message_payload(self, message: OutboundSms) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "trafficAccountId": self.settings.traffic_account_id,
            "destination": message.destination,
        }
        if message.media_url is None:
            payload["sms"] = {"text": message.text, "sender": message.sender}
        else:  # ASSUMED shape (docs/mms.md): Mitto's MMS request is not public; confirm before production
            payload["mms"] = {"text": message.text, "sender": message.sender, "mediaUrls": [message.media_url]}
        if message.reference is not None:
            payload["reference"] = message.reference
        return payload

    def _request(
        self, method: str, path: str, *, operation: str, count: int, payload: Any = None
    ) -> tuple[dict[str, Any], float]:
        """One HTTP call; returns the JSON object of a 2xx and when the call started."""
        settings = self.settings
        started = time.perf_counter()
        try:
            try:
                response = self._session.request(
                    method,
                    f"{settings.base_url}{API_PREFIX}{path}",
                    data=None if payload is None else orjson.dumps(payload),  # ~5x json's speed
                    headers={
                        "Accept": "application/json",
                        "X-Mitto-API-Key": settings.api_key,
                        **({} if payload is None else {"Content-Type": "application/json"}),
                    },
                    timeout=(settings.connect_timeout, settings.read_timeout),
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                raise _transport_error(exc, operation, settings.read_timeout) from exc
            answer = _answer(response, operation)
            PROVIDER_CALLS.labels(operation, "ok").inc()
            PROVIDER_LATENCY.labels(operation).observe(time.perf_counter() - started)
            return answer, started
        except MittoError as exc:
            PROVIDER_CALLS.labels(operation, type(exc).__name__).inc()
            PROVIDER_LATENCY.labels(operation).observe(time.perf_counter() - started)
            log.warning(
                "mitto_request_failed",
                operation=operation,
                status=exc.status,
                error=type(exc).__name__,
                count=count,
                duration_ms=_since(started),
            )
            raise

    def _unknown(self, operation: str, count: int, started: float, reason: str) -> MittoTimeout:
        log.warning(
            "mitto_request_failed",
            operation=operation,
            status=200,
            error="MittoTimeout",
            count=count,
            duration_ms=_since(started),
        )
        return MittoTimeout(f"{reason}; outcome unknown", status=200)


def _transport_error(exc: requests.RequestException, operation: str, read_timeout: float) -> MittoError:
    if never_connected(exc):
        return MittoUnavailable(f"Could not connect to Mitto for {operation}: nothing was sent")
    if isinstance(exc, requests.ReadTimeout):
        return MittoTimeout(f"Mitto did not answer {operation} within {read_timeout}s; outcome unknown")
    # Dropped connections, chunked-encoding and TLS errors after the request went out.
    return MittoTimeout(f"Connection to Mitto failed during {operation} ({type(exc).__name__}); outcome unknown")


def _answer(response: requests.Response, operation: str) -> dict[str, Any]:
    status = response.status_code
    if 200 <= status < 300:
        body = json_object(response)
        if body is None:
            raise MittoTimeout(f"Mitto answered {operation} without a JSON object; outcome unknown", status=status)
        return body
    if status == 429:
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        raise MittoRateLimited(f"Mitto rate-limited {operation}", retry_after=retry_after, status=status)
    if status in _NOTHING_ACCEPTED_STATUSES:
        raise MittoUnavailable(f"Mitto answered {operation} with HTTP {status}: nothing was accepted", status=status)
    if 300 <= status < 500:
        note = ": redirects are not followed" if status < 400 else ""
        errors = _errors(json_object(response))
        raise MittoRejected(f"Mitto rejected {operation} (HTTP {status}{note})", status=status, errors=errors)
    raise MittoTimeout(f"Mitto answered {operation} with HTTP {status}; outcome unknown", status=status)


def _submit_result(item: Any, message: OutboundSms) -> SubmitResult:
    """One answer item for one sent message; `_Malformed` when it cannot be that message's."""
    if not isinstance(item, dict):
        raise _Malformed
    echoed = item.get("reference")
    # `echoed != reference` first: the usual echo is our own string, compared without str().
    reference = message.reference
    if echoed is not None and reference is not None and echoed != reference and str(echoed) != reference:
        raise _Malformed  # answers out of order: ids would be pinned on the wrong recipients
    message_id = item.get("messageId")
    if isinstance(message_id, (str, int)) and not isinstance(message_id, bool) and (accepted := str(message_id)):
        return SubmitResult(message.reference, accepted)  # positional: a batch makes 500
    error = item.get("error")
    if not isinstance(error, dict) and str(item.get("status", "")).lower() != "rejected":
        raise _Malformed
    error = error if isinstance(error, dict) else {}
    code, text = error.get("code"), error.get("message")
    return SubmitResult(
        reference=message.reference,
        message_id=None,
        error_code=str(code) if code else "Rejected",
        error_message=str(text) if text else None,
    )


def _errors(body: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Mitto's complaint as a list of dicts, whichever of its shapes it came in."""
    if not body:
        return []
    raw = body.get("errors")
    if raw is None:
        error = body.get("error")
        return [error] if isinstance(error, dict) else [body]
    if isinstance(raw, dict):
        # ASP.NET validation problems: {"field": ["message", ...]}; anything else is one error.
        if all(isinstance(value, list) for value in raw.values()):
            return [{"field": name, "messages": value} for name, value in raw.items()]
        return [raw]
    items = raw if isinstance(raw, list) else [raw]
    return [item if isinstance(item, dict) else {"message": str(item)} for item in items]


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
