"""SMS Blossom: the backend of a Shopify embedded app for SMS marketing."""

from __future__ import annotations

from typing import Any

from flask import Flask


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app. A table of contents: each line hands the app to one part."""
    from . import cli, models  # noqa: F401  (models register their tables)
    from .blueprints import init_blueprints
    from .config import load_config
    from .errors import init_errors
    from .extensions import init_extensions
    from .http import init_http
    from .logging import init_logging
    from .metrics import init_metrics
    from .sentry import init_sentry

    app = Flask(__name__, instance_relative_config=True)
    app.config.update(load_config(config))
    init_logging(app)
    init_sentry(app)
    init_http(app)
    init_extensions(app)
    init_errors(app)
    init_blueprints(app)
    init_metrics(app)
    cli.init_cli(app)
    return app
