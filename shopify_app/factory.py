"""`create_app`'s body: a table of contents, each line hands the app to one part.

`shopify_app.create_app` imports this module when it is called, not when the package is
imported: every module of the app imports the package first, and this one imports them all.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from . import cli, models  # noqa: F401  (models register their tables)
from .blueprints import init_blueprints
from .blueprints.errors import init_errors
from .clients.sms import build_backend
from .config import load_config
from .extensions import init_extensions, init_sms_backend
from .http import init_http
from .logging import init_logging
from .metrics import init_metrics
from .sentry import init_sentry
from .tenancy import init_tenancy


def build_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask("shopify_app", instance_relative_config=True)
    app.config.update(load_config(config))
    init_logging(app)
    init_sentry(app)
    init_http(app)
    init_extensions(app)
    init_tenancy(app)
    init_sms_backend(app, build_backend)
    init_errors(app)
    init_blueprints(app)
    init_metrics(app)
    cli.init_cli(app)
    return app
