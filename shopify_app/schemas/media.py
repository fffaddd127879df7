"""Image uploads for MMS campaigns (POST /api/media) and the image as the API shows it."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields

from ..models import Media
from ..services.media.media import media_url
from .base import Schema


class _Upload(fields.Field):
    """A multipart file part (werkzeug's FileStorage): its bytes are judged by services/media."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not hasattr(value, "stream"):
            raise ValidationError("Upload the image as multipart form field 'file'.")
        return value


class MediaUploadSchema(Schema):
    file = _Upload(required=True)


class MediaSchema(Schema):
    id = fields.Integer()
    url = fields.Method("_url")  # public, HTTPS: what the provider fetches
    content_type = fields.String()  # from the decoded image, never the upload's header
    width = fields.Integer()
    height = fields.Integer()
    size = fields.Integer()  # bytes, after re-encoding (at most 1 MB)
    sha256 = fields.String()
    created_at = fields.DateTime()

    def _url(self, media: Media) -> str:
        return media_url(media)


class MediaUploadedSchema(MediaSchema):
    """The answer to an upload: the image, and what re-encoding changed (documentation only:
    the view adds the two flags to a `MediaSchema` dump)."""

    animated = fields.Boolean()
    frames_dropped = fields.Boolean()  # an animation too large for MMS kept its first frame
