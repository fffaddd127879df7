"""Thin HTTP views, one blueprint per kind of caller."""

from __future__ import annotations

from flask import Flask


def init_blueprints(app: Flask) -> None:
    from .health import bp as health_bp
    from .proxy import bp as proxy_bp
    from .webhooks import bp as webhooks_bp

    for blueprint in (health_bp, webhooks_bp, proxy_bp):
        app.register_blueprint(blueprint)
