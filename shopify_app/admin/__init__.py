"""The merchant's screens inside the Shopify admin: Jinja page shells plus ES modules.

A shell carries no merchant data: it is the page's frame (App Bridge, Polaris, navigation,
skeletons of fixed height) and one ES module that asks `/api` for everything it shows, through
App Bridge's `fetch`, which adds the session token. Only the first load (`/`) reads an
`id_token`, to run the token exchange; see docs/admin.md.
"""

from __future__ import annotations

from .screens import SCREENS, Screen
from .views import bp

__all__ = ["SCREENS", "Screen", "bp"]
