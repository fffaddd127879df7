"""A real RQ worker process for the crash tests, with a pause at one chosen point so the test
can SIGKILL it exactly there: `before` (rows claimed, no provider call yet), `during` (the fake
Mitto holds the answer; nothing patched here) or `after` (Mitto answered, nothing recorded)."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from rq import SimpleWorker

from shopify_app import create_app
from shopify_app.extensions import redis_ext, sms_backend
from shopify_app.services.sending import plan as sending


def main() -> None:
    mode = os.environ["CRASH_POINT"]
    app = create_app()
    with app.app_context():
        if mode == "before":
            original_admit = sending._admit

            def claimed_then_wait(*args: Any, **kwargs: Any) -> Any:
                print("CLAIMED", flush=True)
                time.sleep(120)
                return original_admit(*args, **kwargs)

            sending._admit = claimed_then_wait  # type: ignore[assignment]
        elif mode == "after":
            backend = sms_backend()
            original_send = backend.send_bulk

            def answered_then_wait(messages: Any) -> Any:
                result = original_send(messages)
                print("ANSWERED", flush=True)
                time.sleep(120)
                return result

            backend.send_bulk = answered_then_wait
        print("READY", flush=True)
        SimpleWorker([redis_ext.queue("campaigns")], connection=redis_ext.client()).work(burst=True)


if __name__ == "__main__":
    sys.exit(main())
