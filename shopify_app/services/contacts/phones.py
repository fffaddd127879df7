"""Phone numbers: E.164 via `phonenumbers`, the shop's country as the default region."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from phonenumbers import timezone as phone_timezones

from ...errors import ValidationFailed
from ...security.masking import mask_phone

__all__ = ["Phone", "mask_phone", "normalise_phone", "phone_error"]

MAX_INPUT_LENGTH = 40


@dataclass(frozen=True)
class Phone:
    e164: str
    region: str | None  # ISO 3166 alpha-2, e.g. "US"
    timezone: str | None  # IANA, only when the number maps to exactly one zone


def phone_error(message: str, field: str = "phone") -> ValidationFailed:
    return ValidationFailed(details={"fields": {field: [message]}})


def normalise_phone(raw: object, *, default_region: str | None, field: str = "phone") -> Phone:
    """Parse `raw` into E.164; numbers without a country code use `default_region`.

    Anything `phonenumbers` cannot parse, or parses into an invalid number, is a 422 naming the
    field; no country is ever assumed beyond the shop's own.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise phone_error("A phone number is required.", field)
    if len(raw) > MAX_INPUT_LENGTH:
        raise phone_error("The phone number is too long.", field)
    try:
        parsed = phonenumbers.parse(raw.strip(), (default_region or "").upper() or None)
    except phonenumbers.NumberParseException:
        raise phone_error("Not a valid phone number; include the country code, e.g. +1 415 555 0142.", field) from None
    if not phonenumbers.is_valid_number(parsed):
        raise phone_error("Not a valid phone number.", field)
    zones = [zone for zone in phone_timezones.time_zones_for_number(parsed) if zone != "Etc/Unknown"]
    return Phone(
        e164=phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164),
        region=phonenumbers.region_code_for_number(parsed),
        timezone=zones[0] if len(zones) == 1 else None,
    )
