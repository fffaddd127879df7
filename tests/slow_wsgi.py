"""The real app plus one slow route, served by gunicorn in the graceful-shutdown test."""

from __future__ import annotations

import time

from shopify_app import create_app

app = create_app()


@app.get("/__slow")
def slow() -> str:
    time.sleep(2.0)
    return "finished"
