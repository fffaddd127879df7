"""The browse token a short link adds to the storefront URL it redirects to.

Since December 2025 a web pixel sees no email, phone or name without protected-customer-data
approval, so a shopper who is not logged in is known to the pixel only by what the URL carried
in: when a contact follows a link from one of our texts to the shop's own storefront, the
redirect adds `sb_t=<token>`, an itsdangerous-signed value naming the contact and shop by id
(security/link_tokens.py, purpose "browse", 30 days), never a phone. The pixel keeps it in the
browser's localStorage and reports it with each product view. Links to other hosts (a carrier's
tracking page, a host the merchant listed) and links not addressed to a contact (a test send)
are left exactly as they were.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ...models import Shop
from ...security.link_tokens import make_link_token

TOKEN_PARAM = "sb_t"  # noqa: S105 (a query parameter name)


def storefront_hosts(shop: Shop) -> set[str]:
    """The hosts that serve this shop's storefront, where the pixel runs: its myshopify domain
    (the primary domain is not stored yet; see docs/browse-abandonment.md)."""
    return {shop.domain.lower()}


def with_browse_token(url: str, *, shop: Shop, contact_id: int | None) -> str:
    """`url` with the contact's browse token, when it points to the shop's storefront; else `url`."""
    if contact_id is None:
        return url
    parts = urlsplit(url)
    if parts.scheme != "https" or (parts.hostname or "").lower() not in storefront_hosts(shop):
        return url
    token = make_link_token("browse", contact_id=contact_id, shop_id=shop.id)
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key != TOKEN_PARAM]
    query.append((TOKEN_PARAM, token))
    return urlunsplit(parts._replace(query=urlencode(query)))
