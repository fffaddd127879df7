"""What a browser journey needs besides its fixtures (tests/browser/conftest.py): opening a screen
the way the Shopify admin opens it, running axe-core, and the page's record of console errors,
script exceptions, server errors and requests that tried to leave the machine.

    def test_home_has_a_heading(page, shop):
        open_screen(page, "/", shop)
        expect(page.get_by_role("heading", level=1)).to_have_text("SMS Blossom")
        assert check_accessibility(page) == []
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import has_app_context
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Request, Response, Route

from shopify_app.admin.views import APP_BRIDGE_URL, POLARIS_URL
from shopify_app.extensions import db

from ..shopify_signing import session_token

ROOT = Path(__file__).resolve().parents[2]
STANDIN = ROOT / "shopify_app" / "admin" / "devbridge" / "app-bridge-standin.js"
POLARIS_STUB = Path(__file__).resolve().parent / "stubs" / "polaris.js"
AXE_SOURCE = files("axe_playwright_python").joinpath("axe.min.js").read_text(encoding="utf-8")
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
DEFAULT_SHOP = "alpha.myshopify.com"
TOKEN_LIFETIME = 24 * 3600  # the preset session token outlives any test

# axe-core rules whose serious/critical findings check_accessibility() drops, each with the
# reason; a rule belongs here only when the stubs, not the screens, cause the finding.
AXE_ALLOWED: dict[str, str] = {}

# Chromium's own console line for any 4xx/5xx or blocked load: not a script error. Server
# errors are recorded from the responses instead (BrowserLog.server_errors).
_NETWORK_CONSOLE_LINE = "Failed to load resource:"


def host_param(shop: str) -> str:
    """The admin's `host`: base64 of admin.shopify.com/store/<name>, unpadded."""
    name = shop.removesuffix(".myshopify.com")
    return base64.b64encode(f"admin.shopify.com/store/{name}".encode()).decode().rstrip("=")


def is_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https", "ws") and parts.hostname in LOOPBACK


@dataclass
class BrowserLog:
    """What went wrong in the page, outside what a test asserts. The `page` fixture fails the
    test when any of it is not empty at the end; a test that causes one on purpose takes it
    (`take_console_errors()`) or clears the list after asserting on it."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)  # uncaught exceptions, rejected promises
    server_errors: list[str] = field(default_factory=list)  # the app answered 5xx
    blocked_requests: list[str] = field(default_factory=list)  # anything not loopback or the CDN stubs

    def problems(self) -> dict[str, list[str]]:
        return {name: items for name, items in vars(self).items() if items}

    def take_console_errors(self) -> list[str]:
        taken, self.console_errors = self.console_errors, []
        return taken


class Harness:
    """One browser context: the live server's URL, the shop whose session token App Bridge's
    stand-in hands out, the CDN stubs, and the log."""

    def __init__(self, context: BrowserContext, base_url: str) -> None:
        self.context = context
        self.base_url = base_url
        self.shop = DEFAULT_SHOP
        self.log = BrowserLog()
        self._tokens: dict[str, str] = {}
        context.route(lambda url: not is_loopback(url), self._leave_machine)

    def token(self, shop: str | None = None) -> str:
        shop = shop or self.shop
        if shop not in self._tokens:
            self._tokens[shop] = session_token(shop, expires_in=TOKEN_LIFETIME)
        return self._tokens[shop]

    def watch(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.log.page_errors.append(f"{error.name}: {error.message}\n{error.stack}"))
        page.on("response", self._response)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith(_NETWORK_CONSOLE_LINE):
            location = message.location
            self.log.console_errors.append(f"{message.text} ({location.get('url')}:{location.get('lineNumber')})")

    def _response(self, response: Response) -> None:
        if response.status >= 500 and is_loopback(response.url):
            self.log.server_errors.append(f"{response.status} {response.request.method} {response.url}")

    def _leave_machine(self, route: Route, request: Request) -> None:
        """cdn.shopify.com: the stand-in for App Bridge and the Polaris stub (404 for anything
        else there); every other request leaving the machine is aborted and recorded."""
        url = request.url.split("?", 1)[0]
        if url == APP_BRIDGE_URL:
            preset = f"window.__SMSB_STANDIN__ = {json.dumps({'token': self.token()})};\n"
            route.fulfill(body=preset + STANDIN.read_text(encoding="utf-8"), content_type="text/javascript")
        elif url == POLARIS_URL:
            route.fulfill(body=POLARIS_STUB.read_text(encoding="utf-8"), content_type="text/javascript")
        elif urlsplit(url).hostname == "cdn.shopify.com":
            route.fulfill(status=404, body="not stubbed", content_type="text/plain")
        else:
            self.log.blocked_requests.append(f"{request.method} {request.url}")
            route.abort("blockedbyclient")


HARNESSES: dict[BrowserContext, Harness] = {}


def harness_of(page: Page) -> Harness:
    return HARNESSES[page.context]


def open_screen(
    page: Page,
    path: str,
    shop: Any = DEFAULT_SHOP,
    *,
    locale: str = "en",
    query: dict[str, str] | None = None,
    settle: bool = True,
) -> Page:
    """Open `path` as the Shopify admin opens it: `shop`, `host`, `embedded=1`, `locale` (and an
    `id_token` for `/`, the only route that reads one), with App Bridge handing out a session
    token for `shop` (a domain or a Shop). Commits the test's database session first, so the
    server sees what the test set up (and SQLite is not left locked by a read). Then waits
    until no region is `aria-busy` and checks that every `s-*` tag on the page is defined."""
    harness = harness_of(page)
    harness.shop = shop if isinstance(shop, str) else shop.domain
    if has_app_context():
        db.session.commit()
    params = {"shop": harness.shop, "host": host_param(harness.shop), "embedded": "1", "locale": locale}
    if path.split("?", 1)[0] == "/":
        params["id_token"] = harness.token()
    params.update(query or {})
    page.goto(f"{harness.base_url}{path}?{urlencode(params)}")
    if settle:
        wait_until_settled(page)
    return page


def wait_until_settled(page: Page) -> None:
    """Every region the shell marked `aria-busy` has been filled (or shows its error)."""
    page.wait_for_function(
        "() => document.readyState === 'complete' && !document.querySelector('[aria-busy=\"true\"]')"
    )
    undefined = page.evaluate(
        "() => [...new Set([...document.querySelectorAll(':not(:defined)')].map((node) => node.localName))]"
        ".filter((name) => name.startsWith('s-') || name.startsWith('ui-'))"
    )
    assert not undefined, (
        f"the page uses components the Polaris stub does not define: {undefined}; "
        "add them to docs/admin.md's list and tests/browser/stubs/polaris.js"
    )


@dataclass(frozen=True)
class Violation:
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.rule} ({self.impact}): {self.help} at {', '.join(self.targets)}"


def check_accessibility(page: Page, *, selector: str | None = None) -> list[Violation]:
    """axe-core's serious and critical violations on the page (or inside `selector`), less the
    rules in AXE_ALLOWED. Shadow roots are included: axe walks open shadow DOM."""
    if not page.evaluate("() => Boolean(window.axe)"):
        page.evaluate(AXE_SOURCE)
    results = page.evaluate(
        """async (selector) => {
            const context = selector ? document.querySelector(selector) : document;
            const result = await axe.run(context, { resultTypes: ["violations"] });
            return result.violations.map((v) => ({
                rule: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.map((node) => node.target.flat(Infinity).join(" >>> ")),
            }));
        }""",
        selector,
    )
    return [
        Violation(item["rule"], item["impact"], item["help"], tuple(item["targets"]))
        for item in results
        if item["impact"] in ("serious", "critical") and item["rule"] not in AXE_ALLOWED
    ]
