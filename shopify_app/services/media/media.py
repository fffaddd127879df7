"""A shop's images: stored once checked and re-encoded (images.py), read back by id within
the shop, and served to anyone holding the token (the provider fetching an MMS image).

The public URL is `SHOPIFY_APP_URL/media/<token>.<ext>`: HTTPS in production (config.py
requires an https app URL there), no credentials, the random token the only key. A token
is 32 URL-safe characters (192 bits): not guessable, not derived from the shop or the id.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import IO

import structlog
from sqlalchemy import select

from ...config import current_config
from ...errors import NotFound, PayloadTooLarge
from ...extensions import db
from ...models import Media, Shop
from . import images

log = structlog.get_logger(__name__)

TOKEN_BYTES = 24


def store(*, shop: Shop, stream: IO[bytes]) -> tuple[Media, images.PreparedImage]:
    """Read at most `UPLOAD_MAX_BYTES` of `stream`, check and re-encode it, and store it."""
    raw = stream.read(images.UPLOAD_MAX_BYTES + 1)
    if len(raw) > images.UPLOAD_MAX_BYTES:
        raise PayloadTooLarge(
            f"Images may be at most {images.UPLOAD_MAX_BYTES // (1024 * 1024)} MB before resizing.",
            code="image_upload_too_large",
        )
    prepared = images.prepare(raw)
    media = Media(
        shop_id=shop.id,
        token=secrets.token_urlsafe(TOKEN_BYTES),
        content_type=prepared.content_type,
        data=prepared.data,
        width=prepared.width,
        height=prepared.height,
        size=len(prepared.data),
        sha256=hashlib.sha256(prepared.data).hexdigest(),
    )
    db.session.add(media)
    db.session.commit()
    log.info("media_stored", shop_id=shop.id, media_id=media.id, size=media.size, uploaded=len(raw))
    return media, prepared


def get_media(*, shop: Shop, media_id: int) -> Media:
    """The shop's image `media_id`; another shop's or none is a 404."""
    media = referenced_media(shop_id=shop.id, media_id=media_id)
    if media is None:
        raise NotFound("No such image.", code="media_not_found")
    return media


def referenced_media(*, shop_id: int, media_id: int) -> Media | None:
    return db.session.scalar(select(Media).where(Media.id == media_id, Media.shop_id == shop_id))


def public_media(*, token: str, extension: str) -> Media:
    """The image behind a public URL; an unknown token or a wrong extension is a 404 (the same
    answer, so the route tells nothing about which tokens exist)."""
    media = db.session.scalar(select(Media).where(Media.token == token)) if len(token) <= 64 else None
    if media is None or images.EXTENSIONS.get(extension) != media.content_type:
        raise NotFound("No such image.", code="media_not_found")
    return media


def media_url(media: Media) -> str:
    extension = next(ext for ext, kind in images.EXTENSIONS.items() if kind == media.content_type)
    return f"{str(current_config()['SHOPIFY_APP_URL']).rstrip('/')}/media/{media.token}.{extension}"
