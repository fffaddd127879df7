"""/api/media: the images MMS campaigns carry (checked, stripped and resized on upload)."""

from __future__ import annotations

from flask import Response, g, jsonify, request

from ...schemas.media import MediaSchema, MediaUploadSchema
from ...services.media import images
from ...services.media import media as media_service
from .blueprint import bp
from .common import audit_target

UPLOAD_REQUEST_MAX_BYTES = images.UPLOAD_MAX_BYTES + 64 * 1024  # the file and its multipart framing
media_schema = MediaSchema()


@bp.post("/media")
def upload_media() -> tuple[Response, int]:
    # Refused from Content-Length before anything is read (413), and while streaming without one.
    request.max_content_length = UPLOAD_REQUEST_MAX_BYTES
    upload = MediaUploadSchema().load(request.files.to_dict())["file"]
    media, prepared = media_service.store(shop=g.shop, stream=upload.stream)
    audit_target("media", media.id)
    # What re-encoding changed: an animation too large for MMS keeps only its first frame.
    answer = {**media_schema.dump(media), "animated": prepared.animated, "frames_dropped": prepared.frames_dropped}
    return jsonify(answer), 201


@bp.get("/media/<int:media_id>")
def get_media(media_id: int) -> Response:
    return jsonify(media_schema.dump(media_service.get_media(shop=g.shop, media_id=media_id)))
