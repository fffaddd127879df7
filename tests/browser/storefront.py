"""A loopback stand-in for a Shopify storefront and its app proxy, for the theme extension's
browser journeys (tests/browser/test_storefront.py).

It renders a minimal theme layout holding the extension's blocks with python-liquid (stand-ins
for `schema`, `asset_url`, `t`, `app.metafields` from tests/theme_liquid.py), fed the app-data
metafields the app wrote to the fake Shopify; links each block's schema `stylesheet` and
`javascript` once, as Shopify does; serves the extension's assets; and forwards `/apps/sms/*`
to the app's `/proxy/*` over HTTP with the query signed as Shopify's proxy signs it, rendering a
Liquid answer inside the layout (as Shopify does) and passing any other answer through.
"""

from __future__ import annotations

import html
import http.client
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from liquid import Environment
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from shopify_app.devtools.signing import proxy_query_string, signed_proxy_params

from ..theme_liquid import ASSET_PREFIX, EXTENSION, LIQUID_SHOP, render_block, schema_of, stand_in_product

PROXY_PREFIX = "/apps/sms"
# Headers a browser sends that Shopify's proxy passes on to the app.
FORWARDED_HEADERS = ("Content-Type", "Accept", "Accept-Language", "User-Agent")
Placement = tuple[str, dict[str, Any]]  # (block name, its settings)


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class Storefront:
    """`home` blocks show on `/`, `product` blocks on `/products/linen-shirt`, `embeds` (app embed
    blocks, on the body) on every page, proxy pages included."""

    def __init__(self, *, app_url: str, shop: str, secret: str, metafields: Callable[[], dict[str, Any]]) -> None:
        self.app_url = app_url
        self.shop = shop
        self.secret = secret
        self.metafields = metafields
        self.home: list[Placement] = [("signup-form", {})]
        self.product: list[Placement] = [("back-in-stock", {})]
        self.embeds: list[Placement] = []
        self.product_available = False
        self._server = make_server("127.0.0.1", 0, self.wsgi, threaded=True, request_handler=_Quiet)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> Storefront:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # -- pages ------------------------------------------------------------------------------------

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        path = request.path
        if path == "/":
            response = self.page(self.home, title="Home")
        elif path == "/products/linen-shirt":
            response = self.page(self.product, title="Linen shirt", content=self.product_form())
        elif path.startswith(ASSET_PREFIX):
            response = self.asset(path.removeprefix(ASSET_PREFIX))
        elif path == PROXY_PREFIX or path.startswith(PROXY_PREFIX + "/"):
            response = self.proxy(request)
        else:
            response = Response("Not found", status=404)
        return response(environ, start_response)

    def asset(self, name: str) -> Response:
        path = EXTENSION / "assets" / name
        if "/" in name or not path.is_file():
            return Response("Not found", status=404)
        kind = "text/css" if name.endswith(".css") else "text/javascript"
        return Response(path.read_bytes(), content_type=f"{kind}; charset=utf-8")

    def product_form(self) -> str:
        """The theme's own variant picker and add-to-cart form, whose changes the block follows."""
        product = stand_in_product(available=self.product_available)
        labels = {
            variant["id"]: variant["title"] + ("" if variant["available"] else " (sold out)")
            for variant in product["variants"]
        }
        options = "".join(f'<option value="{value}">{label}</option>' for value, label in labels.items())
        return (
            '<form action="/cart/add" method="post" class="product-form">'
            f'<label for="variant">Size</label><select id="variant" name="id">{options}</select></form>'
        )

    def render(self, placement: Placement, index: int) -> str:
        name, settings = placement
        product = stand_in_product(available=self.product_available)
        return render_block(
            name, metafields=self.metafields(), settings=settings, block_id=f"b{index}", product=product
        )

    def page(self, blocks: list[Placement], *, title: str, content: str = "", status: int = 200) -> Response:
        placed = list(blocks) + list(self.embeds)
        rendered = [self.render(placement, index) for index, placement in enumerate(placed)]
        main = content + "".join(rendered[: len(blocks)])
        body_end = "".join(rendered[len(blocks) :])
        schemas = [schema_of(name) for name, _settings in placed]
        styles = dict.fromkeys(schema["stylesheet"] for schema in schemas if "stylesheet" in schema)
        scripts = dict.fromkeys(schema["javascript"] for schema in schemas if "javascript" in schema)
        head = "".join(f'<link rel="stylesheet" href="{ASSET_PREFIX}{name}">' for name in styles)
        tail = "".join(f'<script src="{ASSET_PREFIX}{name}" defer></script>' for name in scripts)
        document = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{html.escape(title)} - Alpha</title>{head}</head><body>"
            '<header><a href="/" class="site-name">Alpha</a> <a href="/products/linen-shirt">Linen shirt</a></header>'
            f'<main id="main"><h1>{html.escape(title)}</h1>{main}</main>{body_end}{tail}</body></html>'
        )
        return Response(document, status=status, content_type="text/html; charset=utf-8")

    # -- the app proxy ----------------------------------------------------------------------------

    def proxy(self, request: Request) -> Response:
        """Forward to the app with Shopify's signed query; a Liquid answer is rendered in the theme."""
        subpath = request.path.removeprefix(PROXY_PREFIX)
        original = parse_qsl(request.query_string.decode(), keep_blank_values=True)
        params = signed_proxy_params(shop_domain=self.shop, secret=self.secret, extra=dict(original))
        target = urlsplit(self.app_url)
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
        headers = {name: request.headers[name] for name in FORWARDED_HEADERS if name in request.headers}
        headers["X-Forwarded-For"] = request.remote_addr or "127.0.0.1"
        try:
            connection.request(
                request.method,
                f"/proxy{subpath}?{proxy_query_string(params)}",
                body=request.get_data(),
                headers=headers,
            )
            answer = connection.getresponse()
            body = answer.read()
            content_type = answer.getheader("Content-Type", "")
            status = answer.status
        finally:
            connection.close()
        if content_type.startswith("application/liquid"):
            content = Environment().from_string(body.decode()).render(shop=LIQUID_SHOP)
            return self.page([], title="SMS", content=content, status=status)
        return Response(body, status=status, content_type=content_type)
