"""The admin without a Shopify store, for development only: `/dev/admin/...` serves the same
shells for the demo shop, with a local stand-in for App Bridge whose session tokens this app
mints with the development secret (`/dev/admin/session-token`).

Registered only when APP_ENV=development, so every `/dev/admin` path is a 404 in test and
production.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import Blueprint, Flask, Response, current_app, jsonify, send_from_directory
from sqlalchemy import select

from ..devtools.signing import encode_session_token, session_token_claims
from ..errors import Conflict
from ..extensions import db
from ..models import Shop
from ..services.ops.demo import DEMO_DOMAIN
from ..services.shops.auth import has_usable_offline_token
from .screens import SCREENS, Screen
from .views import render_shell

bp = Blueprint("admin_dev", __name__, url_prefix="/dev/admin")
BASE = "/dev/admin"
STANDIN = Path(__file__).parent / "devbridge"


def init_dev_admin(app: Flask) -> None:
    if app.config["APP_ENV"] == "development":
        app.register_blueprint(bp)


@bp.get("/app-bridge.js")
def app_bridge() -> Response:
    return send_from_directory(STANDIN, "app-bridge-standin.js", mimetype="text/javascript", max_age=0)


@bp.get("/session-token")
def session_token() -> Response:
    """A session token for the demo shop, as App Bridge would hand the admin (60 s)."""
    config = current_app.config
    shop = db.session.scalar(select(Shop).where(Shop.domain == DEMO_DOMAIN))
    if shop is None or not has_usable_offline_token(shop):
        raise Conflict("The demo shop is not set up: run `make seed`, then reload.", code="demo_shop_missing")
    claims = session_token_claims(DEMO_DOMAIN, api_key=config["SHOPIFY_API_KEY"], user_id="1")
    response = jsonify({"token": encode_session_token(claims, config["SHOPIFY_API_SECRET"]), "shop": DEMO_DOMAIN})
    response.headers["Cache-Control"] = "no-store"
    return response


def _dev_view(screen: Screen) -> Callable[..., Response]:
    def view(**_ids: int) -> Response:
        return render_shell(screen, DEMO_DOMAIN, base=BASE, dev=True)

    view.__name__ = screen.endpoint
    return view


for _screen in SCREENS:
    bp.add_url_rule(_screen.path, endpoint=_screen.endpoint, view_func=_dev_view(_screen))
