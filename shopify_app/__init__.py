"""SMS Blossom: the backend of a Shopify embedded app for SMS marketing."""

from __future__ import annotations

from typing import Any

from flask import Flask


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app (factory.py: a table of contents, each line hands the app to one part)."""
    # Imported when called: every module of the app imports this package first, and the
    # factory imports them all (views, CLI, models), so at the top it would load the whole app
    # for `from shopify_app.errors import AppError`.
    from .factory import build_app

    return build_app(config)
