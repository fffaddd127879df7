"""Browser fixtures: the test's app on a real loopback server, Debian's Chromium driven by
Playwright (one per xdist worker), and a fresh context and page per test whose requests to
cdn.shopify.com are answered by the App Bridge stand-in and the Polaris stub; every other request
leaving the machine is aborted and fails the test. Helpers: tests/browser/harness.py.

The app served is `browser_app`, the suite's `app` unless a module overrides it, e.g. to let
the token exchange reach the fake Shopify:

    @pytest.fixture
    def browser_app(shopify_app):
        return shopify_app
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, sync_playwright
from werkzeug.serving import WSGIRequestHandler, make_server

from .harness import HARNESSES, Harness

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 15_000  # a wait that long is a hang, not a slow machine


class _QuietRequestHandler(WSGIRequestHandler):
    """The app logs its own access lines; werkzeug's would repeat them."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    """Remember whether the test body failed, so the page fixture reports the browser's log
    beside that failure instead of failing a second time in teardown."""
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    return report


_CALL_FAILED = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install -y chromium); the browser tests need it"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_app(app: Flask) -> Flask:
    return app


@pytest.fixture
def live_server(browser_app: Flask) -> Iterator[str]:
    """The test's app on 127.0.0.1 (a free port), a thread per request; its base URL."""
    with serving(browser_app) as url:
        yield url


@contextmanager
def serving(wsgi_app: Any) -> Iterator[str]:
    """A WSGI app on 127.0.0.1 (a free port), a thread per request, until the block ends; its base URL."""
    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True, request_handler=_QuietRequestHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def harness(browser: Browser, live_server: str) -> Iterator[Harness]:
    context = browser.new_context(locale="en-US", timezone_id="UTC", service_workers="block")
    context.set_default_timeout(TIMEOUT_MS)
    harness = Harness(context, live_server)
    HARNESSES[context] = harness
    try:
        yield harness
    finally:
        del HARNESSES[context]
        context.close()


@pytest.fixture
def page(request: pytest.FixtureRequest, harness: Harness) -> Iterator[Page]:
    """A page whose console errors, script exceptions, 5xx answers and blocked requests fail
    the test (harness.log; see BrowserLog to expect one on purpose)."""
    page = harness.context.new_page()
    harness.watch(page)
    yield page
    page.close()
    problems = harness.log.problems()
    if request.node.stash.get(_CALL_FAILED, False):
        if problems:
            print("browser log:", problems)  # shown with the failure
        return
    assert not problems, f"the browser logged problems: {problems}"


@pytest.fixture
def browser_log(harness: Harness) -> Any:
    return harness.log
