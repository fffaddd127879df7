"""A real RQ worker process for the flow crash tests: it works the automations queue (where the
flow engine's advance runs) and pauses just before taking the step named by CRASH_STEP, so the
test can SIGKILL it there, with the run's earlier steps of that advance written but not
committed. Without CRASH_STEP it is a plain worker."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from rq import SimpleWorker

from shopify_app import create_app
from shopify_app.extensions import redis_ext
from shopify_app.services.flows import engine


def main() -> None:
    crash_step = os.environ.get("CRASH_STEP")
    app = create_app()
    with app.app_context():
        if crash_step:
            original_take = engine.take

            def paused_before(position: Any, *args: Any, **kwargs: Any) -> Any:
                if position.step.get("id") == crash_step:
                    print("PAUSED", flush=True)
                    time.sleep(120)
                return original_take(position, *args, **kwargs)

            engine.take = paused_before  # type: ignore[assignment]
        print("READY", flush=True)
        SimpleWorker([redis_ext.queue("automations")], connection=redis_ext.client()).work(burst=True)


if __name__ == "__main__":
    sys.exit(main())
