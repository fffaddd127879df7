"""The shop's own catalogue on a product a shopper viewed: its real title and storefront URL.

The web pixel is unsigned, so the title and path it reports are whatever the poster wrote.
A text goes out from the merchant's number, so it never carries them: before a browse flow
starts, the sweep (browse_sweep.py) asks the Admin API for the product by id, once per product
per pass, and uses the catalogue's title and URL. A product that does not exist, is not
ACTIVE, or is not on the online store starts nothing. A throttled or failing Admin API raises
`CatalogueUnavailable`: the caller leaves the views for its next pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ...clients.shopify import ShopifyError
from ...models import Shop
from ..shops.tokens import ShopNeedsReauth, admin_query

PRODUCT_QUERY = """
query BrowsedProduct($id: ID!) {
  product(id: $id) { title handle status onlineStoreUrl publishedAt }
}
"""


class CatalogueUnavailable(Exception):
    """The Admin API did not answer (throttled, down, token refused): try again next pass."""


@dataclass(frozen=True)
class Product:
    title: str
    url: str


class Catalogue:
    """One shop's products for one sweep pass, each looked up at most once."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop
        self._known: dict[int, Product | None] = {}

    def product(self, product_id: int) -> Product | None:
        """The product as the shop sells it, or None when it cannot be offered."""
        if product_id not in self._known:
            self._known[product_id] = self._look_up(product_id)
        return self._known[product_id]

    def _look_up(self, product_id: int) -> Product | None:
        try:
            data = admin_query(self.shop, PRODUCT_QUERY, {"id": f"gid://shopify/Product/{product_id}"})
        except (ShopifyError, ShopNeedsReauth) as exc:
            raise CatalogueUnavailable(type(exc).__name__) from exc
        return offered_product(self.shop, data.get("product"))


def offered_product(shop: Shop, node: Any) -> Product | None:
    """A product node as a Product when it is ACTIVE and on the online store, else None. The
    URL: the product's online store URL, else the shop's domain and the product's handle."""
    if not isinstance(node, dict) or node.get("status") != "ACTIVE":
        return None
    title, handle, store_url = node.get("title"), node.get("handle"), node.get("onlineStoreUrl")
    if not isinstance(title, str) or not title.strip() or not isinstance(handle, str) or not handle:
        return None
    if not store_url and not node.get("publishedAt"):
        return None  # not published to the online store: there is no page to send anyone to
    url = store_url if isinstance(store_url, str) and store_url else f"https://{shop.domain}/products/{quote(handle)}"
    return Product(title=title.strip(), url=url)
