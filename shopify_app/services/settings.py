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
    shop.inbound_number = _as_number(shop, shop.settings.get("sender_id"))
    db.session.commit()
    return load_settings(shop)


def default_region(shop: Shop) -> str | None:
    return load_settings(shop)["default_country"] or shop.country_code


def sender_for(shop: Shop) -> str:
    return str(load_settings(shop)["sender_id"] or current_config()["SMS_DEFAULT_SENDER"])


def _as_number(shop: Shop, sender_id: str | None) -> str | None:
    """The sender id as E.164 when it is a phone number (alphanumeric senders cannot be replied to)."""
    if not sender_id or not any(char.isdigit() for char in sender_id) or any(c.isalpha() for c in sender_id):
        return None
    from .phones import normalise_phone

    try:
        return normalise_phone(
            sender_id, default_region=load_settings(shop)["default_country"] or shop.country_code
        ).e164
    except Exception:  # a short code or an unparsable number: not routable by number
        return sender_id.lstrip("+")
