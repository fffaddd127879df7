"""The development admin (/dev/admin): the demo shop's screens in a plain browser, with session
tokens minted by the app itself. Development only."""

from __future__ import annotations

import re

import pytest

from shopify_app import create_app
from shopify_app.security.session_token import verify_session_token

from .test_config import PRODUCTION_ENV

DEMO = "demo-shop.myshopify.com"


@pytest.fixture
def dev_app(make_app, fake_shopify):
    app = make_app(APP_ENV="development", SHOPIFY_ADMIN_BASE_URL=fake_shopify.admin_base_url)
    with app.app_context():
        yield app


def test_without_the_demo_shop_the_token_endpoint_says_to_seed(dev_app):
    answer = dev_app.test_client().get("/dev/admin/session-token", headers={"Accept": "application/json"})
    assert answer.status_code == 409
    assert answer.get_json()["error"]["code"] == "demo_shop_missing"
    assert "make seed" in answer.get_json()["error"]["message"]


def test_the_token_is_a_session_token_for_the_demo_shop_that_the_api_accepts(dev_app, fake_shopify):
    assert dev_app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    client = dev_app.test_client()
    answer = client.get("/dev/admin/session-token")
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    token = answer.get_json()["token"]
    session = verify_session_token(
        token, api_key=dev_app.config["SHOPIFY_API_KEY"], secrets=[dev_app.config["SHOPIFY_API_SECRET"]]
    )
    assert session.shop_domain == DEMO
    home = client.get("/api/home", headers={"Authorization": f"Bearer {token}"})
    assert home.status_code == 200
    assert home.get_json()["shop"]["domain"] == DEMO
    assert fake_shopify.requests == []  # the demo shop's offline token: no token exchange


def test_every_screen_is_served_under_dev_admin_with_the_stand_in_not_the_cdn(dev_app):
    from shopify_app.admin import SCREENS

    client = dev_app.test_client()
    for screen in SCREENS:
        path = "/dev/admin" + re.sub(r"<int:\w+>", "1", screen.path)  # every id in the path
        page = client.get(path)
        assert page.status_code == 200, path
        html = page.get_data(as_text=True)
        assert 'src="/dev/admin/app-bridge.js"' in html
        assert "cdn.shopify.com/shopifycloud/app-bridge.js" not in html
        assert 'data-base="/dev/admin"' in html
    script = client.get("/dev/admin/app-bridge.js")
    assert script.status_code == 200
    assert script.mimetype == "text/javascript"
    assert b"/dev/admin/session-token" in script.data


def _no_dev_admin(app) -> None:
    client = app.test_client()
    for path in ("/dev/admin/", "/dev/admin/session-token", "/dev/admin/app-bridge.js", "/dev/admin/settings"):
        assert client.get(path).status_code == 404, path


def test_in_tests_nothing_is_there(make_app):
    _no_dev_admin(make_app())


def test_in_production_nothing_is_there():
    app = create_app(dict(PRODUCTION_ENV))
    assert "admin_dev" not in app.blueprints
    _no_dev_admin(app)
