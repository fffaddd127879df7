"""Reading and changing a shop's settings, always through the one settings schema."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm.attributes import flag_modified

from ...config import current_config
from ...errors import ValidationFailed
from ...extensions import db
from ...models import Shop
from ...schemas.settings import ShopSettingsSchema, is_numeric_sender
from ..contacts.phones import normalise_phone
from ..sending.senders import owned_numbers

_schema = ShopSettingsSchema()


def load_settings(shop: Shop) -> dict[str, Any]:
    """The shop's settings with defaults filled in (quiet hours 21:00-08:00, no cap)."""
    return dict(_schema.load(dict(shop.settings or {})))


def update_settings(*, shop: Shop, changes: Mapping[str, Any]) -> dict[str, Any]:
    changes = dict(changes)
    if is_numeric_sender(changes.get("sender_id")):
        changes["sender_id"] = _own_number(shop, changes["sender_id"])
    stored = dict(shop.settings or {})
    stored.update(changes)
    shop.settings = _schema.dump(_schema.load(stored))
    flag_modified(shop, "settings")
    db.session.commit()
    return load_settings(shop)


def _own_number(shop: Shop, raw: str) -> str:
    """A numeric sender id must be one of the numbers the operator assigned to the shop."""
    numbers = owned_numbers(shop_id=shop.id)
    try:
        e164 = normalise_phone(raw, default_region=default_region(shop), field="sender_id").e164
    except ValidationFailed:
        e164 = raw
    if e164 not in numbers:
        message = "A numeric sender must be one of this shop's numbers: " + (
            ", ".join(numbers) if numbers else "it has none yet (ask support to assign one)."
        )
        raise ValidationFailed(details={"fields": {"sender_id": [message]}, "numbers": numbers})
    return e164


def default_region(shop: Shop) -> str | None:
    return load_settings(shop)["default_country"] or shop.country_code


# Destinations where no alphanumeric sender may be used: US and Canada (and the rest of the
# North American numbering plan) need the shop's own 10DLC, toll-free or short-code number,
# registered to the business behind it.
NUMBERS_ONLY_PREFIX = "+1"


@dataclass(frozen=True, slots=True)
class SenderRule:
    """What a shop's texts go from, decided once (one query) for a whole batch."""

    own_number: str | None  # for +1 destinations: only ever one of the shop's own +1 numbers
    elsewhere: str  # the chosen sender (alphanumeric, or an owned number), else the default

    def for_destination(self, destination: str) -> str | None:
        """None: the shop has no sender that may text this destination (not sent)."""
        return self.own_number if destination.startswith(NUMBERS_ONLY_PREFIX) else self.elsewhere


def sender_rule(shop: Shop) -> SenderRule:
    """The one place that decides a text's sender. Never a number the shop does not hold now:
    a chosen number released since is passed over for the shop's other numbers."""
    chosen = load_settings(shop)["sender_id"]
    numbers = owned_numbers(shop_id=shop.id)
    north_american = [number for number in numbers if number.startswith(NUMBERS_ONLY_PREFIX)]
    own_number = chosen if chosen in north_american else next(iter(north_american), None)
    # No choice (or a number no longer held): the shop's own number, which shoppers can answer.
    elsewhere = chosen if chosen and (chosen in numbers or not is_numeric_sender(chosen)) else next(iter(numbers), None)
    return SenderRule(own_number, str(elsewhere or current_config()["SMS_DEFAULT_SENDER"]))


def sender_for(shop: Shop, *, destination: str) -> str | None:
    """The sender of one text to `destination` (E.164); None when none may be used there."""
    return sender_rule(shop).for_destination(destination)
