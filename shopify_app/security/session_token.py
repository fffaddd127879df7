"""Shopify session tokens (App Bridge `id_token` / `Authorization: Bearer`).

The JWT checks are ShopifyAPI's own (`shopify.session_token`): HS256 only, `aud` = API key,
`exp`/`nbf` with 10 s leeway, required `iss`/`dest`/`sub`/`jti`/`sid`, and `iss` and `dest` on
the same host. On top: the previous secret during a rotation, and `dest` must be a valid
`*.myshopify.com` domain, which becomes the request's shop. Any failure is a 401 that tells
App Bridge to fetch a new token and retry.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt
import structlog
from shopify import session_token as shopify_session_token

from ..errors import BadRequest, Unauthorized
from .shop_domain import normalise_shop_domain

log = structlog.get_logger(__name__)

RETRY_HEADER = {"X-Shopify-Retry-Invalid-Session-Request": "1"}
_B64TOKEN = re.compile(r"[A-Za-z0-9._~+/-]+=*")  # RFC 6750 section 2.1 (ASCII only)


@dataclass(frozen=True)
class SessionToken:
    shop_domain: str
    user_id: str  # `sub`: the staff member, the actor in audit records
    session_id: str
    claims: dict[str, Any]
    raw: str


def invalid_session(message: str = "The session token is invalid or expired.") -> Unauthorized:
    return Unauthorized(message, code="invalid_session_token", headers=dict(RETRY_HEADER))


def verify_session_token(token: str, *, api_key: str, secrets: Sequence[str]) -> SessionToken:
    """Verify with the current secret, then the previous one; raise a 401 `Unauthorized`."""
    claims: dict[str, Any] | None = None
    for secret in secrets:
        try:
            claims = shopify_session_token.decode_from_header(f"Bearer {token}", api_key, secret)
            break
        except shopify_session_token.SessionTokenError as exc:
            if isinstance(exc.__cause__, jwt.InvalidSignatureError):
                continue  # maybe signed with the other secret of a rotation
            log.info("session_token_rejected", reason=type(exc.__cause__ or exc).__name__)
            raise invalid_session() from None
    if claims is None:
        log.info("session_token_rejected", reason="InvalidSignatureError")
        raise invalid_session()
    if "exp" not in claims or "nbf" not in claims:
        # PyJWT only checks these when present; a token without them would never expire.
        log.info("session_token_rejected", reason="MissingExpiry")
        raise invalid_session()
    try:
        shop_domain = normalise_shop_domain(urlsplit(str(claims["dest"])).hostname)
    except BadRequest:
        raise invalid_session() from None
    return SessionToken(
        shop_domain=shop_domain,
        user_id=str(claims["sub"]),
        session_id=str(claims["sid"]),
        claims=claims,
        raw=token,
    )


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <jwt>` header, or a 401.

    Exactly one RFC 6750 b64token after the scheme: a second word, a stray character or a
    non-ASCII one is refused here rather than handed on to the JWT parser.
    """
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip(" ")
    if scheme.lower() != "bearer" or not _B64TOKEN.fullmatch(token):
        raise invalid_session("A session token (Authorization: Bearer) is required.")
    return token
