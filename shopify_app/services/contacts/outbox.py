"""How contacts have the app's own texts sent (the answers to STOP/START/HELP/join, the double
opt-in confirmation) without importing the package that sends them: automations, which builds
on contacts, registers its functions here when imported (services/automations/notices.py), as
it registers the welcome automation with `contacts.when_subscribed`. Nothing registered is a
programming error, raised loudly: a text must never be dropped in silence.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ...models import AutomationKind, Contact, Message, Shop

Handler = TypeVar("Handler", bound=Callable[..., Any])
_handlers: dict[str, Callable[..., Any]] = {}


def provides(handler: Handler) -> Handler:
    """Decorator: register `handler` under its own name (send_notice, record_stranger_answer, enqueue)."""
    _handlers[handler.__name__] = handler
    return handler


def _handler(name: str) -> Callable[..., Any]:
    try:
        return _handlers[name]
    except KeyError:
        raise RuntimeError(f"no sender registered for {name}: import services.automations first") from None


def send_notice(
    *, shop: Shop, contact: Contact, kind: AutomationKind, key: str, text: str
) -> tuple[Message | None, bool]:
    """Record `text` for `contact` once per `key` and send it through the send path; (its
    message as it stands, whether this call recorded it)."""
    result: tuple[Message | None, bool] = _handler("send_notice")(
        shop=shop, contact=contact, kind=kind, key=key, text=text
    )
    return result


def record_stranger_answer(*, shop: Shop) -> int:
    """A queued message row with no contact for an answer to a stranger (not committed); its id."""
    return int(_handler("record_stranger_answer")(shop=shop))


def enqueue(*, shop: Shop, message_id: int) -> None:
    """Send a committed message row now (its own batch)."""
    _handler("enqueue")(shop=shop, message_id=message_id)
