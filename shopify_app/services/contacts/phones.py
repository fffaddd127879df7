"""Phone numbers: E.164 via `phonenumbers`, the shop's country as the default region.

`normalise_phone` asks `phonenumbers` exactly what `is_valid_number`, `region_code_for_number`
and `time_zones_for_number` would, but finds the number's region and type once: those three
public calls each find the region again (a pattern match per region for +1, which 25 regions
share) and two of them the type, which was three quarters of a contact import's parsing
(43 -> 20 µs per number; tests/test_phones.py compares it with the public calls).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberType
from phonenumbers import timezone as phone_timezones
from phonenumbers.phonenumberutil import _number_type_helper

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
    number_type = _valid_number_type(parsed)
    if number_type is None:
        raise phone_error("Not a valid phone number.", field)
    return Phone(
        e164=phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164),
        region=number_type[0],
        timezone=_single_time_zone(parsed, number_type[1]),
    )


def _valid_number_type(parsed: phonenumbers.PhoneNumber) -> tuple[str, int] | None:
    """(region, type) of a valid number, None for an invalid one: `is_valid_number`'s own steps
    (region_code_for_number, then is_valid_number_for_region), keeping the type they find."""
    region, number_type = _region_of(parsed)
    if region is None:
        return None
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(parsed.country_code, region.upper())
    if metadata is None or (
        region != phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY
        and parsed.country_code != phonenumbers.country_code_for_valid_region(region)
    ):
        return None
    if number_type is None:
        number_type = _number_type_helper(phonenumbers.national_significant_number(parsed), metadata)
    return None if number_type == PhoneNumberType.UNKNOWN else (region, number_type)


def _region_of(parsed: phonenumbers.PhoneNumber) -> tuple[str | None, int | None]:
    """`region_code_for_number`, with the number's type in that region when finding the region
    took it (a calling code shared by regions without leading digits: +1's main region, US)."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(parsed.country_code)
    if regions is None:
        return None, None
    if len(regions) == 1:
        return regions[0], None
    national_number = phonenumbers.national_significant_number(parsed)
    for region in regions:
        metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
        if metadata is None:
            continue
        if metadata.leading_digits is not None:
            if re.compile(metadata.leading_digits).match(national_number):
                return region, None
            continue
        number_type = _number_type_helper(national_number, metadata)
        if number_type != PhoneNumberType.UNKNOWN:
            return region, number_type
    return None, None


def _single_time_zone(parsed: phonenumbers.PhoneNumber, number_type: int) -> str | None:
    """`time_zones_for_number`'s answer for a valid number of `number_type` (which it would
    find again), when it names exactly one zone."""
    if phonenumbers.is_number_type_geographical(number_type, parsed.country_code):
        zones = phone_timezones.time_zones_for_geographical_number(parsed)
    else:
        zones = phone_timezones._country_level_time_zones_for_number(parsed)
    known = [zone for zone in zones if zone != "Etc/Unknown"]
    return known[0] if len(known) == 1 else None
