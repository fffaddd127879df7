"""`GET /media/<token>.<ext>`: an MMS campaign's image, public so the provider (and a shopper's
phone following the SMS fallback's link) fetches it without credentials; the token is the key.

Answers the stored bytes with the Content-Type of the format they were decoded as (never the
upload's), `nosniff`, and a year of immutable caching (a token's bytes never change). An
unknown token, or a known one with the wrong extension, is the same 404.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from ..services.media import media as media_service

bp = Blueprint("media", __name__)


@bp.get("/media/<string:token>.<string:extension>")
def image(token: str, extension: str) -> Response:
    found = media_service.public_media(token=token, extension=extension.lower())
    etag = f'"{found.sha256}"'
    headers = {
        "Cache-Control": "public, max-age=31536000, immutable",
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",  # opened directly, it runs nothing
        "Cross-Origin-Resource-Policy": "cross-origin",
        "Referrer-Policy": "no-referrer",
    }
    if request.if_none_match.contains(found.sha256):
        return Response(status=304, headers=headers)
    return Response(found.data, status=200, mimetype=found.content_type, headers=headers)
