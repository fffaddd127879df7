"""Images a merchant attached to an MMS campaign, stored where the provider can fetch them.

The bytes live in the database (one image is at most 1 MB after services/media/images.py has
re-encoded it), so every web process can serve them at `GET /media/<token>.<ext>` without a
shared disk or an object store. The token is the capability: random, unguessable, unique;
the provider fetches without credentials.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigIntFK, BigIntPK, UTCDateTime, utcnow


class Media(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "media"
    __table_args__ = (Index("ix_media_shop_id_id", "shop_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(32))  # from the decoded format, never the upload's
    # Deferred: listing or pricing a campaign's image never loads its megabyte.
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
