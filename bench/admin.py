"""The admin screens' speed, in Debian's chromium on the loopback server, at 100k contacts and
1k campaigns (PostgreSQL).

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test .venv/bin/python bench/admin.py

A scratch database: one shop, `--contacts` contacts through the real CSV import (sealed phones,
blind index), `--campaigns` completed campaigns with `INSERT ... SELECT generate_series`, then
VACUUM ANALYZE. The app is served by werkzeug's threaded server on 127.0.0.1 (as the browser
tests do); `cdn.shopify.com` is answered by the App Bridge stand-in and the tests' Polaris stub
(real Polaris would add its own download and rendering; it is not reachable here).

Per screen, `--loads` cold loads (a new browser context each) and prints:
  - data shown: from navigation start until no region is `aria-busy` (p50 / max, ms);
  - the shell's server time (Flask test client, 200 requests, p50 / p95 / p99, ms);
  - the app's own JS and CSS the screen loaded (bytes, uncompressed);
  - API calls started before the first region showed data / before every region had (x/y);
  - lab Web Vitals: LCP and CLS from PerformanceObserver, and INP as the longest event-timing
    entry of a click on the page's first button or link-free control (ms).
Targets (issue 25): data < 1 s, shell < 10 ms, JS+CSS < 100 KB, API calls <= 3, CLS <= 0.1,
LCP <= 2.5 s, INP <= 200 ms.
"""

from __future__ import annotations

import argparse
import io
import logging
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade
from playwright.sync_api import sync_playwright
from sqlalchemy import text
from werkzeug.serving import make_server

from bench._scratch import postgres_scratch, vacuum_analyze
from bench.import_contacts import make_csv
from shopify_app import create_app
from shopify_app.devtools.signing import encode_session_token, session_token_claims
from shopify_app.extensions import db
from shopify_app.services.contacts import contact_transfers
from tests.browser.conftest import CHROMIUM_ARGS
from tests.browser.harness import POLARIS_STUB, STANDIN, host_param
from tests.conftest import base_test_config, install_shop

CAMPAIGNS = """
INSERT INTO campaigns (shop_id, name, kind, body, state, audience, recipients, estimated_segments, credits_reserved,
                       launched_at, completed_at, created_at, updated_at)
SELECT :shop, 'Campaign ' || i, 'broadcast', 'Hello {{first_name}}, sale on', 'completed', '{}', 1000, 1, 1000,
       now() - (i || ' hours')::interval, now() - (i || ' hours')::interval + interval '5 minutes',
       now() - (i || ' hours')::interval, now() - (i || ' hours')::interval
FROM generate_series(1, :n) AS i
"""

# Navigation start to "no region is aria-busy", measured in the page.
READY = "() => document.readyState !== 'loading' && !document.querySelector('[aria-busy=\"true\"]')"
VITALS = """
const vitals = (window.__vitals = {lcp: 0, cls: 0, inp: 0, firstData: null});
const watch = (type, each, extra = {}) =>
  new PerformanceObserver((list) => list.getEntries().forEach(each)).observe({type, buffered: true, ...extra});
watch('largest-contentful-paint', (e) => { vitals.lcp = e.startTime; });
watch('layout-shift', (e) => { if (!e.hadRecentInput) vitals.cls += e.value; });
watch('event', (e) => { vitals.inp = Math.max(vitals.inp, e.duration); }, {durationThreshold: 16});
// The first region filled with data (it leaves aria-busy): the screen's first paint of data.
new MutationObserver(() => { if (vitals.firstData === null) vitals.firstData = performance.now(); })
  .observe(document, {subtree: true, attributes: true, attributeFilter: ['aria-busy']});
"""
# API calls the page started before its first data and before it settled.
API_CALLS = """(ready) => {
  const api = performance.getEntriesByType('resource').filter((e) => new URL(e.name).pathname.startsWith('/api/'));
  const before = (moment) => api.filter((e) => e.startTime < moment).length;
  return [before(window.__vitals.firstData), before(ready)];
}"""


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--campaigns", type=int, default=1_000)
    parser.add_argument("--loads", type=int, default=5)
    args = parser.parse_args()
    with postgres_scratch("smsb_bench_admin", "bench/admin.py") as url:
        app = create_app(base_test_config(url, LOG_LEVEL="WARNING"))
        with app.app_context():
            upgrade()
            shop = install_shop("bench.myshopify.com")
            started = time.perf_counter()
            transfer = contact_transfers.start_import(
                shop=shop, stream=io.BytesIO(make_csv(args.contacts)), filename="bench.csv"
            )
            contact_transfers.run_import(transfer_id=transfer.id)
            db.session.execute(text(CAMPAIGNS), {"shop": shop.id, "n": args.campaigns})
            db.session.commit()
            vacuum_analyze()
            contact_id = db.session.scalar(text("SELECT min(id) FROM contacts"))
            campaign_id = db.session.scalar(text("SELECT max(id) FROM campaigns"))
            print(
                f"seeded {args.contacts:,} contacts and {args.campaigns:,} campaigns "
                f"in {time.perf_counter() - started:.1f} s (+ VACUUM ANALYZE)"
            )
            token = encode_session_token(
                session_token_claims(shop.domain, api_key=app.config["SHOPIFY_API_KEY"], expires_in=3600),
                app.config["SHOPIFY_API_SECRET"],
            )
            domain = shop.domain
            db.session.remove()
        screens = [
            ("home", "/"),
            ("subscribers", "/subscribers"),
            ("subscriber", f"/subscribers/{contact_id}"),
            ("segments", "/segments"),
            ("campaigns", "/campaigns"),
            ("composer", "/campaigns/new"),
            ("campaign", f"/campaigns/{campaign_id}"),
            ("automations", "/automations"),
            ("inbox", "/inbox"),
            ("billing", "/billing"),
            ("settings", "/settings"),
        ]
        query = f"shop={domain}&host={host_param(domain)}&embedded=1&locale=en"
        shell_times(app, screens, query, token)
        browser_figures(app, screens, query, token, loads=args.loads)
        with app.app_context():
            db.engine.dispose()


def shell_times(app, screens, query: str, token: str) -> None:
    client = app.test_client()
    print("\nshell server time (test client, 200 requests each; `/` includes verifying the id_token)")
    for name, path in screens:
        url = f"{path}?{query}" + (f"&id_token={token}" if path == "/" else "")
        for _ in range(10):
            client.get(url)
        samples = []
        for _ in range(200):
            started = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, response.status_code)
        figures = "  ".join(f"p{round(q * 100)} {pct(samples, q):5.2f}" for q in (0.5, 0.95, 0.99))
        print(f"  {name:12} {figures} ms")


def browser_figures(app, screens, query: str, token: str, *, loads: int) -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    standin = f"window.__SMSB_STANDIN__ = {{token: {token!r}}};\n" + STANDIN.read_text()
    polaris = POLARIS_STUB.read_text()

    def cdn(route):
        body = standin if route.request.url.endswith("app-bridge.js") else polaris
        route.fulfill(status=200, content_type="text/javascript", body=body)

    print(f"\nin chromium, {loads} cold loads per screen (data: navigation start -> no region aria-busy)")
    header = ("screen", "data p50", "max", "JS+CSS", "API", "LCP", "CLS", "INP")
    print("  {:12} {:>9} {:>7} {:>9} {:>7} {:>7} {:>6} {:>6}".format(*header))
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for name, path in screens:
                runs = [
                    load_once(browser, cdn, f"{base}{path}?{query}" + (f"&id_token={token}" if path == "/" else ""))
                ]
                runs += [load_once(browser, cdn, runs[0]["url"]) for _ in range(loads - 1)]
                inp = max(run["inp"] for run in runs)
                print(
                    f"  {name:12} {statistics.median(run['shown'] for run in runs):7.0f}ms "
                    f"{max(run['shown'] for run in runs):5.0f}ms {max(run['own'] for run in runs) / 1024:7.1f}KB "
                    f"{max(run['first_calls'] for run in runs):3d}/{max(run['calls'] for run in runs):<3d} "
                    f"{statistics.median(run['lcp'] for run in runs):5.0f}ms {max(run['cls'] for run in runs):6.3f} "
                    + (f"{inp:4.0f}ms" if inp else "  <16ms")
                )
            browser.close()
    finally:
        server.shutdown()


def load_once(browser, cdn, url: str) -> dict:
    """One cold load (a new context: nothing cached) of `url`; its figures."""
    context = browser.new_context()
    page = context.new_page()
    page.add_init_script(VITALS)
    page.route("https://cdn.shopify.com/**", cdn)
    own = []
    page.on("response", lambda response: "/admin/static/" in response.url and own.append(len(response.body())))
    page.goto(url, wait_until="commit")
    page.wait_for_function(READY, timeout=30_000)
    shown = page.evaluate("performance.now()")
    first_calls, calls = page.evaluate(API_CALLS, shown)
    page.locator("h1").first.click(timeout=5_000)  # an interaction that changes nothing
    page.wait_for_timeout(300)
    vitals = page.evaluate("window.__vitals")
    context.close()
    return {"url": url, "shown": shown, "own": sum(own), "first_calls": first_calls, "calls": calls, **vitals}


if __name__ == "__main__":
    main()
