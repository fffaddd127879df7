"""Thin HTTP views, one blueprint per kind of caller."""

from __future__ import annotations

from flask import Flask


def init_blueprints(app: Flask) -> None:
    from .health import bp as health_bp

    app.register_blueprint(health_bp)
