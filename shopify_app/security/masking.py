"""Masking PII for display and logs."""

from __future__ import annotations

import re

import phonenumbers

_E164 = re.compile(r"\+[1-9]\d{5,14}")


def mask_phone(e164: str) -> str:
    """`+14155550142` -> `+1******0142`: country calling code and last 4 digits, for logs."""
    if not isinstance(e164, str) or not _E164.fullmatch(e164):
        return "***"
    try:
        country = str(phonenumbers.parse(e164, None).country_code)
    except phonenumbers.NumberParseException:
        return "***"
    digits = e164[1:]
    hidden = len(digits) - len(country) - 4
    if not digits.startswith(country) or hidden < 1:
        return "***"
    return f"+{country}{'*' * hidden}{digits[-4:]}"
