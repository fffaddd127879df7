"""Signed tokens for the links we text to shoppers (confirm, unsubscribe, preferences).

A token names a contact and its shop by id, never a phone number, and is signed with the
app's SECRET_KEY, one salt per purpose so a confirmation token cannot unsubscribe. Unsubscribe
and preference links never expire (an old message must still let a shopper opt out);
confirmation links do, and so do browse tokens (the token our short links add to a storefront
URL for the web pixel, which keeps it in the shopper's browser: services/pixel/).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer

from ..errors import Unauthorized

Purpose = Literal["confirm", "unsubscribe", "preferences", "browse"]
CONFIRM_MAX_AGE = 7 * 24 * 3600
BROWSE_MAX_AGE = 30 * 24 * 3600
_MAX_AGES: dict[str, int] = {"confirm": CONFIRM_MAX_AGE, "browse": BROWSE_MAX_AGE}


@dataclass(frozen=True)
class LinkClaims:
    contact_id: int
    shop_id: int


def _serializer(purpose: Purpose) -> URLSafeSerializer:
    salt = f"sms-blossom-link:{purpose}"
    if purpose in _MAX_AGES:
        return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt)


def make_link_token(purpose: Purpose, *, contact_id: int, shop_id: int) -> str:
    return str(_serializer(purpose).dumps({"c": contact_id, "s": shop_id}))


def read_link_token(purpose: Purpose, token: str | None) -> LinkClaims:
    if not token:
        raise Unauthorized("The link is missing its token.", code="invalid_link")
    serializer = _serializer(purpose)
    try:
        if isinstance(serializer, URLSafeTimedSerializer):
            data = serializer.loads(token, max_age=_MAX_AGES[purpose])
        else:
            data = serializer.loads(token)
        return LinkClaims(contact_id=int(data["c"]), shop_id=int(data["s"]))
    except (BadSignature, KeyError, TypeError, ValueError):
        raise Unauthorized("The link is invalid or has expired.", code="invalid_link") from None


def link_url(purpose: Purpose, token: str, *, shop_domain: str | None = None) -> str:
    """The storefront URL (through the app proxy) a token is used at; absolute with a shop domain
    (for texts), else the path (for pages Shopify renders inside the storefront)."""
    path = f"{current_app.config['APP_PROXY_PATH']}/{purpose}?t={token}"
    return f"https://{shop_domain}{path}" if shop_domain else path
