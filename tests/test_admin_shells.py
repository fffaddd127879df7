"""The admin's page shells without a browser: every screen renders, App Bridge loads first, the
CSP is the shop's, templates and modules keep the rules of docs/admin.md, and a shell carries
no merchant data."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask

from shopify_app import create_app
from shopify_app.admin.screens import SCREENS, Screen
from shopify_app.admin.views import APP_BRIDGE_URL, POLARIS_URL
from shopify_app.extensions import db

from .conftest import TEST_API_KEY, ApiClient, install_shop
from .shopify_signing import session_token
from .test_config import PRODUCTION_ENV
from .test_embedded import host_param

ADMIN = Path(__file__).resolve().parent.parent / "shopify_app" / "admin"
TEMPLATES = sorted((ADMIN / "templates").rglob("*.html"))
MODULES = sorted((ADMIN / "static").rglob("*.js"))
SHOP = "alpha.myshopify.com"
HOSTILE = "<img src=x onerror=alert(1)>"
FIELDS = {
    "s-text-field",
    "s-email-field",
    "s-number-field",
    "s-date-field",
    "s-search-field",
    "s-password-field",
    "s-url-field",
    "s-text-area",
    "s-select",
    "s-checkbox",
    "s-switch",
    "s-drop-zone",
}


def screen_path(screen: Screen) -> str:
    """The screen's URL path with 1 for every id in it."""
    return re.sub(r"<int:\w+>", "1", screen.path)


def shell_query(shop: str = SHOP, **extra: str) -> dict[str, str]:
    return {"shop": shop, "host": host_param(f"admin.shopify.com/store/{shop.split('.')[0]}"), "embedded": "1", **extra}


def get_shell(client, screen: Screen, shop: str = SHOP, **extra: str):
    """A screen's shell as the admin loads it (`/` needs the token exchange's id_token)."""
    if screen.path == "/":
        extra.setdefault("id_token", session_token(shop))
    return client.get(screen_path(screen), query_string=shell_query(shop, **extra))


@pytest.fixture
def screen_client(app: Flask):
    install_shop(SHOP)
    return app.test_client()


class Elements(HTMLParser):
    """Start tags in document order: (tag, attributes, inside <head>)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None], bool]] = []
        self._in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "head":
            self._in_head = True
        self.tags.append((tag, dict(attrs), self._in_head))

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self._in_head = False


def elements(html: str) -> list[tuple[str, dict[str, str | None], bool]]:
    parser = Elements()
    parser.feed(html)
    return parser.tags


@pytest.mark.parametrize("screen", SCREENS, ids=[screen.endpoint for screen in SCREENS])
def test_every_screen_renders_for_a_shop(screen_client, screen):
    response = get_shell(screen_client, screen)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert f"<title>{screen.title} · SMS Blossom</title>" in html
    assert f'src="/admin/static/{screen.module}.js"' in html


@pytest.mark.parametrize("screen", SCREENS, ids=[screen.endpoint for screen in SCREENS])
def test_app_bridge_is_the_first_script_after_only_meta_tags(screen_client, screen):
    tags = elements(get_shell(screen_client, screen).get_data(as_text=True))
    head = [(tag, attrs) for tag, attrs, in_head in tags if in_head and tag != "head"]
    first_script = next(index for index, (tag, _) in enumerate(head) if tag == "script")
    before = head[:first_script]
    assert [tag for tag, _ in before] == ["meta"] * len(before)
    assert "charset" in before[0][1]
    _, attrs = head[first_script]
    assert attrs == {"src": APP_BRIDGE_URL}  # classic, synchronous: no async, defer or module
    assert head[first_script + 1] == ("script", {"src": POLARIS_URL})
    assert {"name": "shopify-api-key", "content": TEST_API_KEY} in [attrs for _, attrs in before]


def test_shell_csp_names_the_shop_and_allows_scripts_only_from_the_app_and_shopifys_cdn(screen_client):
    response = get_shell(screen_client, SCREENS[0])
    directives = dict(
        part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";") if part.strip()
    )
    assert directives["frame-ancestors"] == f"https://{SHOP} https://admin.shopify.com"
    assert directives["script-src"] == "'self' https://cdn.shopify.com"
    assert directives["object-src"] == "'none'"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_each_shop_gets_its_own_frame_ancestors(app):
    install_shop("beta.myshopify.com")
    response = get_shell(app.test_client(), SCREENS[0], "beta.myshopify.com")
    assert (
        "frame-ancestors https://beta.myshopify.com https://admin.shopify.com;"
        in (response.headers["Content-Security-Policy"])
    )
    assert SHOP not in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("template", TEMPLATES, ids=[path.name for path in TEMPLATES])
def test_no_custom_element_is_self_closed(template):
    """`<s-button />` is not a closed element in HTML: everything after it becomes its child."""
    source = template.read_text(encoding="utf-8")
    assert re.findall(r"<(?:s|ui)-[a-z-]+\b[^>]*/>", source) == []


@pytest.mark.parametrize("template", TEMPLATES, ids=[path.name for path in TEMPLATES])
def test_every_field_in_a_template_has_a_label(template):
    fields = [(tag, attrs) for tag, attrs, _ in elements(template.read_text(encoding="utf-8")) if tag in FIELDS]
    unlabelled = [f"<{tag} {attrs}>" for tag, attrs in fields if not (attrs.get("label") or "").strip()]
    assert unlabelled == []


@pytest.mark.parametrize("module", MODULES, ids=[str(path.relative_to(ADMIN / "static")) for path in MODULES])
def test_modules_never_write_markup(module):
    """Text stays text: lib/dom.js's h()/fill() build every node."""
    source = re.sub(r"/\*.*?\*/", "", module.read_text(encoding="utf-8"), flags=re.DOTALL)
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("//"))
    assert re.findall(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", code) == []


def test_a_shell_carries_no_merchant_data(app):
    shop = install_shop(SHOP, name=HOSTILE)
    api = ApiClient(app.test_client(), SHOP)
    contact = {"phone": "+14155550100", "first_name": HOSTILE, "last_name": "Owner", "consent_state": "subscribed"}
    assert api.post("/api/contacts", json={**contact, "consent_text": "Yes, texts please."}).status_code == 201
    shop.email = "owner@alpha.example"
    db.session.commit()
    client = app.test_client()
    for screen in SCREENS:
        html = get_shell(client, screen).get_data(as_text=True)
        for needle in ("onerror", "img src", "Owner", "owner@alpha.example", "+14155550100"):
            assert needle not in html, f"{screen.endpoint} shows {needle!r}"


@pytest.mark.parametrize("app_env", ["test", "production"])
def test_the_development_admin_is_404_outside_development(make_app, app_env):
    app = make_app() if app_env == "test" else create_app(dict(PRODUCTION_ENV))
    client = app.test_client()
    assert client.get("/dev/admin/").status_code == 404
    assert client.get("/dev/admin/app-bridge.js").status_code == 404
    assert client.get("/dev/admin/session-token").status_code == 404


def test_the_development_admin_is_served_in_development(make_app):
    client = make_app(APP_ENV="development", MITTO_WEBHOOK_SECRET=None).test_client()
    response = client.get("/dev/admin/")
    assert response.status_code == 200
    assert 'src="/dev/admin/app-bridge.js"' in response.get_data(as_text=True)
    assert client.get("/dev/admin/app-bridge.js").status_code == 200


@pytest.mark.parametrize(
    ("locale", "lang"),
    [("fr", "fr"), ("pt-BR", "pt-BR"), ("zh-Hant-TW", "zh-Hant-TW"), ("", "en"), ('en"><script>', "en"), ("x", "en")],
)
def test_html_lang_follows_the_admins_locale(screen_client, locale, lang):
    html = get_shell(screen_client, SCREENS[0], locale=locale).get_data(as_text=True)
    assert elements(html)[0] == ("html", {"lang": lang}, False)
