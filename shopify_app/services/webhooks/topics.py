"""Which handler runs for each webhook topic: the registry webhook_handlers.py fills with
`@handles(...)` and webhook_intake.py reads (neither imports the other back)."""

from __future__ import annotations

from collections.abc import Callable

Handler = Callable[..., None]
HANDLERS: dict[str, Handler] = {}


def handles(*topics: str) -> Callable[[Handler], Handler]:
    """Register a topic handler: `handler(*, shop: Shop | None, payload: dict, event: WebhookEvent)`.

    Handlers run inside the processing transaction and must be idempotent (a job can run twice).
    """

    def register(handler: Handler) -> Handler:
        for topic in topics:
            HANDLERS[topic] = handler
        return handler

    return register
