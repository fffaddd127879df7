"""Reading and changing a shop's settings, always through the one settings schema."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm.attributes import flag_modified

from ..config import current_config
from ..extensions import db
from ..models import Shop
from ..schemas.settings import ShopSettingsSchema

_schema = ShopSettingsSchema()


def load_settings(shop: Shop) -> dict[str, Any]:
    """The shop's settings with defaults filled in (quiet hours 21:00-08:00, no cap)."""
    return dict(_schema.load(dict(shop.settings or {})))


def update_settings(*, shop: Shop, changes: Mapping[str, Any]) -> dict[str, Any]:
    stored = dict(shop.settings or {})
    stored.update(changes)
    shop.settings = _schema.dump(_schema.load(stored))
    flag_modified(shop, "settings")
    db.session.commit()
    return load_settings(shop)


def default_region(shop: Shop) -> str | None:
    return load_settings(shop)["default_country"] or shop.country_code


def sender_for(shop: Shop) -> str:
    return str(load_settings(shop)["sender_id"] or current_config()["SMS_DEFAULT_SENDER"])
