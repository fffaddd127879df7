"""SMS backends behind one interface: Mitto for real sends, console for development, memory for tests.

Every backend takes the same `OutboundSms`, answers with the same `SubmitResult`/`BulkResult`,
refuses the same batch sizes and raises the same `MittoError`s, so the sending pipeline never
asks which one it holds. `build_backend` picks one by `SMS_BACKEND`; the memory backend must be
one instance per app, so the caller caches what it returns.
"""

from __future__ import annotations

import itertools
import sys
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import structlog

from shopify_app.clients.mitto import (
    BulkResult,
    MittoClient,
    MittoError,
    MittoSettings,
    OutboundSms,
    SubmitResult,
    validate_bulk_size,
)
from shopify_app.security.masking import mask_phone

log = structlog.get_logger(__name__)


@runtime_checkable
class SmsBackend(Protocol):
    name: str

    def send_bulk(self, messages: Sequence[OutboundSms]) -> BulkResult: ...

    def send(self, message: OutboundSms) -> SubmitResult: ...


class MittoBackend:
    """Real sends through the Mitto HTTP API."""

    name = "mitto"

    def __init__(self, client: MittoClient):
        self.client = client

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MittoBackend:
        return cls(MittoClient(MittoSettings.from_config(config)))

    def send_bulk(self, messages: Sequence[OutboundSms]) -> BulkResult:
        return self.client.send_bulk(messages)

    def send(self, message: OutboundSms) -> SubmitResult:
        return self.client.send(message)


class ConsoleBackend:
    """Development: nothing leaves the machine; one log line per message, destination masked.

    The log line never holds the text (logs are scrubbed and may be shipped). With `show_text`
    (APP_ENV=development only) the whole text is also printed to stderr, outside the logs, so
    a developer can see and follow the links texted to shoppers (confirm, unsubscribe).
    """

    name = "console"

    def __init__(self, *, show_text: bool = False) -> None:
        self.show_text = show_text

    def send_bulk(self, messages: Sequence[OutboundSms]) -> BulkResult:
        validate_bulk_size(len(messages))
        bulk_id = f"console-bulk-{uuid.uuid4()}"
        return BulkResult(bulk_id=bulk_id, results=[self._log(message, bulk_id) for message in messages])

    def send(self, message: OutboundSms) -> SubmitResult:
        return self._log(message, None)

    def _log(self, message: OutboundSms, bulk_id: str | None) -> SubmitResult:
        message_id = f"console-{uuid.uuid4()}"
        log.info(
            "sms_console_send",
            destination=mask_phone(message.destination),
            sender=message.sender,
            length=len(message.text),
            mms=message.media_url is not None,
            reference=message.reference,
            message_id=message_id,
            bulk_id=bulk_id,
        )
        if self.show_text:
            print(  # a developer's terminal, never the logs
                f"--- SMS to {mask_phone(message.destination)} from {message.sender} "
                f"(console backend, not sent) ---\n{message.text}\n---",
                file=sys.stderr,
                flush=True,
            )
        return SubmitResult(reference=message.reference, message_id=message_id)


class MemoryBackend:
    """Tests: records what was accepted in `sent`; knobs make it fail the way Mitto fails.

    - `fail_with`: raised by the next call before anything is accepted, then cleared
      (a `MittoRateLimited`/`MittoUnavailable` as Mitto would raise it).
    - `fail_after_accept`: the next call accepts and records its messages, then raises this and
      clears it: the answer was lost (`MittoTimeout`), the outcome is unknown to the caller.
    - `reject_destinations`: these get `SubmitResult(message_id=None, error_code="rejected")`
      and are not recorded in `sent`.

    An MMS (`media_url` set) to a number outside +1 (the US and Canada) is refused per message
    (`mms_not_supported`), as tests/fakes/mitto.py refuses it.
    """

    name = "memory"

    def __init__(self) -> None:
        self.sent: list[OutboundSms] = []
        self.fail_with: MittoError | None = None
        self.fail_after_accept: MittoError | None = None
        self.reject_destinations: set[str] = set()
        self._lock = threading.Lock()
        self._message_ids = itertools.count(1)
        self._bulk_ids = itertools.count(1)

    def send_bulk(self, messages: Sequence[OutboundSms]) -> BulkResult:
        validate_bulk_size(len(messages))
        with self._lock:
            self._raise_knob("fail_with")
            results = [self._accept(message) for message in messages]
            bulk_id = f"mem-bulk-{next(self._bulk_ids)}"
            self._raise_knob("fail_after_accept")
        return BulkResult(bulk_id=bulk_id, results=results)

    def send(self, message: OutboundSms) -> SubmitResult:
        with self._lock:
            self._raise_knob("fail_with")
            result = self._accept(message)
            self._raise_knob("fail_after_accept")
        return result

    def reset(self) -> None:
        """Forget what was sent and clear every knob (the instance lives as long as its app)."""
        with self._lock:
            self.sent.clear()
            self.fail_with = self.fail_after_accept = None
            self.reject_destinations = set()

    def _raise_knob(self, knob: str) -> None:
        error: MittoError | None = getattr(self, knob)
        if error is not None:
            setattr(self, knob, None)
            raise error

    def _accept(self, message: OutboundSms) -> SubmitResult:
        if message.media_url is not None and not message.destination.startswith("+1"):
            return SubmitResult(message.reference, None, "mms_not_supported", "MMS goes to +1 numbers only")
        if message.destination in self.reject_destinations:
            return SubmitResult(
                reference=message.reference,
                message_id=None,
                error_code="rejected",
                error_message="Destination rejected by the memory backend",
            )
        self.sent.append(message)
        return SubmitResult(reference=message.reference, message_id=f"mem-{next(self._message_ids)}")


_BACKENDS: dict[str, Callable[[Mapping[str, Any]], SmsBackend]] = {
    "mitto": MittoBackend.from_config,
    "console": lambda config: ConsoleBackend(show_text=config.get("APP_ENV") == "development"),
    "memory": lambda config: MemoryBackend(),
}


def build_backend(config: Mapping[str, Any]) -> SmsBackend:
    """A new backend for `SMS_BACKEND`; the caller keeps one per app (the memory one has state)."""
    name = config.get("SMS_BACKEND") or "console"
    factory = _BACKENDS.get(name)
    if factory is None:
        raise ValueError(f"SMS_BACKEND must be one of {', '.join(_BACKENDS)}, got {name!r}")
    return factory(config)
