"""`normalise_phone` finds a number's region and type once instead of three times; these tests
hold it to exactly what the public `phonenumbers` calls answer, on many numbers of many kinds."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from phonenumbers import timezone as phone_timezones

from shopify_app.errors import ValidationFailed
from shopify_app.services.contacts.phones import Phone, normalise_phone

REGIONS = [None, "US", "CA", "GB", "DE", "FR", "IT", "GR", "AU", "IN", "BR", "JP", "SG", "ZA", "AG", "IM"]


def public_answer(raw: str, region: str | None) -> Phone | None:
    """What normalise_phone answered when it called the public API in turn (the spec)."""
    try:
        parsed = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    zones = [zone for zone in phone_timezones.time_zones_for_number(parsed) if zone != "Etc/Unknown"]
    return Phone(
        e164=phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164),
        region=phonenumbers.region_code_for_number(parsed),
        timezone=zones[0] if len(zones) == 1 else None,
    )


def ours(raw: str, region: str | None) -> Phone | None:
    try:
        return normalise_phone(raw, default_region=region)
    except ValidationFailed:
        return None


def inputs(seed: int, count: int) -> list[str]:
    """Example numbers of every type of every region, each with random digits changed, cut
    or added, in E.164 and national spellings, plus random digit strings."""
    rng = random.Random(seed)
    found: list[str] = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE,
            phonenumbers.PhoneNumberType.TOLL_FREE,
            phonenumbers.PhoneNumberType.VOIP,
        ):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                found.append(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
                found.append(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL))
    for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
        example = phonenumbers.example_number_for_non_geo_entity(code)
        if example is not None:
            found.append(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
    mutated = []
    while len(mutated) < count:
        digits = list(rng.choice(found))
        position = rng.randrange(len(digits))
        match rng.randrange(4):
            case 0 if digits[position].isdigit():
                digits[position] = rng.choice("0123456789")
            case 1:
                digits = digits[: rng.randrange(2, len(digits) + 1)]
            case 2:
                digits.insert(position, rng.choice("0123456789"))
            case _:
                digits = list("+" * rng.randrange(2) + "".join(rng.choices("0123456789", k=rng.randrange(3, 16))))
        mutated.append("".join(digits))
    return found + mutated


@pytest.mark.parametrize("seed", [1, 2])
def test_normalise_phone_answers_as_the_public_phonenumbers_calls(seed):
    rng = random.Random(seed)
    for raw in inputs(seed, 4000):
        region = rng.choice(REGIONS)
        assert ours(raw, region) == public_answer(raw, region), (raw, region)


@pytest.mark.parametrize(
    "raw",
    [
        "+12175550143",
        "+14155550142",
        "2175550143",
        "(217) 555-0143",
        "+1 800 555 0100",
        "+16135550143",
        "+12684601234",
        "+447911123456",
        "07911 123456",
        "+4930123456",
        "+800 1234 5678",
        "+8821234567",
        "+999",
        "+1",
        "++1415",
        "0",
        "1-800-FLOWERS",
        "+39 06 1234 5678",
        "+3906123456",
        "+61 4 1234 5678",
    ],
)
def test_edge_numbers_answer_as_the_public_calls(raw):
    for region in REGIONS:
        assert ours(raw, region) == public_answer(raw, region), (raw, region)
