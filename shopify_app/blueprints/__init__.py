"""Thin HTTP views, one blueprint per kind of caller."""

from __future__ import annotations

from flask import Flask

from ..admin import bp as admin_bp
from ..admin.dev import init_dev_admin
from ..openapi import init_openapi
from .auth import bp as auth_bp
from .health import bp as health_bp
from .links import bp as links_bp
from .media import bp as media_bp
from .metrics import bp as metrics_bp
from .mitto import bp as mitto_bp
from .ops import bp as ops_bp
from .pixel import bp as pixel_bp
from .proxy import bp as proxy_bp
from .shopify_flow import bp as shopify_flow_bp
from .webhooks import bp as webhooks_bp


def init_blueprints(app: Flask) -> None:
    app.extensions["sms_blossom_api"] = init_openapi(app)  # registers the /api blueprint
    for blueprint in (
        health_bp,
        auth_bp,
        admin_bp,
        webhooks_bp,
        shopify_flow_bp,
        proxy_bp,
        mitto_bp,
        links_bp,
        pixel_bp,
        media_bp,
        ops_bp,
        metrics_bp,
    ):
        app.register_blueprint(blueprint)
    init_dev_admin(app)
