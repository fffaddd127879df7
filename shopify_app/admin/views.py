"""The shells' routes: the first load's token exchange, the bounce page, one route per screen."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import jwt
from flask import Blueprint, Response, current_app, make_response, redirect, render_template, request, url_for

from ..errors import BadRequest, Unauthorized
from ..security.decorators import api_secrets
from ..security.session_token import invalid_session, verify_session_token
from ..security.shop_domain import host_matches_shop, normalise_shop_domain
from ..services.shops.auth import ensure_offline_access
from .screens import SCREENS, Screen

bp = Blueprint("admin", __name__, template_folder="templates", static_folder="static", static_url_path="/admin/static")

APP_BRIDGE_URL = "https://cdn.shopify.com/shopifycloud/app-bridge.js"
POLARIS_URL = "https://cdn.shopify.com/shopifycloud/polaris-1.js"
_LOCALE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8}){0,3}")
# Query parameters the admin adds to every load that a shell passes on to its links.
CARRIED_PARAMS = ("shop", "host", "locale", "embedded")


def shell_csp(shop: str) -> str:
    """Framed only by this shop's admin; scripts only from the app and Shopify's CDN."""
    return (
        f"frame-ancestors https://{shop} https://admin.shopify.com; "
        "script-src 'self' https://cdn.shopify.com; object-src 'none'; base-uri 'self'"
    )


def request_shop() -> str:
    shop = normalise_shop_domain(request.args.get("shop"))
    host = request.args.get("host")
    if host is not None and not host_matches_shop(host, shop):
        raise BadRequest("The host parameter names another shop.", code="invalid_host")
    return shop


def request_locale() -> str:
    """The admin user's language from the `locale` parameter the admin adds, for `<html lang>`."""
    locale = request.args.get("locale", "")
    return locale if _LOCALE.fullmatch(locale) else "en"


def render_shell(screen: Screen, shop: str, *, base: str = "", dev: bool = False, **context: Any) -> Response:
    html = render_template(
        screen.template,
        screen=screen,
        nav=[item for item in SCREENS if item.nav],
        api_key=current_app.config["SHOPIFY_API_KEY"],
        app_bridge_url=url_for("admin_dev.app_bridge") if dev else APP_BRIDGE_URL,
        polaris_url=POLARIS_URL,
        locale=request_locale(),
        base=base,
        dev=dev,
        **context,
    )
    response = make_response(html)
    response.headers["Content-Security-Policy"] = shell_csp(shop)
    response.headers["Cache-Control"] = "no-store"  # the first load's URL holds an id_token
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def bounce(shop: str) -> Response:
    """Shopify's session-token bounce: a page with App Bridge only, which reloads
    `shopify-reload` with a fresh `id_token`."""
    params = {name: request.args[name] for name in CARRIED_PARAMS if name in request.args}
    params["shop"] = shop
    reload_params = {key: value for key, value in request.args.items() if key != "id_token"}
    params["shopify-reload"] = f"{request.path}?{urlencode(reload_params)}"
    return redirect(f"{url_for('admin.session_token_bounce')}?{urlencode(params)}")


def _expired(token: str) -> bool:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return False
    expiry = claims.get("exp")
    return isinstance(expiry, int | float) and expiry < time.time()


@bp.get("/auth/session-token")
def session_token_bounce() -> Response:
    shop = request_shop()
    target = request.args.get("shopify-reload", "/")
    if not target.startswith("/") or target.startswith("//"):
        raise BadRequest("shopify-reload must be a path of this app.", code="invalid_reload")
    html = render_template(
        "admin/bounce.html", api_key=current_app.config["SHOPIFY_API_KEY"], app_bridge=APP_BRIDGE_URL
    )
    response = make_response(html)
    response.headers["Content-Security-Policy"] = shell_csp(shop)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
def home() -> Response:
    """The first load: exchange the `id_token` for an offline token when the shop has none
    (install and reinstall), then the home screen. Without a token, or with one that expired
    (a reload of an old URL), the bounce page fetches a fresh one."""
    shop = request_shop()
    id_token = request.args.get("id_token")
    if not id_token:
        return bounce(shop)
    try:
        session = verify_session_token(id_token, api_key=current_app.config["SHOPIFY_API_KEY"], secrets=api_secrets())
    except Unauthorized:
        if _expired(id_token):
            return bounce(shop)
        raise
    if session.shop_domain != shop:
        raise invalid_session("The session token belongs to another shop.")
    ensure_offline_access(session=session)
    return render_shell(SCREENS[0], shop)


def _screen_view(screen: Screen) -> Callable[..., Response]:
    def view(**_ids: int) -> Response:
        return render_shell(screen, request_shop())

    view.__name__ = screen.endpoint
    return view


for _screen in SCREENS[1:]:
    bp.add_url_rule(_screen.path, endpoint=_screen.endpoint, view_func=_screen_view(_screen))
