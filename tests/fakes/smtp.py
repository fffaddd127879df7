"""A loopback SMTP server (aiosmtpd) that keeps what it is sent, with AUTH optional.

`FakeSmtp().start()` listens on 127.0.0.1 on a free port; `url` is the `SMTP_URL` that reaches
it; `messages` are the parsed emails (email.message.EmailMessage) with their envelopes.
"""

from __future__ import annotations

import socket
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, Self

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Sink:
    def __init__(self, owner: FakeSmtp) -> None:
        self.owner = owner

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.owner.received.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "message": message})
        return "250 Message accepted"


class FakeSmtp:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self._controller: Controller | None = None
        self.port: int | None = None

    def start(self) -> Self:
        self.port = free_port()
        self._controller = Controller(_Sink(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[EmailMessage]:
        return [entry["message"] for entry in self.received]
